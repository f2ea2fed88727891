package web

import (
	"net/http"
)

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
	if err := s.resets.ForgotPassword(r.Context(), body.Organization, body.Email, s.cfg.ClientIP.ClientIP(r)); err != nil {
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
	if err := s.resets.ResetPassword(r.Context(), body.Token, body.Password, s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
