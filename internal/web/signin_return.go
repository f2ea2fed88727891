package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// returnCookie holds, during a sign-in, the address forward-auth asked to
// return to (?rd= on the sign-in page), checked when set and again when
// used; host-only like the pending cookie.
const returnCookie = "gatehouse_return"

// returnLifetime bounds how long a sign-in page's ?rd= is remembered: a
// sign-in with its code fits well inside it.
const returnLifetime = 30 * time.Minute

// rememberReturn keeps the sign-in page's ?rd= for after the sign-in,
// through the code and phone steps, when it is an allowed address. A
// sign-in page without one forgets an older one.
func (s *Server) rememberReturn(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ReturnURLs == nil {
		return
	}
	if to, ok := s.cfg.ReturnURLs.Check(r.URL.Query().Get("rd")); ok {
		s.setCookie(w, returnCookie, url.QueryEscape(to), s.cfg.Now().Add(returnLifetime))
	} else if s.cookieValue(r, returnCookie) != "" {
		s.setCookie(w, returnCookie, "", time.Time{})
	}
}

// toSignedIn sends a browser that has just signed in on: back to the
// address the sign-in started from when there is one (checked again), to
// the home page otherwise.
func (s *Server) toSignedIn(w http.ResponseWriter, r *http.Request) {
	to := "/"
	if v := s.cookieValue(r, returnCookie); v != "" {
		s.setCookie(w, returnCookie, "", time.Time{})
		if raw, err := url.QueryUnescape(v); err == nil && s.cfg.ReturnURLs != nil {
			if checked, ok := s.cfg.ReturnURLs.Check(raw); ok {
				to = checked
			}
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// formAction is the Content-Security-Policy form-action: our own origin,
// and the hosts a sign-in may return to, since browsers apply it to the
// redirect that follows a form.
func formAction(returns ReturnURLs) string {
	sources := []string{"'self'"}
	if returns != nil {
		sources = append(sources, returns.CSPSources()...)
	}
	return strings.Join(sources, " ")
}
