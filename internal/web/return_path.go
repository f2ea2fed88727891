package web

import (
	"net/http"
	"net/url"
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
