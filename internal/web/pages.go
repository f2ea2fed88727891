package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds the parsed templates and the hashed name of each static
// asset, so assets can be cached forever and still change with a release.
type pages struct {
	cat    *catalog
	tmpl   map[string]map[string]*template.Template // lang -> page -> template
	assets map[string]string                        // "style.css" -> "style.3f2a….css"
	files  map[string][]byte                        // hashed name -> content
}

// formField is one labelled input of a settings form.
type formField struct {
	Name, Label, Value, Help, Error string
}

// pageNames are the templates under templates/, each with layout.html.
var pageNames = []string{"login", "home", "outbox", "error", "code", "phone", "account", "contact", "forgot", "reset", "message",
	"settings_password", "settings_users", "settings_user", "settings_audit", "settings_ldap", "settings_saml", "settings_reauth"}

func parsePages() (*pages, error) {
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	p := &pages{cat: cat, tmpl: make(map[string]map[string]*template.Template), assets: make(map[string]string), files: make(map[string][]byte)}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		dot := strings.LastIndexByte(e.Name(), '.')
		hashed := e.Name()[:dot] + "." + hex.EncodeToString(sum[:6]) + e.Name()[dot:]
		p.assets[e.Name()] = hashed
		p.files[hashed] = b
	}
	for _, lang := range cat.langs {
		funcs := template.FuncMap{
			"asset":   func(name string) string { return "/static/" + p.assets[name] },
			"time":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
			"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
			"browser": func(ua string) string { return cat.browser(lang, ua) },
			"addr":    addrString,
			"t":       func(key string, args ...any) string { return cat.T(lang, key, args...) },
			"lang":    func() string { return lang },
			"field": func(name, label, value, help, err string) formField {
				return formField{Name: name, Label: label, Value: value, Help: help, Error: err}
			},
		}
		p.tmpl[lang] = make(map[string]*template.Template)
		for _, name := range pageNames {
			files := []string{"templates/layout.html", "templates/" + name + ".html"}
			if strings.HasPrefix(name, "settings_") {
				files = append(files, "templates/settings_nav.html")
			}
			t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, files...)
			if err != nil {
				return nil, err
			}
			p.tmpl[lang][name] = t
		}
	}
	return p, nil
}

// renderPage executes a page into a buffer first, so a template error
// never leaves half a page on the wire.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	lang := s.lang(r)
	if err := s.pages.tmpl[lang][name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.ErrorContext(r.Context(), "template failed", "template", name, "error", err)
		http.Error(w, s.t(r, "error.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type langKey struct{}

// withProfileLang records the signed-in user's language for renderPage.
func withProfileLang(r *http.Request, lang string) *http.Request {
	if lang == "" {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), langKey{}, lang))
}

// lang is the language of the page for r.
func (s *Server) lang(r *http.Request) string {
	profile, _ := r.Context().Value(langKey{}).(string)
	return s.pages.cat.negotiate(profile, r)
}

// t translates key for the request's language, for text made in handlers.
func (s *Server) t(r *http.Request, key string, args ...any) string {
	return s.pages.cat.T(s.lang(r), key, args...)
}

// browser is browserName in lang. browserName, shared with the JSON API,
// answers in English ("Firefox on Windows", "Unknown browser"); of that
// only the joining words and "Unknown browser" are language.
func (c *catalog) browser(lang, ua string) string {
	name, system, _ := strings.Cut(browserName(ua), " on ")
	if name == "Unknown browser" {
		name = c.T(lang, "browser.unknown")
	}
	if system == "" {
		return name
	}
	return c.T(lang, "browser.on_system", name, system)
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	b, ok := s.pages.files[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	// With nosniff, a browser runs a script or applies a stylesheet only
	// when its type says so.
	switch path.Ext(r.PathValue("file")) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(b)
}

type errorPage struct {
	Status  int
	Message string
}

type loginPage struct {
	Organization string
	// FixedOrganization is set on /o/{slug}/login, where the slug is part
	// of the address and not asked for.
	FixedOrganization bool
	Email             string
	Error             string
	ErrorField        string
	Action            string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	data := loginPage{Action: "/login"}
	if slug := r.PathValue("slug"); slug != "" {
		// A SAML2 organization's users sign in at its identity provider.
		if s.cfg.Orgs != nil {
			if org, err := s.cfg.Orgs.OrganizationBySlug(r.Context(), slug); err == nil && org.Settings.AuthMethod == gatehouse.AuthSAML2 {
				http.Redirect(w, r, "/saml/"+org.Slug+"/login", http.StatusSeeOther)
				return nil
			}
		}
		data.Organization, data.FixedOrganization, data.Action = slug, true, "/o/"+slug+"/login"
	} else {
		data.Organization = r.URL.Query().Get("organization")
	}
	s.renderPage(w, r, http.StatusOK, "login", data)
	return nil
}

// loginSubmit is the HTML form's sign-in; it goes through the same
// signin.Service.Login as the JSON API.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form could not be read.")
	}
	data := loginPage{Action: "/login", Organization: r.PostForm.Get("organization"), Email: r.PostForm.Get("email")}
	if slug := r.PathValue("slug"); slug != "" {
		data.Organization, data.FixedOrganization, data.Action = slug, true, "/o/"+slug+"/login"
	}
	res, err := s.cfg.SignIn.Login(r.Context(), s.loginRequest(r, data.Organization, data.Email, r.PostForm.Get("password")))
	s.setLoginCookies(w, r, res)
	if res != nil && res.Pending != nil {
		if err != nil {
			// The code could not be sent; the code page offers a resend.
			return s.renderCodePage(w, r, http.StatusBadGateway, res.Pending, res.Organization, err)
		}
		if res.Pending.Status == signin.StatusPhoneRequired {
			http.Redirect(w, r, "/login/phone", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		}
		return nil
	}
	if err != nil {
		var ge *gatehouse.Error
		if !errors.As(err, &ge) {
			return err
		}
		if ge.Code == gatehouse.ESSOREQUIRED && ge.Location != "" {
			http.Redirect(w, r, ge.Location, http.StatusSeeOther)
			return nil
		}
		if ge.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
		}
		data.Error, data.ErrorField = s.errorText(r, ge), ge.Field
		s.renderPage(w, r, statusFor(ge.Code), "login", data)
		return nil
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

type homePage struct {
	User         *gatehouse.User
	Organization *gatehouse.Organization
	// Role and TwoFactor are the user's role and how this session passed
	// two-factor authentication, in words.
	Role, TwoFactor string
	AuthenticatedAt time.Time
}

// roleKeys and twoFactorKeys name the words for a role and a session's
// two-factor state; an unknown value is shown as it is.
var (
	roleKeys = map[gatehouse.Role]string{
		gatehouse.RoleAdmin:  "role.admin",
		gatehouse.RoleMember: "role.member",
	}
	twoFactorKeys = map[string]string{
		gatehouse.TwoFactorNotEnforced:    "two_factor.not_enforced",
		gatehouse.TwoFactorExempt:         "two_factor.exempt",
		gatehouse.TwoFactorAllowedNetwork: "two_factor.allowed_network",
		gatehouse.TwoFactorRemembered:     "two_factor.remembered",
		gatehouse.TwoFactorFederated:      "two_factor.federated",
		gatehouse.TwoFactorVerified:       "two_factor.verified",
	}
)

// words is the text of keys[value] for r, or value itself when keys has
// no entry for it.
func words[V ~string](s *Server, r *http.Request, keys map[V]string, value V) string {
	if key, ok := keys[value]; ok {
		return s.t(r, key)
	}
	return string(value)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.cfg.SignIn.Authenticate(r.Context(), s.sessionToken(r))
	if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	} else if err != nil {
		return err
	}
	r = withProfileLang(r, cur.User.Locale)
	s.renderPage(w, r, http.StatusOK, "home", homePage{User: cur.User, Organization: cur.Organization,
		Role: words(s, r, roleKeys, cur.User.Role), TwoFactor: words(s, r, twoFactorKeys, cur.Session.TwoFactorState),
		AuthenticatedAt: cur.Session.CreatedAt})
	return nil
}

func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.SignIn.Logout(r.Context(), s.sessionToken(r), s.cfg.ClientIP.ClientIP(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type outboxPage struct {
	Messages []*gatehouse.OutboxMessage
}

// outbox shows the development outbox; it is routed only in dev mode.
func (s *Server) outbox(w http.ResponseWriter, r *http.Request) error {
	msgs, err := s.cfg.Outbox.ListOutboxMessages(r.Context(), 50)
	if err != nil {
		return err
	}
	s.renderPage(w, r, http.StatusOK, "outbox", outboxPage{Messages: msgs})
	return nil
}
