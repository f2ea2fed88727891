package web

import (
	"context"
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
	// OrgName is the organization's name, shown on its own page.
	OrgName string
	// SignedOut says the browser has just signed out (?signed_out=1).
	SignedOut  bool
	Email      string
	Error      string
	ErrorField string
	Action     string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	data := loginPage{Action: "/login"}
	s.rememberReturn(w, r)
	r = s.rememberUILocales(w, r)
	data.SignedOut = r.URL.Query().Get("signed_out") == "1"
	if slug := r.PathValue("slug"); slug != "" {
		org, err := s.orgOfPage(r.Context(), slug)
		if err != nil {
			return err
		}
		if org == nil {
			// A mistyped or old address: the organization is asked for,
			// with the reason.
			data.Organization, data.ErrorField = slug, "organization"
			data.Error = s.t(r, "error."+gatehouse.ReasonNoSuchOrganization)
			s.renderPage(w, r, http.StatusNotFound, "login", data)
			return nil
		}
		// A SAML2 organization's users sign in at its identity provider.
		if org.Settings.AuthMethod == gatehouse.AuthSAML2 {
			http.Redirect(w, r, "/saml/"+org.Slug+"/login", http.StatusSeeOther)
			return nil
		}
		data.Organization, data.OrgName, data.FixedOrganization, data.Action = slug, org.Name, true, "/o/"+slug+"/login"
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
		data.Organization, data.OrgName, data.FixedOrganization, data.Action = slug, slug, true, "/o/"+slug+"/login"
		if org, err := s.orgOfPage(r.Context(), slug); err != nil {
			return err
		} else if org != nil {
			data.OrgName = org.Name
		}
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

// orgOfPage is the organization of /o/{slug}/login; nil when there is
// none (or no lookup is wired).
func (s *Server) orgOfPage(ctx context.Context, slug string) (*gatehouse.Organization, error) {
	if s.cfg.Orgs == nil {
		return &gatehouse.Organization{Slug: slug, Name: slug}, nil
	}
	org, err := s.cfg.Orgs.OrganizationBySlug(ctx, slug)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	}
	return org, err
}

// logoutSubmit signs the browser out and shows its organization's sign-in
// page, saying so: a nurse at a shared front desk sees that it worked, and
// the next person finds the clinic already filled in.
func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) error {
	token := s.sessionToken(r)
	to := "/login?signed_out=1"
	if cur, err := s.auth.Authenticate(r.Context(), token); err == nil {
		to = "/o/" + cur.Organization.Slug + "/login?signed_out=1"
	}
	if err := s.auth.Logout(r.Context(), token, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
