package web

import (
	"net/http"
	"net/url"
	"time"
)

// Browser is what other front doors (internal/oidc) need of the browser's
// Gatehouse cookies, named exactly as the Server names them. A sign-in
// they start comes back to them through the sign-in pages' ?rd= (a local
// path is always an allowed return, see signin_return.go).
type Browser struct {
	secure bool
	domain string
}

// NewBrowser returns the cookies of a server at public whose session
// cookie is shared under domain ("" keeps it host-only, as Config's
// CookieDomain).
func NewBrowser(public *url.URL, domain string) Browser {
	return Browser{secure: public.Scheme == "https", domain: domain}
}

// SessionToken returns the browser's session token, "" when none.
func (b Browser) SessionToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookieName(b.secure, b.domain))
	if err != nil {
		return ""
	}
	return c.Value
}

// stepUpCookie marks a sign-in an application asked a fresh code of
// (signin.LoginRequest.StepUp); it lives and goes with the return cookie.
const stepUpCookie = "gatehouse_step_up"

// SetStepUp makes the next sign-in of this browser ask for a code even
// where an allowed network or a remembered browser would skip it.
func (b Browser) SetStepUp(w http.ResponseWriter) {
	name := stepUpCookie
	if b.secure {
		name = "__Host-" + name
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "1", Path: "/", Expires: time.Now().Add(returnLifetime),
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode})
}

// stepUp reports whether the browser's sign-in must ask for a code.
func (s *Server) stepUp(r *http.Request) bool { return s.cookieValue(r, stepUpCookie) != "" }
