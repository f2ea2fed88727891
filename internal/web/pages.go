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
	"net/url"
	"path"
	"strings"
	"sync"
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
	tmpl   map[string]map[string]*template.Template // lang -> page -> template, never executed
	assets map[string]string                        // "style.css" -> "style.3f2a….css"
	files  map[string][]byte                        // hashed name -> content

	// zoned holds, by language, page and time zone, the clones that show
	// times in that zone; html/template escapes a template at its first
	// execution, so each clone is made once and kept. Bounded by
	// maxZonedPages; past it a page is cloned for the one render.
	mu    sync.Mutex
	zoned map[zonedPage]*template.Template
}

type zonedPage struct{ lang, name, zone string }

const maxZonedPages = 4096

// page returns the template of name in lang that shows times in loc.
func (p *pages) page(lang, name string, loc *time.Location) (*template.Template, error) {
	k := zonedPage{lang, name, loc.String()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.zoned[k]; ok {
		return t, nil
	}
	t, err := p.tmpl[lang][name].Clone()
	if err != nil {
		return nil, err
	}
	t.Funcs(template.FuncMap{"time": timeIn(loc)})
	if p.zoned == nil {
		p.zoned = make(map[zonedPage]*template.Template)
	}
	if len(p.zoned) < maxZonedPages {
		p.zoned[k] = t
	}
	return t, nil
}

// formField is one labelled input of a settings form.
type formField struct {
	Name, Label, Value, Help, Error string
}

// pageNames are the templates under templates/, each with layout.html.
var pageNames = []string{"login", "home", "outbox", "error", "code", "phone", "account", "contact", "forgot", "reset", "message",
	"settings_password", "settings_users", "settings_user", "settings_audit", "settings_ldap", "settings_saml", "settings_reauth", "settings_org", "settings_orgs"}

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
			"time":    timeIn(time.UTC), // renderPage gives each page its organization's zone
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
	// The parsed pages are never executed: each page is a clone with the
	// time zone of its organization (or the server's).
	t, err := s.pages.page(lang, name, zoneOf(r))
	if err == nil {
		err = t.ExecuteTemplate(&buf, "layout", data)
	}
	if err != nil {
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

// lang is the language of the page for r: on the sign-in pages the one an
// application asked for (signInLang), else the user's, else the browser's.
func (s *Server) lang(r *http.Request) string {
	if lang := s.signInLang(r); lang != "" {
		return lang
	}
	profile, _ := r.Context().Value(langKey{}).(string)
	return s.pages.cat.negotiate(profile, r)
}

// t translates key for the request's language, for text made in handlers.
func (s *Server) t(r *http.Request, key string, args ...any) string {
	return s.pages.cat.T(s.lang(r), key, args...)
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

// formError splits err into what a page shows: the message in the
// request's language, the field it belongs to and the status. Anything
// that is not a *gatehouse.Error is returned as is, for the renderer's
// "internal error".
func (s *Server) formError(w http.ResponseWriter, r *http.Request, err error) (msg, field string, status int, internal error) {
	var ge *gatehouse.Error
	if !errors.As(err, &ge) {
		return "", "", 0, err
	}
	if ge.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
	}
	return s.errorText(r, ge), ge.Field, statusFor(ge.Code), nil
}

// withChannel names the channel of a failed delivery as the error's field
// ("email", "sms"), so the page can say which message did not go out: the
// services say it only in the English words of the message.
func withChannel(err error, method string) error {
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != gatehouse.EDELIVERYFAILED || ge.Field != "" {
		return err
	}
	named := *ge
	named.Field = method
	return &named
}

// errorMessage is the text of err for a page, in the page's language.
func (s *Server) errorMessage(r *http.Request, err error) string {
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return s.errorText(r, ge)
	}
	return s.t(r, "error.internal")
}

type messagePage struct {
	Title, Message, Link, LinkText string
}

// settingsNav is what every settings page shows above its content.
type settingsNav struct {
	Section string // "password", "users", "audit", "organization", "organizations"
	Org     *gatehouse.Organization
	Me      *gatehouse.User
	// Switch is, for a group admin, every organization they may
	// administer, the one shown among them.
	Switch []*gatehouse.Organization
}

// newNav is the navigation of a settings page about cur.Organization. A
// group admin's own organization is one of the group's, so Managed lists
// it too.
func newNav(cur *signin.Current, section string) settingsNav {
	return settingsNav{Section: section, Org: cur.Organization, Me: cur.User, Switch: cur.Managed}
}

// Other reports whether the page is about another organization than the
// admin's own, whose slug then rides along in every link (?org=).
func (n settingsNav) Other() bool { return n.Org != nil && n.Me != nil && n.Org.ID != n.Me.OrgID }

// URL is path within the console for the organization the page is about.
func (n settingsNav) URL(path string) template.URL {
	return template.URL(consolePath(n.Org, n.Me, path)) // a path of ours with an encoded value
}

// consolePath is path with ?org= (or &org=) naming org when that is not
// me's own organization.
func consolePath(org *gatehouse.Organization, me *gatehouse.User, path string) string {
	if org == nil || me == nil || org.ID == me.OrgID {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "org=" + url.QueryEscape(org.Slug)
}

// settingsURL is consolePath for the organization cur is about.
func settingsURL(cur *signin.Current, path string) string {
	return consolePath(cur.Organization, cur.User, path)
}

// pageNotFound answers every path that no route takes.
func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request) error {
	return errNoSuchPage()
}

// timeIn formats a time for a page in loc, naming the zone.
func timeIn(loc *time.Location) func(time.Time) string {
	return func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }
}

type zoneKey struct{}

// withZone records for renderPage the time zone of the organization a page
// is about: its own setting, else the server's.
func withZone(r *http.Request, org *gatehouse.Organization) *http.Request {
	if org == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), zoneKey{}, orgZone(org)))
}

// orgZone is the organization's time zone; an unset or unknown one is the
// server's (time.Local).
func orgZone(org *gatehouse.Organization) *time.Location {
	if org.TimeZone != "" {
		if loc, err := time.LoadLocation(org.TimeZone); err == nil {
			return loc
		}
	}
	return time.Local
}

func zoneOf(r *http.Request) *time.Location {
	if loc, ok := r.Context().Value(zoneKey{}).(*time.Location); ok {
		return loc
	}
	return time.Local
}
