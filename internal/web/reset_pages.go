package web

import "net/http"

type forgotPage struct {
	Organization string
	Email        string
	Sent         bool
	Error        string
}

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request) error {
	s.renderPage(w, r, http.StatusOK, "forgot", forgotPage{Organization: r.URL.Query().Get("organization")})
	return nil
}

func (s *Server) forgotSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	data := forgotPage{Organization: r.PostForm.Get("organization"), Email: r.PostForm.Get("email")}
	err := s.resets.ForgotPassword(r.Context(), data.Organization, data.Email, s.cfg.ClientIP.ClientIP(r))
	if err != nil {
		msg, _, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		data.Error = msg
		s.renderPage(w, r, status, "forgot", data)
		return nil
	}
	data.Sent = true
	s.renderPage(w, r, http.StatusOK, "forgot", data)
	return nil
}

type resetPage struct {
	Token   string
	Email   string
	OrgName string
	Error   string
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	org, u, err := s.resets.PasswordResetUser(r.Context(), token)
	if err != nil {
		return err
	}
	s.renderPage(w, r, http.StatusOK, "reset", resetPage{Token: token, Email: u.Email, OrgName: org.Name})
	return nil
}

func (s *Server) resetSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errUnreadableForm()
	}
	token := r.PostForm.Get("token")
	if r.PostForm.Get("password") != r.PostForm.Get("password2") {
		org, u, err := s.resets.PasswordResetUser(r.Context(), token)
		if err != nil {
			return err
		}
		s.renderPage(w, r, http.StatusBadRequest, "reset", resetPage{Token: token, Email: u.Email, OrgName: org.Name, Error: s.t(r, "reset.mismatch")})
		return nil
	}
	org, u, err := s.resets.PasswordResetUser(r.Context(), token)
	if err != nil {
		return err
	}
	if err := s.resets.ResetPassword(r.Context(), token, r.PostForm.Get("password"), s.cfg.ClientIP.ClientIP(r)); err != nil {
		msg, _, status, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		s.renderPage(w, r, status, "reset", resetPage{Token: token, Email: u.Email, OrgName: org.Name, Error: msg})
		return nil
	}
	s.renderPage(w, r, http.StatusOK, "message", messagePage{Title: s.t(r, "reset.done.title"),
		Message: s.t(r, "reset.done.message"),
		Link:    "/o/" + org.Slug + "/login", LinkText: s.t(r, "reset.done.link")})
	return nil
}
