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
	State string `json:"state"`
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
	res, err := s.cfg.SignIn.Login(r.Context(), signin.LoginRequest{
		Organization:    body.Organization,
		Email:           body.Email,
		Password:        body.Password,
		ClientIP:        s.cfg.ClientIP.ClientIP(r),
		UserAgent:       r.UserAgent(),
		PreviousSession: s.sessionToken(r),
	})
	if err != nil {
		return err
	}
	s.setSessionCookie(w, res.SessionToken, res.Session.ExpiresAt)
	writeJSON(w, http.StatusOK, authenticatedJSON{Status: "authenticated", TwoFactor: twoFactorJSON{State: res.Decision.Outcome}})
	return nil
}

type sessionJSON struct {
	User            userJSON      `json:"user"`
	Organization    orgJSON       `json:"organization"`
	AuthenticatedAt time.Time     `json:"authenticated_at"`
	ExpiresAt       time.Time     `json:"expires_at"`
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
		AuthenticatedAt: cur.Session.CreatedAt.UTC(),
		ExpiresAt:       cur.Session.ExpiresAt.UTC(),
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
