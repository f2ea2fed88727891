package web

import (
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

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
	// RememberDays, when not 0, offers "This is a shared computer" (the
	// sign-in would otherwise remember the browser for that many days).
	RememberDays int
	// DevOutbox links to /dev/outbox, where dev mode delivers the code.
	DevOutbox bool
}

// renderCodePage shows the code form of the pending sign-in, with err (a
// wrong code, a failed delivery) as an alert.
func (s *Server) renderCodePage(w http.ResponseWriter, r *http.Request, status int, p *signin.Pending, org *gatehouse.Organization, err error) error {
	data := codePage{Method: string(p.Method), Destination: p.Destination, CodeExpires: p.CodeExpiresAt, ResendAt: p.ResendAt,
		Action: "/login/code", ResendAction: "/login/resend", CancelAction: "/login/cancel", Heading: s.t(r, "code.heading"),
		DevOutbox: s.cfg.Dev}
	if org != nil {
		data.OrgName = org.Name
		data.RememberDays = org.Settings.RememberDays
		r = withZone(r, org)
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
	p, org, err := s.login.PendingState(r.Context(), s.pendingToken(r))
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
		return errUnreadableForm()
	}
	req := s.verifyRequest(r, r.PostForm.Get("code"))
	req.SharedComputer = r.PostForm.Get("shared_computer") != ""
	res, err := s.login.Verify(r.Context(), req)
	if err == nil {
		s.setLoginCookies(w, r, res)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	if pendingOver(err) {
		return s.toLogin(w, r, err)
	}
	p, org, perr := s.login.PendingState(r.Context(), s.pendingToken(r))
	if pendingOver(perr) {
		// Five wrong codes end the sign-in: say so on the password form.
		return s.toLogin(w, r, err)
	} else if perr != nil {
		return perr
	}
	return s.renderCodePage(w, r, http.StatusOK, p, org, err)
}

func (s *Server) resendSubmit(w http.ResponseWriter, r *http.Request) error {
	_, err := s.login.Resend(r.Context(), s.pendingToken(r), s.cfg.ClientIP.ClientIP(r))
	if err == nil {
		http.Redirect(w, r, "/login/code?sent=1", http.StatusSeeOther)
		return nil
	}
	if pendingOver(err) {
		return s.toLogin(w, r, err)
	}
	p, org, perr := s.login.PendingState(r.Context(), s.pendingToken(r))
	if perr != nil {
		return s.toLogin(w, r, perr)
	}
	return s.renderCodePage(w, r, http.StatusOK, p, org, err)
}

func (s *Server) cancelSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := s.login.Cancel(r.Context(), s.pendingToken(r)); err != nil {
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
	p, org, err := s.login.PendingState(r.Context(), s.pendingToken(r))
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
		return errUnreadableForm()
	}
	phone := r.PostForm.Get("phone")
	p, err := s.login.Phone(r.Context(), s.pendingToken(r), phone, s.cfg.ClientIP.ClientIP(r))
	if err == nil {
		err = p.Undelivered()
	}
	switch {
	case err == nil:
		http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		return nil
	case pendingOver(err):
		return s.toLogin(w, r, err)
	case gatehouse.ErrorCode(err) == gatehouse.EDELIVERYFAILED:
		p, org, perr := s.login.PendingState(r.Context(), s.pendingToken(r))
		if perr != nil {
			return s.toLogin(w, r, perr)
		}
		return s.renderCodePage(w, r, http.StatusOK, p, org, err)
	}
	msg, _, status, internal := s.formError(w, r, err)
	if internal != nil {
		return internal
	}
	_, org, _ := s.login.PendingState(r.Context(), s.pendingToken(r))
	data := phonePage{Phone: phone, Error: msg}
	if org != nil {
		data.OrgName = org.Name
	}
	s.renderPage(w, r, status, "phone", data)
	return nil
}
