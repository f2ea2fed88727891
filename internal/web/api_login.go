package web

import (
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type loginBody struct {
	Organization string `json:"organization"`
	Email        string `json:"email"`
	Password     string `json:"password"`
}

type twoFactorJSON struct {
	State           string  `json:"state"`
	RememberedUntil *string `json:"remembered_until,omitempty"`
}

type authenticatedJSON struct {
	Status    string        `json:"status"`
	TwoFactor twoFactorJSON `json:"two_factor"`
}

// apiLogin is POST /api/v1/login.
func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var body loginBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	res, err := s.login.Login(r.Context(), s.loginRequest(r, body.Organization, body.Email, body.Password))
	s.setLoginCookies(w, r, res)
	if err != nil {
		return err
	}
	if res.Pending != nil {
		if err := res.Pending.Undelivered(); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, loginJSON(res))
	return nil
}

func (s *Server) loginRequest(r *http.Request, org, email, password string) signin.LoginRequest {
	return signin.LoginRequest{
		Organization:    org,
		Email:           email,
		Password:        password,
		ClientIP:        s.cfg.ClientIP.ClientIP(r),
		UserAgent:       r.UserAgent(),
		PreviousSession: s.sessionToken(r),
		PreviousPending: s.pendingToken(r),
		RememberTokens:  s.rememberTokens(r),
		DeviceTokens:    s.deviceTokens(r),
		StepUp:          s.stepUp(r),
	}
}

type codeSentJSON struct {
	Status      string  `json:"status"`
	Method      string  `json:"method,omitempty"`
	Destination string  `json:"destination,omitempty"`
	ExpiresAt   *string `json:"expires_at,omitempty"`
	ResendAt    *string `json:"resend_at,omitempty"`
	// LoginExpiresAt is when the pending sign-in itself ends.
	LoginExpiresAt *string `json:"login_expires_at,omitempty"`
}

func pendingJSON(p *signin.Pending) codeSentJSON {
	j := codeSentJSON{Status: p.Status, Method: string(p.Method), Destination: p.Destination, LoginExpiresAt: timeJSON(p.ExpiresAt)}
	if p.Status == signin.StatusCodeSent {
		j.ExpiresAt, j.ResendAt = timeJSON(p.CodeExpiresAt), timeJSON(p.ResendAt)
	}
	if p.Status == signin.StatusPhoneRequired {
		j.Method = ""
	}
	return j
}

func loginJSON(res *signin.LoginResult) any {
	if res.Pending != nil {
		return pendingJSON(res.Pending)
	}
	tf := twoFactorJSON{State: res.Decision.Outcome}
	if !res.RememberedUntil.IsZero() {
		tf.RememberedUntil = timeJSON(res.RememberedUntil)
	}
	return authenticatedJSON{Status: "authenticated", TwoFactor: tf}
}

// apiVerify is POST /api/v1/login/verify.
func (s *Server) apiVerify(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Code           string `json:"code"`
		SharedComputer bool   `json:"shared_computer"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	req := s.verifyRequest(r, body.Code)
	req.SharedComputer = body.SharedComputer
	res, err := s.login.Verify(r.Context(), req)
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
	p, err := s.login.Resend(r.Context(), s.pendingToken(r), s.cfg.ClientIP.ClientIP(r))
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
	p, err := s.login.Phone(r.Context(), s.pendingToken(r), body.Phone, s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		s.clearPendingIfOver(w, err)
		return err
	}
	if err := p.Undelivered(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pendingJSON(p))
	return nil
}

// apiCancel is POST /api/v1/login/cancel.
func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request) error {
	if err := s.login.Cancel(r.Context(), s.pendingToken(r)); err != nil {
		return err
	}
	s.setCookie(w, pendingCookie, "", time.Time{})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
