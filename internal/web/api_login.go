package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// decodeJSON reads exactly one JSON object with no unknown fields from a
// request whose Content-Type is application/json. Requiring the type also
// keeps plain HTML forms from another site out of the API.
func decodeJSON(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &gatehouse.Error{Code: codeUnsupportedType, Message: "The request body must be JSON (Content-Type: application/json)."}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooLarge):
			return errTooLarge
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is not valid JSON.")
		case errors.As(err, &typ):
			return &gatehouse.Error{Code: gatehouse.EINVALID, Field: typ.Field, Message: "The field \"" + typ.Field + "\" has the wrong type."}
		case errors.Is(err, io.EOF):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is empty.")
		default:
			// Unknown fields and the like: the decoder's message names the
			// field and holds nothing secret.
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is not accepted: %s.", err.Error())
		}
	}
	if dec.More() {
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body must hold one JSON object.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body must hold one JSON object.")
	}
	return nil
}

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
	res, err := s.cfg.SignIn.Login(r.Context(), s.loginRequest(r, body.Organization, body.Email, body.Password))
	s.setLoginCookies(w, r, res)
	if err != nil {
		return err
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
	}
}

// setLoginCookies sets what a sign-in step leaves in the browser: the
// device cookie whenever the password was right, the pending cookie while a
// code is awaited (also when its delivery failed, so a resend can follow),
// or the session (and remember) cookie once in.
func (s *Server) setLoginCookies(w http.ResponseWriter, r *http.Request, res *signin.LoginResult) {
	if res != nil && res.DeviceToken != "" {
		s.addDeviceToken(w, r, res.DeviceToken, res.DeviceUntil)
	}
	switch {
	case res == nil:
	case res.Pending != nil:
		if res.Pending.Token != "" {
			s.setCookie(w, pendingCookie, res.Pending.Token, res.Pending.ExpiresAt)
		}
	case res.SessionToken != "":
		s.setSessionCookie(w, res.SessionToken, res.Session.ExpiresAt)
		if s.pendingToken(r) != "" {
			s.setCookie(w, pendingCookie, "", time.Time{})
		}
		if res.RememberToken != "" {
			s.addRememberToken(w, r, res.RememberToken, res.RememberedUntil)
		}
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

func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := t.UTC().Format(time.RFC3339)
	return &v
}

type sessionJSON struct {
	User            userJSON      `json:"user"`
	Organization    orgJSON       `json:"organization"`
	AuthenticatedAt *string       `json:"authenticated_at"`
	ExpiresAt       *string       `json:"expires_at"`
	TwoFactor       twoFactorJSON `json:"two_factor"`
}

type userJSON struct {
	ID    string  `json:"id"`
	Email string  `json:"email"`
	Name  string  `json:"name"`
	Phone *string `json:"phone"`
	Role  string  `json:"role"`
}

type orgJSON struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// apiSession is GET /api/v1/session.
func (s *Server) apiSession(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.cfg.SignIn.Authenticate(r.Context(), s.sessionToken(r))
	if err != nil {
		return err
	}
	var phone *string
	if cur.User.Phone != "" {
		phone = &cur.User.Phone
	}
	writeJSON(w, http.StatusOK, sessionJSON{
		User:            userJSON{ID: cur.User.ID, Email: cur.User.Email, Name: cur.User.Name, Phone: phone, Role: string(cur.User.Role)},
		Organization:    orgJSON{ID: cur.Organization.ID, Slug: cur.Organization.Slug, Name: cur.Organization.Name},
		AuthenticatedAt: timeJSON(cur.Session.CreatedAt),
		ExpiresAt:       timeJSON(cur.Session.ExpiresAt),
		TwoFactor:       twoFactorJSON{State: cur.Session.TwoFactorState},
	})
	return nil
}

// apiLogout is POST /api/v1/logout: 204 whether or not a session was there.
func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.SignIn.Logout(r.Context(), s.sessionToken(r), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
