package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// formError splits err into what a page shows: the message in the
// request's language, the field it belongs to and the status. Anything
// that is not a *gatehouse.Error is returned as is, for the renderer's
// "internal error".
func (s *Server) formError(w http.ResponseWriter, r *http.Request, err error) (msg, field string, status int, internal error) {
	var ge *gatehouse.Error
	if !errors.As(err, &ge) {
		return "", "", 0, err
	}
	if ge.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
	}
	return s.errorText(r, ge), ge.Field, statusFor(ge.Code), nil
}

// withChannel names the channel of a failed delivery as the error's field
// ("email", "sms"), so the page can say which message did not go out: the
// services say it only in the English words of the message.
func withChannel(err error, method string) error {
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != gatehouse.EDELIVERYFAILED || ge.Field != "" {
		return err
	}
	named := *ge
	named.Field = method
	return &named
}

type codePage struct {
	OrgName     string
	Method      string
	Destination string
	CodeExpires time.Time
	ResendAt    time.Time
	Error       string
	Notice      string
	// Action and ResendAction are where the forms post; CancelAction is
	// empty where there is nothing to cancel.
	Action, ResendAction, CancelAction string
	Heading                            string
}

// renderCodePage shows the code form of the pending sign-in, with err (a
// wrong code, a failed delivery) as an alert.
func (s *Server) renderCodePage(w http.ResponseWriter, r *http.Request, status int, p *signin.Pending, org *gatehouse.Organization, err error) error {
	data := codePage{Method: string(p.Method), Destination: p.Destination, CodeExpires: p.CodeExpiresAt, ResendAt: p.ResendAt,
		Action: "/login/code", ResendAction: "/login/resend", CancelAction: "/login/cancel", Heading: s.t(r, "code.heading")}
	if org != nil {
		data.OrgName = org.Name
	}
	if err != nil {
		msg, _, st, internal := s.formError(w, r, withChannel(err, string(p.Method)))
		if internal != nil {
			return internal
		}
		data.Error, status = msg, st
	}
	if r.URL.Query().Get("sent") == "1" && err == nil {
		data.Notice = s.t(r, "code.resent")
	}
	s.renderPage(w, r, status, "code", data)
	return nil
}

// toLogin sends the browser back to the password form with a message, for
// a pending sign-in that is over.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, err error) error {
	msg, _, status, internal := s.formError(w, r, err)
	if internal != nil {
		return internal
	}
	s.setCookie(w, pendingCookie, "", time.Time{})
	s.renderPage(w, r, status, "login", loginPage{Action: "/login", Error: msg})
	return nil
}

func pendingOver(err error) bool {
	c := gatehouse.ErrorCode(err)
	return c == gatehouse.ELOGINEXPIRED || c == gatehouse.ENOPENDINGLOGIN
}

func (s *Server) codePage(w http.ResponseWriter, r *http.Request) error {
	p, org, err := s.cfg.SignIn.PendingState(r.Context(), s.pendingToken(r))
	if pendingOver(err) {
		return s.toLogin(w, r, err)
	} else if err != nil {
		return err
	}
	if p.Status == signin.StatusPhoneRequired {
		http.Redirect(w, r, "/login/phone", http.StatusSeeOther)
		return nil
	}
	return s.renderCodePage(w, r, http.StatusOK, p, org, nil)
}

func (s *Server) codeSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	res, err := s.cfg.SignIn.Verify(r.Context(), s.verifyRequest(r, r.PostForm.Get("code")))
	if err == nil {
		s.setLoginCookies(w, r, res)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	if pendingOver(err) {
		return s.toLogin(w, r, err)
	}
	p, org, perr := s.cfg.SignIn.PendingState(r.Context(), s.pendingToken(r))
	if pendingOver(perr) {
		// Five wrong codes end the sign-in: say so on the password form.
		return s.toLogin(w, r, err)
	} else if perr != nil {
		return perr
	}
	return s.renderCodePage(w, r, http.StatusOK, p, org, err)
}

func (s *Server) resendSubmit(w http.ResponseWriter, r *http.Request) error {
	_, err := s.cfg.SignIn.Resend(r.Context(), s.pendingToken(r), s.cfg.ClientIP.ClientIP(r))
	if err == nil {
		http.Redirect(w, r, "/login/code?sent=1", http.StatusSeeOther)
		return nil
	}
	if pendingOver(err) {
		return s.toLogin(w, r, err)
	}
	p, org, perr := s.cfg.SignIn.PendingState(r.Context(), s.pendingToken(r))
	if perr != nil {
		return s.toLogin(w, r, perr)
	}
	return s.renderCodePage(w, r, http.StatusOK, p, org, err)
}

func (s *Server) cancelSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.SignIn.Cancel(r.Context(), s.pendingToken(r)); err != nil {
		return err
	}
	s.setCookie(w, pendingCookie, "", time.Time{})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type phonePage struct {
	OrgName string
	Phone   string
	Error   string
}

func (s *Server) phonePage(w http.ResponseWriter, r *http.Request) error {
	p, org, err := s.cfg.SignIn.PendingState(r.Context(), s.pendingToken(r))
	if pendingOver(err) {
		return s.toLogin(w, r, err)
	} else if err != nil {
		return err
	}
	if p.Status != signin.StatusPhoneRequired {
		http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		return nil
	}
	s.renderPage(w, r, http.StatusOK, "phone", phonePage{OrgName: org.Name})
	return nil
}

func (s *Server) phoneSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	phone := r.PostForm.Get("phone")
	_, err := s.cfg.SignIn.Phone(r.Context(), s.pendingToken(r), phone, s.cfg.ClientIP.ClientIP(r))
	switch {
	case err == nil:
		http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		return nil
	case pendingOver(err):
		return s.toLogin(w, r, err)
	case gatehouse.ErrorCode(err) == gatehouse.EDELIVERYFAILED:
		p, org, perr := s.cfg.SignIn.PendingState(r.Context(), s.pendingToken(r))
		if perr != nil {
			return s.toLogin(w, r, perr)
		}
		return s.renderCodePage(w, r, http.StatusOK, p, org, err)
	}
	msg, _, status, internal := s.formError(w, r, err)
	if internal != nil {
		return internal
	}
	_, org, _ := s.cfg.SignIn.PendingState(r.Context(), s.pendingToken(r))
	data := phonePage{Phone: phone, Error: msg}
	if org != nil {
		data.OrgName = org.Name
	}
	s.renderPage(w, r, status, "phone", data)
	return nil
}

type forgotPage struct {
	Organization string
	Email        string
	Sent         bool
	Error        string
}

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request) error {
	s.renderPage(w, r, http.StatusOK, "forgot", forgotPage{Organization: r.URL.Query().Get("organization")})
	return nil
}

func (s *Server) forgotSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	data := forgotPage{Organization: r.PostForm.Get("organization"), Email: r.PostForm.Get("email")}
	err := s.cfg.Accounts.ForgotPassword(r.Context(), data.Organization, data.Email, s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		msg, _, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		data.Error = msg
		s.renderPage(w, r, status, "forgot", data)
		return nil
	}
	data.Sent = true
	s.renderPage(w, r, http.StatusOK, "forgot", data)
	return nil
}

type resetPage struct {
	Token   string
	Email   string
	OrgName string
	Error   string
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	org, u, err := s.cfg.Accounts.PasswordResetUser(r.Context(), token)
	if err != nil {
		return err
	}
	s.renderPage(w, r, http.StatusOK, "reset", resetPage{Token: token, Email: u.Email, OrgName: org.Name})
	return nil
}

func (s *Server) resetSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	token := r.PostForm.Get("token")
	if r.PostForm.Get("password") != r.PostForm.Get("password2") {
		org, u, err := s.cfg.Accounts.PasswordResetUser(r.Context(), token)
		if err != nil {
			return err
		}
		s.renderPage(w, r, http.StatusBadRequest, "reset", resetPage{Token: token, Email: u.Email, OrgName: org.Name, Error: s.t(r, "reset.mismatch")})
		return nil
	}
	org, u, err := s.cfg.Accounts.PasswordResetUser(r.Context(), token)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.ResetPassword(r.Context(), token, r.PostForm.Get("password"), s.cfg.ClientIP.ClientIP(r)); err != nil {
		msg, _, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		s.renderPage(w, r, status, "reset", resetPage{Token: token, Email: u.Email, OrgName: org.Name, Error: msg})
		return nil
	}
	s.renderPage(w, r, http.StatusOK, "message", messagePage{Title: s.t(r, "reset.done.title"),
		Message: s.t(r, "reset.done.message"),
		Link:    "/o/" + org.Slug + "/login", LinkText: s.t(r, "reset.done.link")})
	return nil
}

type messagePage struct {
	Title, Message, Link, LinkText string
}

// pageSignedIn runs h with the session, or sends the browser to sign in.
func (s *Server) pageSignedIn(h func(http.ResponseWriter, *http.Request, *signin.Current) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		cur, err := s.cfg.SignIn.Authenticate(r.Context(), s.sessionToken(r))
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		} else if err != nil {
			return err
		}
		return h(w, withProfileLang(r, cur.User.Locale), cur)
	}
}

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
	list, err := s.cfg.SignIn.RememberedBrowsers(r.Context(), cur)
	if err != nil {
		return err
	}
	sessions, err := s.cfg.SignIn.Sessions(r.Context(), cur)
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
	// account_sessions.go
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
	if err := s.cfg.SignIn.RevokeBrowser(r.Context(), cur, r.PathValue("id"), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=revoked", http.StatusSeeOther)
	return nil
}

func (s *Server) revokeAllSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.cfg.SignIn.RevokeBrowser(r.Context(), cur, "", s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=revoked-all", http.StatusSeeOther)
	return nil
}

func (s *Server) contactStartSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	kind, value := gatehouse.ChallengeChangePhone, r.PostForm.Get("phone")
	if r.PostForm.Get("kind") == "email" {
		kind, value = gatehouse.ChallengeChangeEmail, r.PostForm.Get("email")
	}
	ch, err := s.cfg.SignIn.StartContactChange(r.Context(), cur, kind, value, r.PostForm.Get("password"), s.cfg.ClientIP.ClientIP(r), r.UserAgent())
	if ch != nil && gatehouse.ErrorCode(err) == gatehouse.EDELIVERYFAILED {
		http.Redirect(w, r, "/account/contact/"+ch.ChallengeID+"?failed=1", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		msg, field, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		data := accountPage{Error: msg, ErrorField: field}
		if kind == gatehouse.ChallengeChangePhone {
			data.PhoneValue = value
			if field == "" || field == "password" {
				data.ErrorField = "phone-password"
			}
		} else {
			data.EmailValue = value
			if field == "" || field == "password" {
				data.ErrorField = "email-password"
			}
		}
		return s.renderAccount(w, r, cur, status, data)
	}
	http.Redirect(w, r, "/account/contact/"+ch.ChallengeID, http.StatusSeeOther)
	return nil
}

func (s *Server) renderContact(w http.ResponseWriter, r *http.Request, cur *signin.Current, status int, id string, err error) error {
	ch, kind, serr := s.cfg.SignIn.ContactState(r.Context(), cur, id)
	if serr != nil {
		return serr
	}
	heading := s.t(r, "contact.heading.identity")
	if ch.Step == 2 {
		heading = s.t(r, "contact.heading.new_phone")
		if kind == gatehouse.ChallengeChangeEmail {
			heading = s.t(r, "contact.heading.new_email")
		}
	}
	data := codePage{OrgName: cur.Organization.Name, Method: string(ch.Pending.Method), Destination: ch.Pending.Destination,
		CodeExpires: ch.Pending.CodeExpiresAt, ResendAt: ch.Pending.ResendAt, Heading: heading,
		Action: "/account/contact/" + id, ResendAction: "/account/contact/" + id + "/resend"}
	if r.URL.Query().Get("failed") == "1" {
		data.Error = s.errorText(r, &gatehouse.Error{Code: gatehouse.EDELIVERYFAILED, Field: string(ch.Pending.Method)})
	}
	if err != nil {
		msg, _, st, internal := s.formError(w, r, withChannel(err, string(ch.Pending.Method)))
		if internal != nil {
			return internal
		}
		data.Error, status = msg, st
	}
	s.renderPage(w, r, status, "contact", data)
	return nil
}

func (s *Server) contactPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	return s.renderContact(w, r, cur, http.StatusOK, r.PathValue("id"), nil)
}

func (s *Server) contactVerifySubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	ch, err := s.cfg.SignIn.VerifyContactChange(r.Context(), cur, r.PathValue("id"), r.PostForm.Get("code"), s.cfg.ClientIP.ClientIP(r))
	switch {
	case err == nil && ch.Done:
		http.Redirect(w, r, "/account?done=changed", http.StatusSeeOther)
		return nil
	case err == nil:
		http.Redirect(w, r, "/account/contact/"+ch.ChallengeID, http.StatusSeeOther)
		return nil
	case ch != nil && gatehouse.ErrorCode(err) == gatehouse.EDELIVERYFAILED:
		http.Redirect(w, r, "/account/contact/"+ch.ChallengeID+"?failed=1", http.StatusSeeOther)
		return nil
	case gatehouse.ErrorCode(err) == gatehouse.ELOGINEXPIRED:
		msg, _, status, _ := s.formError(w, r, err)
		return s.renderAccount(w, r, cur, status, accountPage{Error: msg})
	}
	return s.renderContact(w, r, cur, http.StatusOK, r.PathValue("id"), err)
}

func (s *Server) contactResendSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	_, err := s.cfg.SignIn.ResendContactChange(r.Context(), cur, r.PathValue("id"), s.cfg.ClientIP.ClientIP(r))
	if err == nil {
		http.Redirect(w, r, "/account/contact/"+r.PathValue("id"), http.StatusSeeOther)
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.ELOGINEXPIRED {
		msg, _, status, _ := s.formError(w, r, err)
		return s.renderAccount(w, r, cur, status, accountPage{Error: msg})
	}
	return s.renderContact(w, r, cur, http.StatusOK, r.PathValue("id"), err)
}
