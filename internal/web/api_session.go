package web

import (
	"net/http"
)

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
	cur, err := s.auth.Authenticate(r.Context(), s.sessionToken(r))
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
	if err := s.auth.Logout(r.Context(), s.sessionToken(r), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
