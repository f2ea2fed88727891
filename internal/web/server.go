// Package web is Gatehouse's HTTP face: the sign-in pages, the JSON API
// under /api/v1, health and metrics, and the middleware every request goes
// through (security headers, bounded bodies, cross-origin protection,
// logging). Handlers return errors to one renderer that answers in HTML or
// JSON by route and never shows an internal detail.
//
// The package never imports the storage adapter: it declares what it
// consumes of the services as small interfaces, by capability
// (services.go); every route is in one table (routes.go).
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Config is everything the web layer is built from.
type Config struct {
	SignIn   SignIn
	Accounts Accounts
	Console  Console
	// Federation is optional: without it LDAP and SAML2 cannot be set up.
	// Orgs is needed with it, for the SAML2 endpoints; with it the sign-in
	// page of /o/{slug}/login shows the organization's name (else its slug).
	Federation Federation
	Orgs       OrgLookup
	// SMSAvailable says whether an SMS provider is configured, for the
	// settings page.
	SMSAvailable bool
	Ready        Pinger
	Outbox       Outbox // used only in dev mode
	ClientIP     ClientIPResolver
	Metrics      Metrics // optional
	// OIDC is the OpenID Connect provider (internal/oidc), optional: it
	// answers /.well-known/openid-configuration and /oauth2/.
	OIDC http.Handler

	// PublicURL is the address users see. An https URL makes cookies
	// Secure with the __Host- prefix and turns on HSTS.
	PublicURL *url.URL
	// CookieDomain, when set, shares the session cookie with every host
	// under it, for forward-auth's single sign-on across subdomains
	// (SessionCookieName). Empty keeps it host-only.
	CookieDomain string
	// ReturnURLs, when set, lets the sign-in pages send the browser back
	// to an address a proxy's forward-auth asked for (?rd=); without it
	// they always go to the home page.
	ReturnURLs ReturnURLs
	// ForwardAuth, when set, answers the reverse proxies at /auth/forward
	// and /auth/request.
	ForwardAuth ForwardAuth
	// Dev turns on the outbox page at /dev/outbox.
	Dev    bool
	Logger *slog.Logger
	// MaxBodyBytes bounds every request body (default 64 KiB) but the
	// SAML2 ACS's, which is saml.MaxResponseForm.
	MaxBodyBytes int64
	// RequestTimeout bounds the work of one request (default 15 s).
	RequestTimeout time.Duration
	// SAMLPerMinute bounds the anonymous SAML2 login and ACS requests of
	// one client network on this node (default 30 a minute, as a burst).
	SAMLPerMinute int
	// Now is time.Now when nil.
	Now func() time.Time
}

// Server is Gatehouse's http.Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	secure  bool
	mux     *http.ServeMux
	handler http.Handler
	pages   *pages
	samlLim *networkLimiter
	csp     string // the Content-Security-Policy of every answer

	// The services by capability (services.go), taken from Config's
	// service fields, so a handler names only the capability it uses.
	auth      SessionAuth
	login     CodeSignIn
	federated FederatedSignIn
	reauth    Reauthenticator
	sessions  SessionList
	browsers  BrowserList
	contacts  ContactChanger

	settings  SettingsEditor
	orgs      OrgEditor
	userAdmin UserAdmin
	auditLog  AuditLog
	resets    PasswordReset

	coverage    CoverageReporter
	users       UserConsole
	auditSearch AuditSearcher
	locales     LocaleSetter

	fedSetup FederationSetup // nil without a Federation
	samlSPs  SAMLProviders   // nil without a Federation
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	if cfg.SignIn == nil || cfg.Accounts == nil || cfg.Console == nil || cfg.Ready == nil || cfg.ClientIP == nil || cfg.PublicURL == nil {
		return nil, errors.New("web: SignIn, Accounts, Console, Ready, ClientIP and PublicURL are required")
	}
	if cfg.Federation != nil && cfg.Orgs == nil {
		return nil, errors.New("web: Federation needs Orgs")
	}
	if cfg.Dev && cfg.Outbox == nil {
		return nil, errors.New("web: dev mode needs an Outbox")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SAMLPerMinute <= 0 {
		cfg.SAMLPerMinute = 30
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, secure: cfg.PublicURL.Scheme == "https", mux: http.NewServeMux(), pages: p,
		samlLim: newNetworkLimiter(cfg.SAMLPerMinute, maxLimitedNetworks, cfg.Now),
		csp: "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action " + formAction(cfg.ReturnURLs) +
			"; frame-ancestors 'none'; base-uri 'none'",

		auth:      cfg.SignIn,
		login:     cfg.SignIn,
		federated: cfg.SignIn,
		reauth:    cfg.SignIn,
		sessions:  cfg.SignIn,
		browsers:  cfg.SignIn,
		contacts:  cfg.SignIn,

		settings:  cfg.Accounts,
		orgs:      cfg.Accounts,
		userAdmin: cfg.Accounts,
		auditLog:  cfg.Accounts,
		resets:    cfg.Accounts,

		coverage:    cfg.Console,
		users:       cfg.Console,
		auditSearch: cfg.Console,
		locales:     cfg.Console,

		fedSetup: cfg.Federation,
		samlSPs:  cfg.Federation,
	}
	s.routes()

	cop := http.NewCrossOriginProtection()
	if o := cfg.PublicURL.Scheme + "://" + cfg.PublicURL.Host; cfg.PublicURL.Host != "" {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("web: trusted origin %q: %w", o, err)
		}
	}
	// The identity provider's page posts the SAML response to the ACS from
	// its own origin: that one route is exempt from the check.
	cop.AddInsecureBypassPattern(samlACSRoute)
	// The provider's back-channel endpoints take no cookie, only client
	// credentials or tokens: a single-page application calls them from
	// its own origin.
	if cfg.OIDC != nil {
		for _, p := range oidcCrossOriginRoutes {
			cop.AddInsecureBypassPattern(p)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, isAPI(r), gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonCrossOrigin, "Cross-origin request refused."))
	}))
	s.handler = s.recoverPanics(s.securityHeaders(s.limitBody(s.withDeadline(cop.Handler(s.mux)))))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// api registers a JSON route; page an HTML one.
func (s *Server) api(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
	s.route(pattern, s.errorHandler(true, fn))
}

func (s *Server) page(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
	s.route(pattern, s.errorHandler(false, fn))
}

func (s *Server) errorHandler(api bool, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.renderError(w, r, api, err)
		}
	})
}

// route wraps h with logging and metrics under its pattern.
func (s *Server) route(pattern string, h http.Handler) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		d := time.Since(start)
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.Request(pattern, r.Method, strconv.Itoa(rec.status), d)
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", pattern), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Float64("duration_ms", milliseconds(d)),
			slog.String("client_ip", s.cfg.ClientIP.ClientIP(r).String()))
	}))
}

// milliseconds states d for a log line as a number in its unit (JSON has
// no duration type, and slog would write nanoseconds), to the microsecond.
func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
