package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/saml"
)

// securityHeaders sets the headers every response carries. Pages load only
// our own stylesheet; nothing may frame them; no referrer leaves.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds every request body; reading past the bound fails with
// *http.MaxBytesError, which the renderer answers with 413. The SAML2 ACS
// has its own, larger bound (saml.MaxResponseForm): an IdP's response with
// group claims is larger than any form or JSON body of ours.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.cfg.MaxBodyBytes
		if r.Method == http.MethodPost && isSAMLACS(r.URL.Path) {
			limit = saml.MaxResponseForm
		}
		if r.ContentLength > limit {
			s.renderError(w, r, isAPI(r), errTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// isSAMLACS reports whether path is /saml/{slug}/acs.
func isSAMLACS(path string) bool {
	rest, ok := strings.CutPrefix(path, "/saml/")
	slug, tail, ok2 := strings.Cut(rest, "/")
	return ok && ok2 && slug != "" && tail == "acs"
}

// withDeadline bounds the work of every request, so a database that hangs
// cannot hold a request (and its connection) forever.
func (s *Server) withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recoverPanics turns a panic into an internal error, logged once.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "path", r.URL.Path, "panic", v)
				s.renderError(w, r, isAPI(r), errPanic)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }
