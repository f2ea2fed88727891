package web

import (
	"errors"
	"math"
	"net/http"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// reauthJSON is the answer of POST /api/v1/session/reauthenticate: done
// (200) or waiting for a code (202).
type reauthJSON struct {
	Status          string  `json:"status"` // "reauthenticated" or "code_required"
	AuthenticatedAt *string `json:"authenticated_at,omitempty"`
	ValidUntil      *string `json:"valid_until,omitempty"`
	Challenge       string  `json:"challenge,omitempty"`
	Method          string  `json:"method,omitempty"`
	Destination     string  `json:"destination,omitempty"`
	CodeExpiresAt   *string `json:"code_expires_at,omitempty"`
	ResendAt        *string `json:"resend_at,omitempty"`
	ExpiresAt       *string `json:"expires_at,omitempty"`
}

func reauthAnswer(w http.ResponseWriter, cur *signin.Current, re *signin.Reauth) {
	if re.Done {
		at := cur.Session.LastAuthenticated()
		writeJSON(w, http.StatusOK, reauthJSON{Status: "reauthenticated", AuthenticatedAt: timeJSON(at),
			ValidUntil: timeJSON(at.Add(gatehouse.ReauthWindow))})
		return
	}
	p := re.Pending
	writeJSON(w, http.StatusAccepted, reauthJSON{Status: signin.NeedCode, Challenge: re.ChallengeID, Method: string(p.Method),
		Destination: p.Destination, CodeExpiresAt: timeJSON(p.CodeExpiresAt), ResendAt: timeJSON(p.ResendAt), ExpiresAt: timeJSON(p.ExpiresAt)})
}

// apiReauthenticate is POST /api/v1/session/reauthenticate. With
// {"password"} it checks the password: done (200), or, when the
// organization enforces 2FA and a sign-in from here would ask for a code,
// a code is sent and 202 names the challenge. {"challenge", "code"}
// finishes that step (200). Changes that answer 401 reauth_required work
// for ReauthWindow after a 200.
func (s *Server) apiReauthenticate(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		Password  string `json:"password"`
		Challenge string `json:"challenge"`
		Code      string `json:"code"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ip := s.cfg.ClientIP.ClientIP(r)
	var re *signin.Reauth
	var err error
	switch {
	case body.Code != "" || body.Challenge != "":
		if body.Password != "" {
			return gatehouse.FieldError("password", "Send either the password or the challenge and its code, not both.")
		}
		re, err = s.reauth.VerifyReauth(r.Context(), cur, body.Challenge, body.Code, ip)
	default:
		re, err = s.reauth.StartReauth(r.Context(), cur, body.Password, ip)
	}
	if err == nil {
		err = re.Pending.Undelivered()
	}
	if err != nil {
		return reauthError(w, re, err)
	}
	reauthAnswer(w, cur, re)
	return nil
}

// apiReauthResend is POST /api/v1/session/reauthenticate/resend
// {"challenge"}: another code for the code step.
func (s *Server) apiReauthResend(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	var body struct {
		Challenge string `json:"challenge"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	re, err := s.reauth.ResendReauth(r.Context(), cur, body.Challenge, s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		return err
	}
	reauthAnswer(w, cur, re)
	return nil
}

// reauthError answers a failed step; when the code step exists but its code
// could not be sent, the error names the challenge so the client can
// resend instead of giving the password again.
func reauthError(w http.ResponseWriter, re *signin.Reauth, err error) error {
	var ge *gatehouse.Error
	if re == nil || re.ChallengeID == "" || !errors.As(err, &ge) ||
		(ge.Code != gatehouse.EDELIVERYFAILED && ge.Code != gatehouse.ERESENDTOOSOON) {
		return err
	}
	body := apiErrorBody{Code: ge.Code, Message: ge.Message, Challenge: re.ChallengeID}
	if ge.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
		body.RetryAfter = int(math.Ceil(ge.RetryAfter.Seconds()))
	}
	writeJSON(w, statusFor(ge.Code), apiError{Error: body})
	return nil
}
