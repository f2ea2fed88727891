package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// apiVerify is POST /api/v1/login/verify.
func (s *Server) apiVerify(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	res, err := s.cfg.SignIn.Verify(r.Context(), s.verifyRequest(r, body.Code))
	if err != nil {
		s.clearPendingIfOver(w, err)
		return err
	}
	s.setLoginCookies(w, r, res)
	writeJSON(w, http.StatusOK, loginJSON(res))
	return nil
}

func (s *Server) verifyRequest(r *http.Request, code string) signin.VerifyRequest {
	return signin.VerifyRequest{PendingToken: s.pendingToken(r), Code: code, ClientIP: s.cfg.ClientIP.ClientIP(r),
		UserAgent: r.UserAgent(), PreviousSession: s.sessionToken(r)}
}

// clearPendingIfOver drops the pending cookie once its sign-in cannot go
// on, so the browser starts cleanly with the password.
func (s *Server) clearPendingIfOver(w http.ResponseWriter, err error) {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.ELOGINEXPIRED, gatehouse.ENOPENDINGLOGIN:
		s.setCookie(w, pendingCookie, "", time.Time{})
	}
}

// apiResend is POST /api/v1/login/resend.
func (s *Server) apiResend(w http.ResponseWriter, r *http.Request) error {
	p, err := s.cfg.SignIn.Resend(r.Context(), s.pendingToken(r), s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		s.clearPendingIfOver(w, err)
		return err
	}
	writeJSON(w, http.StatusOK, pendingJSON(p))
	return nil
}

// apiPhone is POST /api/v1/login/phone.
func (s *Server) apiPhone(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Phone string `json:"phone"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p, err := s.cfg.SignIn.Phone(r.Context(), s.pendingToken(r), body.Phone, s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		s.clearPendingIfOver(w, err)
		return err
	}
	writeJSON(w, http.StatusOK, pendingJSON(p))
	return nil
}

// apiCancel is POST /api/v1/login/cancel.
func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.SignIn.Cancel(r.Context(), s.pendingToken(r)); err != nil {
		return err
	}
	s.setCookie(w, pendingCookie, "", time.Time{})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiForgot is POST /api/v1/password/forgot: 202 whether or not the
// account exists.
func (s *Server) apiForgot(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Organization string `json:"organization"`
		Email        string `json:"email"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ForgotPassword(r.Context(), body.Organization, body.Email, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent_if_known"})
	return nil
}

// apiReset is POST /api/v1/password/reset. It never signs in.
func (s *Server) apiReset(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ResetPassword(r.Context(), body.Token, body.Password, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type browserJSON struct {
	ID         string  `json:"id"`
	CreatedAt  *string `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  *string `json:"expires_at"`
	ClientIP   string  `json:"client_ip"`
	UserAgent  string  `json:"user_agent"`
	Browser    string  `json:"browser"`
}

// apiBrowsers is GET /api/v1/account/remembered-browsers.
func (s *Server) apiBrowsers(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	list, err := s.cfg.SignIn.RememberedBrowsers(r.Context(), cur)
	if err != nil {
		return err
	}
	out := make([]browserJSON, 0, len(list))
	for _, b := range list {
		out = append(out, browserJSON{ID: b.ID, CreatedAt: timeJSON(b.CreatedAt), LastUsedAt: timeJSON(b.LastUsedAt),
			ExpiresAt: timeJSON(b.ExpiresAt), ClientIP: addrString(b.ClientIP), UserAgent: b.UserAgent,
			Browser: browserName(b.UserAgent)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"remembered_browsers": out})
	return nil
}

func (s *Server) apiRevokeBrowser(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.cfg.SignIn.RevokeBrowser(r.Context(), cur, r.PathValue("id"), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiRevokeAllBrowsers(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	if err := s.cfg.SignIn.RevokeBrowser(r.Context(), cur, "", s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

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
	ch, err := s.cfg.SignIn.StartContactChange(r.Context(), cur, kind, body.Value, body.Password, s.cfg.ClientIP.ClientIP(r), r.UserAgent())
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
	ch, err := s.cfg.SignIn.VerifyContactChange(r.Context(), cur, body.Challenge, body.Code, s.cfg.ClientIP.ClientIP(r))
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
	ch, err := s.cfg.SignIn.ResendContactChange(r.Context(), cur, body.Challenge, s.cfg.ClientIP.ClientIP(r))
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
