package web

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

func (s *Server) contactStartSubmit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	kind, value := gatehouse.ChallengeChangePhone, r.PostForm.Get("phone")
	if r.PostForm.Get("kind") == "email" {
		kind, value = gatehouse.ChallengeChangeEmail, r.PostForm.Get("email")
	}
	ch, err := s.contacts.StartContactChange(r.Context(), cur, kind, value, r.PostForm.Get("password"), s.cfg.ClientIP.ClientIP(r), r.UserAgent())
	if err == nil {
		err = ch.Pending.Undelivered()
	}
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
	ch, kind, serr := s.contacts.ContactState(r.Context(), cur, id)
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
		return errUnreadableForm()
	}
	ch, err := s.contacts.VerifyContactChange(r.Context(), cur, r.PathValue("id"), r.PostForm.Get("code"), s.cfg.ClientIP.ClientIP(r))
	if err == nil {
		err = ch.Pending.Undelivered()
	}
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
	_, err := s.contacts.ResendContactChange(r.Context(), cur, r.PathValue("id"), s.cfg.ClientIP.ClientIP(r))
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
