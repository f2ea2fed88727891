package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// settingsReauth runs the re-authentication that the settings form carries
// when the admin's sign-in is older than signin.ReauthWindow: the code of a
// started code step, or the password. It reports done when the save may go
// on (the service still decides); otherwise it has rendered the page (the
// code step, or the error beside the field).
func (s *Server) settingsReauth(w http.ResponseWriter, r *http.Request, cur *signin.Current, d *settingsPage) (done bool, err error) {
	if s.reauth.RecentlyAuthenticated(cur) {
		return true, nil
	}
	f, ip := r.PostForm, s.cfg.ClientIP.ClientIP(r)
	render := func(status int, field string, e error) (bool, error) {
		if e != nil {
			msg, _, st, internal := s.formError(w, r, e)
			if internal != nil {
				return false, internal
			}
			d.Errors[field], status = msg, st
		}
		s.renderPage(w, r, status, "settings_password", d)
		return false, nil
	}
	if id := f.Get("reauth_challenge"); id != "" {
		d.NeedCode, d.ReauthChallenge, d.CodeDestination = true, id, f.Get("code_destination")
		if f.Get("resend") == "1" {
			re, err := s.reauth.ResendReauth(r.Context(), cur, id, ip)
			if err != nil {
				return render(0, "code", err)
			}
			d.CodeDestination = re.Pending.Destination
			return render(http.StatusOK, "", nil)
		}
		if _, err := s.reauth.VerifyReauth(r.Context(), cur, id, f.Get("code"), ip); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ELOGINEXPIRED {
				// Over: start again from the password.
				d.NeedCode, d.ReauthChallenge, d.NeedPassword = false, "", true
				return render(0, "password", err)
			}
			return render(0, "code", err)
		}
		return true, nil
	}
	if f.Get("password") == "" {
		// Let the service say what else is wrong or needed first; it
		// answers EREAUTHREQUIRED when only this is missing.
		return true, nil
	}
	re, err := s.reauth.StartReauth(r.Context(), cur, f.Get("password"), ip)
	if err == nil {
		err = re.Pending.Undelivered()
	}
	if re != nil && !re.Done {
		d.NeedCode, d.ReauthChallenge, d.CodeDestination = true, re.ChallengeID, re.Pending.Destination
		if err != nil {
			return render(0, "code", err)
		}
		return render(http.StatusOK, "", nil)
	}
	if err != nil {
		d.NeedPassword = true
		return render(0, "password", err)
	}
	return true, nil
}

// reauthPage is the page that confirms it is the admin before a change that
// answered EREAUTHREQUIRED, then goes back to Next.
type reauthPage struct {
	Next            string
	NeedCode        bool
	ReauthChallenge string
	CodeDestination string
	Errors          map[string]string
}

// reauthNext is where the re-authentication page may go back to: a path of
// the settings pages only, never another site.
func reauthNext(v string) string {
	if !strings.HasPrefix(v, "/settings/") || strings.ContainsAny(v, "\\\r\n") || strings.HasPrefix(v, "//") || strings.Contains(v, "/../") || len(v) > 200 {
		return "/settings/users"
	}
	return v
}

// toReauth sends the admin to the re-authentication page when err asks
// for it, coming back to next; it reports whether it did. The form's
// input is not kept: the admin makes the change again.
func (s *Server) toReauth(w http.ResponseWriter, r *http.Request, err error, next string) bool {
	if gatehouse.ErrorCode(err) != gatehouse.EREAUTHREQUIRED {
		return false
	}
	http.Redirect(w, r, "/settings/reauth?next="+url.QueryEscape(reauthNext(next)), http.StatusSeeOther)
	return true
}

func (s *Server) reauthPageGet(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	s.renderPage(w, r, http.StatusOK, "settings_reauth", reauthPage{Next: reauthNext(r.URL.Query().Get("next")), Errors: map[string]string{}})
	return nil
}

// reauthSubmit takes the password, then the code where one is asked for,
// and goes back to the page the change was made on.
func (s *Server) reauthSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	f, ip := r.PostForm, s.cfg.ClientIP.ClientIP(r)
	d := reauthPage{Next: reauthNext(f.Get("next")), Errors: map[string]string{}}
	render := func(field string, e error) error {
		status := http.StatusOK
		if e != nil {
			msg, _, st, internal := s.formError(w, r, e)
			if internal != nil {
				return internal
			}
			d.Errors[field], status = msg, st
		}
		s.renderPage(w, r, status, "settings_reauth", d)
		return nil
	}
	var re *signin.Reauth
	var err error
	if id := f.Get("reauth_challenge"); id != "" {
		d.NeedCode, d.ReauthChallenge, d.CodeDestination = true, id, f.Get("code_destination")
		if f.Get("resend") == "1" {
			if re, err = s.reauth.ResendReauth(r.Context(), cur, id, ip); err != nil {
				return render("code", err)
			}
			d.CodeDestination = re.Pending.Destination
			return render("", nil)
		}
		if _, err = s.reauth.VerifyReauth(r.Context(), cur, id, f.Get("code"), ip); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ELOGINEXPIRED {
				d.NeedCode, d.ReauthChallenge = false, ""
				return render("password", err)
			}
			return render("code", err)
		}
	} else {
		re, err = s.reauth.StartReauth(r.Context(), cur, f.Get("password"), ip)
		if err == nil {
			err = re.Pending.Undelivered()
		}
		if re != nil && !re.Done {
			d.NeedCode, d.ReauthChallenge, d.CodeDestination = true, re.ChallengeID, re.Pending.Destination
			if err != nil {
				return render("code", err)
			}
			return render("", nil)
		}
		if err != nil {
			return render("password", err)
		}
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}
