package web

import (
	"errors"
	"net/http"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type contactJSON struct {
	codeSentJSON
	Challenge string `json:"challenge,omitempty"`
	Step      int    `json:"step,omitempty"`
}

func contactResult(ch *signin.ContactChange) contactJSON {
	if ch.Done {
		return contactJSON{codeSentJSON: codeSentJSON{Status: "changed"}}
	}
	return contactJSON{codeSentJSON: pendingJSON(&ch.Pending), Challenge: ch.ChallengeID, Step: ch.Step}
}

// apiContactStart is POST /api/v1/account/contact: {"kind": "phone" or
// "email", "value", "password"}.
func (s *Server) apiContactStart(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		Kind     string `json:"kind"`
		Value    string `json:"value"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	kind := map[string]string{"phone": gatehouse.ChallengeChangePhone, "email": gatehouse.ChallengeChangeEmail}[body.Kind]
	ch, err := s.contacts.StartContactChange(r.Context(), cur, kind, body.Value, body.Password, s.cfg.ClientIP.ClientIP(r), r.UserAgent())
	if err == nil {
		err = ch.Pending.Undelivered()
	}
	if err != nil {
		return s.contactError(w, ch, err)
	}
	writeJSON(w, http.StatusOK, contactResult(ch))
	return nil
}

// apiContactVerify is POST /api/v1/account/contact/verify.
func (s *Server) apiContactVerify(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		Challenge string `json:"challenge"`
		Code      string `json:"code"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ch, err := s.contacts.VerifyContactChange(r.Context(), cur, body.Challenge, body.Code, s.cfg.ClientIP.ClientIP(r))
	if err == nil {
		err = ch.Pending.Undelivered()
	}
	if err != nil {
		return s.contactError(w, ch, err)
	}
	writeJSON(w, http.StatusOK, contactResult(ch))
	return nil
}

// apiContactResend is POST /api/v1/account/contact/resend.
func (s *Server) apiContactResend(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		Challenge string `json:"challenge"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ch, err := s.contacts.ResendContactChange(r.Context(), cur, body.Challenge, s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contactResult(ch))
	return nil
}

// contactError answers a failed step of a contact change. When the change
// exists but its code could not be sent, the 502 names the change so the
// client can ask for a resend instead of starting over.
func (s *Server) contactError(w http.ResponseWriter, ch *signin.ContactChange, err error) error {
	var ge *gatehouse.Error
	if ch == nil || !errors.As(err, &ge) || ge.Code != gatehouse.EDELIVERYFAILED {
		return err
	}
	writeJSON(w, statusFor(ge.Code), apiError{Error: apiErrorBody{Code: ge.Code, Message: ge.Message, Challenge: ch.ChallengeID}})
	return nil
}
