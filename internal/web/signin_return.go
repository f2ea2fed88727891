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
const returnLifetime = 15 * time.Minute

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

// takeReturn returns, once, the address the sign-in started from (checked
// again), for the home page to send the signed-in browser on to. Every
// sign-in (password, code, SAML2 ACS) ends at the home page, so that is the
// one place that reads it: the ACS is a cross-site POST, which the Lax
// cookie does not reach, while the GET of the home page that follows it
// does.
func (s *Server) takeReturn(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.stepUp(r) { // a step-up lives only as long as its sign-in
		s.setCookie(w, stepUpCookie, "", time.Time{})
	}
	v := s.cookieValue(r, returnCookie)
	if v == "" {
		return "", false
	}
	s.setCookie(w, returnCookie, "", time.Time{})
	raw, err := url.QueryUnescape(v)
	if err != nil || s.cfg.ReturnURLs == nil {
		return "", false
	}
	return s.cfg.ReturnURLs.Check(raw)
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
