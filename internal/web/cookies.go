package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// SessionCookieName is the session cookie's name, for a server whose
// public URL is https (secure) and whose session cookie is shared with the
// hosts under domain ("" keeps it host-only). Forward-auth reads the same
// cookie from the requests proxies forward (cmd wires the name into
// internal/forwardauth).
//
// Host-only over https, it carries the __Host- prefix, which browsers accept
// only with Secure, Path=/ and no Domain, so no subdomain can plant or read
// it. A cookie with a Domain cannot be __Host-: it carries __Secure-, which
// still makes browsers refuse it without Secure.
func SessionCookieName(secure bool, domain string) string {
	switch {
	case !secure:
		return "gatehouse_session"
	case domain != "":
		return "__Secure-gatehouse_session"
	}
	return "__Host-gatehouse_session"
}

func (s *Server) sessionCookieName() string {
	return SessionCookieName(s.secure, s.cfg.CookieDomain)
}

func (s *Server) sessionToken(r *http.Request) string {
	c, err := r.Cookie(s.sessionCookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie sets the session cookie, for the hosts under
// CookieDomain when set (single sign-on across subdomains for
// forward-auth, docs/design.md §10.2). Every other cookie stays host-only.
func (s *Server) setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.sessionCookieName(),
		Value:    token,
		Path:     "/",
		Domain:   s.cfg.CookieDomain,
		Expires:  expires,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.sessionCookieName(),
		Value:    "",
		Path:     "/",
		Domain:   s.cfg.CookieDomain,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// cookieName gives a cookie the __Host- prefix over https.
func (s *Server) cookieName(base string) string {
	if s.secure {
		return "__Host-" + base
	}
	return base
}

func (s *Server) cookieValue(r *http.Request, base string) string {
	c, err := r.Cookie(s.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Server) setCookie(w http.ResponseWriter, base, value string, expires time.Time) {
	c := &http.Cookie{Name: s.cookieName(base), Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

const (
	pendingCookie  = "gatehouse_pending"
	rememberCookie = "gatehouse_remember"
)

// pendingToken is the pending sign-in the browser holds.
func (s *Server) pendingToken(r *http.Request) string { return s.cookieValue(r, pendingCookie) }

// rememberTokens are the remembered-browser tokens the browser holds: one
// per user remembered on it (a shared computer), newest first.
func (s *Server) rememberTokens(r *http.Request) []string {
	v := s.cookieValue(r, rememberCookie)
	if v == "" {
		return nil
	}
	tokens := strings.Split(v, ".")
	if len(tokens) > gatehouse.MaxRememberedPerBrowser {
		tokens = tokens[:gatehouse.MaxRememberedPerBrowser]
	}
	return tokens
}

// addRememberToken puts a new token first in the remember cookie, keeping
// at most MaxRememberedPerBrowser.
func (s *Server) addRememberToken(w http.ResponseWriter, r *http.Request, token string, until time.Time) {
	tokens := append([]string{token}, s.rememberTokens(r)...)
	if len(tokens) > gatehouse.MaxRememberedPerBrowser {
		tokens = tokens[:gatehouse.MaxRememberedPerBrowser]
	}
	// The cookie outlives the newest token's expiry only by the older
	// tokens' remaining life, which the server checks anyway.
	s.setCookie(w, rememberCookie, strings.Join(tokens, "."), until)
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
