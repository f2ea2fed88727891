package web

import (
	"context"
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
	if s.cookieValue(r, uiLangCookie) != "" { // so is an application's language
		s.setCookie(w, uiLangCookie, "", time.Time{})
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

// uiLangCookie holds, during a sign-in, the language an application asked
// the sign-in pages to speak (OIDC ui_locales, arriving as ?ui_locales= on
// the sign-in page): one of the catalog's, never a stored preference. It
// lives and goes with the return cookie and is read on the sign-in pages
// only, so the rest of the site keeps the user's own language.
const uiLangCookie = "gatehouse_ui_lang"

type uiLangKey struct{}

// rememberUILocales keeps the first language of the sign-in page's
// ?ui_locales= (space-separated BCP 47 tags) that the catalog has, for the
// steps after it, and returns r speaking it. A sign-in page without one, or
// with none we have, forgets an older one.
func (s *Server) rememberUILocales(w http.ResponseWriter, r *http.Request) *http.Request {
	lang := s.pages.cat.firstOf(r.URL.Query().Get("ui_locales"))
	if lang != "" {
		s.setCookie(w, uiLangCookie, lang, s.cfg.Now().Add(returnLifetime))
	} else if s.cookieValue(r, uiLangCookie) != "" {
		s.setCookie(w, uiLangCookie, "", time.Time{})
	}
	return r.WithContext(context.WithValue(r.Context(), uiLangKey{}, lang))
}

// signInLang is the language an application asked of this sign-in, ""
// when none or r is not a sign-in page.
func (s *Server) signInLang(r *http.Request) string {
	if lang, ok := r.Context().Value(uiLangKey{}).(string); ok {
		return lang
	}
	if !signInPath(r.URL.Path) {
		return ""
	}
	if lang := s.cookieValue(r, uiLangCookie); s.pages.cat.messages[lang] != nil {
		return lang
	}
	return ""
}

// signInPath reports whether path is one of the sign-in pages: /login,
// /o/{slug}/login, and the code and phone steps under /login/.
func signInPath(path string) bool {
	if path == "/login" || strings.HasPrefix(path, "/login/") {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/o/")
	slug, tail, _ := strings.Cut(rest, "/")
	return ok && slug != "" && tail == "login"
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
