package web

import (
	"errors"
	"net/http"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type loginPage struct {
	Organization string
	// FixedOrganization is set on /o/{slug}/login, where the slug is part
	// of the address and not asked for.
	FixedOrganization bool
	Email             string
	Error             string
	ErrorField        string
	Action            string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	data := loginPage{Action: "/login"}
	s.rememberReturn(w, r)
	r = s.rememberUILocales(w, r)
	if slug := r.PathValue("slug"); slug != "" {
		// A SAML2 organization's users sign in at its identity provider.
		if s.cfg.Orgs != nil {
			if org, err := s.cfg.Orgs.OrganizationBySlug(r.Context(), slug); err == nil && org.Settings.AuthMethod == gatehouse.AuthSAML2 {
				http.Redirect(w, r, "/saml/"+org.Slug+"/login", http.StatusSeeOther)
				return nil
			}
		}
		data.Organization, data.FixedOrganization, data.Action = slug, true, "/o/"+slug+"/login"
	} else {
		data.Organization = r.URL.Query().Get("organization")
	}
	// An application's login_hint arrives as ?email= (internal/oidc).
	if email := r.URL.Query().Get("email"); len(email) <= 254 {
		data.Email = email
	}
	s.renderPage(w, r, http.StatusOK, "login", data)
	return nil
}

// loginSubmit is the HTML form's sign-in; it goes through the same
// signin.Service.Login as the JSON API.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	data := loginPage{Action: "/login", Organization: r.PostForm.Get("organization"), Email: r.PostForm.Get("email")}
	if slug := r.PathValue("slug"); slug != "" {
		data.Organization, data.FixedOrganization, data.Action = slug, true, "/o/"+slug+"/login"
	}
	res, err := s.login.Login(r.Context(), s.loginRequest(r, data.Organization, data.Email, r.PostForm.Get("password")))
	s.setLoginCookies(w, r, res)
	if res != nil && res.Pending != nil {
		if err := res.Pending.Undelivered(); err != nil {
			// The code could not be sent; the code page offers a resend.
			return s.renderCodePage(w, r, http.StatusBadGateway, res.Pending, res.Organization, err)
		}
		if res.Pending.Status == signin.StatusPhoneRequired {
			http.Redirect(w, r, "/login/phone", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		}
		return nil
	}
	if err != nil {
		var ge *gatehouse.Error
		if !errors.As(err, &ge) {
			return err
		}
		if ge.Code == gatehouse.ESSOREQUIRED && ge.Location != "" {
			http.Redirect(w, r, ge.Location, http.StatusSeeOther)
			return nil
		}
		if ge.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
		}
		data.Error, data.ErrorField = s.errorText(r, ge), ge.Field
		s.renderPage(w, r, statusFor(ge.Code), "login", data)
		return nil
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.Logout(r.Context(), s.sessionToken(r), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
