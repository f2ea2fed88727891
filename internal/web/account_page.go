package web

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type accountPage struct {
	User         *gatehouse.User
	Organization *gatehouse.Organization
	Browsers     []*gatehouse.RememberedBrowser
	Sessions     []signin.SessionInfo
	Notice       string
	Error        string
	ErrorField   string
	PhoneValue   string
	EmailValue   string
	CanChange    bool
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, cur *signin.Current, status int, data accountPage) error {
	list, err := s.browsers.RememberedBrowsers(r.Context(), cur)
	if err != nil {
		return err
	}
	sessions, err := s.sessions.Sessions(r.Context(), cur)
	if err != nil {
		return err
	}
	data.User, data.Organization, data.Browsers, data.Sessions = cur.User, cur.Organization, list, sessions
	data.CanChange = cur.Organization.Settings.AuthMethod == gatehouse.AuthPassword
	s.renderPage(w, r, status, "account", data)
	return nil
}

// accountNotices are the keys of the notice the account page shows after
// an action, by its ?done= value.
var accountNotices = map[string]string{
	"revoked":     "account.notice.revoked",
	"revoked-all": "account.notice.revoked_all",
	"changed":     "account.notice.changed",
	"password":    "account.notice.password_changed",
	// the session buttons below
	"session-ended":  "account.notice.session_ended",
	"sessions-ended": "account.notice.sessions_ended",
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var data accountPage
	if key, ok := accountNotices[r.URL.Query().Get("done")]; ok {
		data.Notice = s.t(r, key)
	}
	return s.renderAccount(w, r, cur, http.StatusOK, data)
}

func (s *Server) revokeBrowserSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.browsers.RevokeBrowser(r.Context(), cur, r.PathValue("id"), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=revoked", http.StatusSeeOther)
	return nil
}

func (s *Server) revokeAllSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.browsers.RevokeBrowser(r.Context(), cur, "", s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=revoked-all", http.StatusSeeOther)
	return nil
}

// endSessionSubmit is the page's "Sign out" button of one session.
func (s *Server) endSessionSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	id := r.PathValue("id")
	if err := s.sessions.EndSession(r.Context(), cur, id, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	if id == cur.Session.PublicID {
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/account?done=session-ended#sessions", http.StatusSeeOther)
	return nil
}

// endOtherSessionsSubmit is the page's "Sign out everywhere else".
func (s *Server) endOtherSessionsSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if _, err := s.sessions.EndOtherSessions(r.Context(), cur, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=sessions-ended#sessions", http.StatusSeeOther)
	return nil
}

// endAllSessionsSubmit is the page's "Sign out everywhere, here too".
func (s *Server) endAllSessionsSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	ip := s.cfg.ClientIP.ClientIP(r)
	if _, err := s.sessions.EndOtherSessions(r.Context(), cur, ip); err != nil {
		return err
	}
	if err := s.auth.Logout(r.Context(), s.sessionToken(r), ip); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) languageSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	lang := r.PostForm.Get("language")
	if lang != "" && s.pages.cat.messages[lang] == nil {
		return gatehouse.FieldReason("language", gatehouse.ReasonLanguageUnknown, "Unknown language.")
	}
	if err := s.locales.SetLocale(r.Context(), cur.Organization.ID, cur.User.ID, lang); err != nil {
		return err
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// passwordSubmit is the account page's "Change your password": the
// current password and the new one; the other sessions end.
func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	err := s.contacts.ChangePassword(r.Context(), cur, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), s.cfg.ClientIP.ClientIP(r))
	if err == nil {
		http.Redirect(w, r, "/account?done=password#change-password", http.StatusSeeOther)
		return nil
	}
	msg, _, status, internal := s.formError(w, r, err)
	if internal != nil {
		return internal
	}
	// A wrong or missing current password is the current field's; the
	// policy's refusals are the new one's.
	field := "current_password"
	if gatehouse.ErrorCode(err) == gatehouse.EWEAKPASSWORD {
		field = "new_password"
	}
	return s.renderAccount(w, r, cur, status, accountPage{Error: msg, ErrorField: field})
}

// apiChangePassword is POST /api/v1/account/password.
func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := s.contacts.ChangePassword(r.Context(), cur, body.CurrentPassword, body.NewPassword, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
