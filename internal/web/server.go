// Package web is Gatehouse's HTTP face: the sign-in pages, the JSON API
// under /api/v1, health and metrics, and the middleware every request goes
// through (security headers, bounded bodies, cross-origin protection,
// logging). Handlers return errors to one renderer that answers in HTML or
// JSON by route and never shows an internal detail.
//
// The package never imports the storage adapter: it consumes the signin
// service and a few narrow interfaces.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// SignIn is what the web layer needs of the sign-in service.
type SignIn interface {
	Login(ctx context.Context, req signin.LoginRequest) (*signin.LoginResult, error)
	Authenticate(ctx context.Context, token string) (*signin.Current, error)
	Logout(ctx context.Context, token string, ip netip.Addr) error
	Verify(ctx context.Context, req signin.VerifyRequest) (*signin.LoginResult, error)
	Resend(ctx context.Context, pendingToken string, ip netip.Addr) (*signin.Pending, error)
	Phone(ctx context.Context, pendingToken, phone string, ip netip.Addr) (*signin.Pending, error)
	Cancel(ctx context.Context, pendingToken string) error
	PendingState(ctx context.Context, pendingToken string) (*signin.Pending, *gatehouse.Organization, error)
	RememberedBrowsers(ctx context.Context, cur *signin.Current) ([]*gatehouse.RememberedBrowser, error)
	RevokeBrowser(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) error
	StartContactChange(ctx context.Context, cur *signin.Current, kind, value, password string, ip netip.Addr, userAgent string) (*signin.ContactChange, error)
	VerifyContactChange(ctx context.Context, cur *signin.Current, id, code string, ip netip.Addr) (*signin.ContactChange, error)
	ResendContactChange(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) (*signin.ContactChange, error)
	ContactState(ctx context.Context, cur *signin.Current, id string) (*signin.ContactChange, string, error)
	FederatedLogin(ctx context.Context, org *gatehouse.Organization, id signin.Identity, ip netip.Addr, userAgent, previousSession string) (*signin.LoginResult, error)
	FederatedFailed(ctx context.Context, org *gatehouse.Organization, reason, why string, ip netip.Addr)
	RecentlyAuthenticated(cur *signin.Current) bool
	StartReauth(ctx context.Context, cur *signin.Current, password string, ip netip.Addr) (*signin.Reauth, error)
	VerifyReauth(ctx context.Context, cur *signin.Current, id, code string, ip netip.Addr) (*signin.Reauth, error)
	ResendReauth(ctx context.Context, cur *signin.Current, id string, ip netip.Addr) (*signin.Reauth, error)
	Sessions(ctx context.Context, cur *signin.Current) ([]signin.SessionInfo, error)
	EndSession(ctx context.Context, cur *signin.Current, publicID string, ip netip.Addr) error
	EndOtherSessions(ctx context.Context, cur *signin.Current, ip netip.Addr) (int64, error)
}

// Accounts is what the web layer needs of account management
// (internal/accounts).
type Accounts interface {
	UpdateSettings(ctx context.Context, orgSlug string, change accounts.SettingsChange, actor accounts.Actor) (*gatehouse.Organization, error)
	UsersPage(ctx context.Context, orgSlug, cursor string, limit int) ([]*gatehouse.User, string, error)
	ResetTwoFactor(ctx context.Context, orgSlug, userID string, actor accounts.Actor) (int64, error)
	Unlock(ctx context.Context, orgSlug, userID string, actor accounts.Actor) error
	SetExempt(ctx context.Context, orgSlug, userID string, exempt bool, actor accounts.Actor) (*gatehouse.User, error)
	SetDisabled(ctx context.Context, orgSlug, userID string, disabled bool, actor accounts.Actor) (*gatehouse.User, error)
	AuditPage(ctx context.Context, orgSlug string, before int64, limit int) ([]*gatehouse.AuditEvent, int64, error)
	ForgotPassword(ctx context.Context, orgSlug, email string, ip netip.Addr) error
	PasswordResetUser(ctx context.Context, token string) (*gatehouse.Organization, *gatehouse.User, error)
	ResetPassword(ctx context.Context, token, password string, ip netip.Addr) error
}

// Pinger reports whether the database answers, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Outbox lists the development outbox, for /dev/outbox.
type Outbox interface {
	ListOutboxMessages(ctx context.Context, limit int) ([]*gatehouse.OutboxMessage, error)
}

// ClientIPResolver finds the client address of a request through the
// trusted-proxy rules (internal/clientip).
type ClientIPResolver interface {
	ClientIP(r *http.Request) netip.Addr
}

// Metrics receives request measurements (internal/metrics).
type Metrics interface {
	Request(route, method, code string, d time.Duration)
	Handler() http.Handler
}

// Config is everything the web layer is built from.
type Config struct {
	SignIn   SignIn
	Accounts Accounts
	Console  Console
	// Federation is optional: without it LDAP and SAML2 cannot be set up.
	// Orgs is needed with it, for the SAML2 endpoints.
	Federation Federation
	Orgs       OrgLookup
	// SMSAvailable says whether an SMS provider is configured, for the
	// settings page.
	SMSAvailable bool
	Ready        Pinger
	Outbox       Outbox // used only in dev mode
	ClientIP     ClientIPResolver
	Metrics      Metrics // optional

	// PublicURL is the address users see. An https URL makes cookies
	// Secure with the __Host- prefix and turns on HSTS.
	PublicURL *url.URL
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
		samlLim: newNetworkLimiter(cfg.SAMLPerMinute, maxLimitedNetworks, cfg.Now)}
	s.routes()

	cop := http.NewCrossOriginProtection()
	if o := cfg.PublicURL.Scheme + "://" + cfg.PublicURL.Host; cfg.PublicURL.Host != "" {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("web: trusted origin %q: %w", o, err)
		}
	}
	// The identity provider's page posts the SAML response to the ACS from
	// its own origin: that one route is exempt from the check.
	cop.AddInsecureBypassPattern("POST /saml/{slug}/acs")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, isAPI(r), gatehouse.Errorf(gatehouse.EFORBIDDEN, "Cross-origin request refused."))
	}))
	s.handler = s.recoverPanics(s.securityHeaders(s.limitBody(s.withDeadline(cop.Handler(s.mux)))))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes registers every route. Each is wrapped with its own pattern, so
// logs and metrics name the route and never the raw path.
func (s *Server) routes() {
	// JSON API.
	s.api("POST /api/v1/login", s.apiLogin)
	s.api("GET /api/v1/session", s.apiSession)
	s.api("POST /api/v1/logout", s.apiLogout)
	s.api("POST /api/v1/session/reauthenticate", s.signedIn(s.apiReauthenticate))
	s.api("POST /api/v1/session/reauthenticate/resend", s.signedIn(s.apiReauthResend))
	s.api("POST /api/v1/login/verify", s.apiVerify)
	s.api("POST /api/v1/login/resend", s.apiResend)
	s.api("POST /api/v1/login/phone", s.apiPhone)
	s.api("POST /api/v1/login/cancel", s.apiCancel)
	s.api("POST /api/v1/password/forgot", s.apiForgot)
	s.api("POST /api/v1/password/reset", s.apiReset)
	s.api("GET /api/v1/account/remembered-browsers", s.signedIn(s.apiBrowsers))
	s.api("DELETE /api/v1/account/remembered-browsers", s.signedIn(s.apiRevokeAllBrowsers))
	s.api("DELETE /api/v1/account/remembered-browsers/{id}", s.signedIn(s.apiRevokeBrowser))
	s.api("GET /api/v1/account/sessions", s.signedIn(s.apiSessions))
	s.api("DELETE /api/v1/account/sessions/{id}", s.signedIn(s.apiEndSession))
	s.api("POST /api/v1/account/sessions/end-others", s.signedIn(s.apiEndOtherSessions))
	s.api("POST /api/v1/account/contact", s.signedIn(s.apiContactStart))
	s.api("POST /api/v1/account/contact/verify", s.signedIn(s.apiContactVerify))
	s.api("POST /api/v1/account/contact/resend", s.signedIn(s.apiContactResend))
	s.api("GET /api/v1/organizations/{slug}/password-settings", s.admin(s.apiGetSettings))
	s.api("PUT /api/v1/organizations/{slug}/password-settings", s.admin(s.apiPutSettings))
	s.api("GET /api/v1/organizations/{slug}/users", s.admin(s.apiUsers))
	s.api("POST /api/v1/organizations/{slug}/users/{id}/reset-two-factor", s.admin(s.apiResetTwoFactor))
	s.api("POST /api/v1/organizations/{slug}/users/{id}/unlock", s.admin(s.apiUnlock))
	s.api("PUT /api/v1/organizations/{slug}/users/{id}/two-factor-exemption", s.admin(s.apiExempt))
	s.api("PUT /api/v1/organizations/{slug}/users/{id}/disabled", s.admin(s.apiDisabled))
	s.api("GET /api/v1/organizations/{slug}/audit-events", s.admin(s.apiAudit))
	if s.cfg.Federation != nil {
		s.api("GET /api/v1/organizations/{slug}/ldap", s.admin(s.apiGetLDAP))
		s.api("PUT /api/v1/organizations/{slug}/ldap", s.admin(s.apiPutLDAP))
		s.api("GET /api/v1/organizations/{slug}/saml", s.admin(s.apiGetSAML))
		s.api("PUT /api/v1/organizations/{slug}/saml", s.admin(s.apiPutSAML))
		s.samlRoutes()
	}
	s.api("/api/", func(w http.ResponseWriter, r *http.Request) error {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such API call.")
	})

	// Pages.
	s.page("GET /{$}", s.home)
	s.page("GET /login", s.loginPage)
	s.page("POST /login", s.loginSubmit)
	s.page("GET /o/{slug}/login", s.loginPage)
	s.page("POST /o/{slug}/login", s.loginSubmit)
	s.page("POST /logout", s.logoutSubmit)
	s.page("GET /login/code", s.codePage)
	s.page("POST /login/code", s.codeSubmit)
	s.page("POST /login/resend", s.resendSubmit)
	s.page("POST /login/cancel", s.cancelSubmit)
	s.page("GET /login/phone", s.phonePage)
	s.page("POST /login/phone", s.phoneSubmit)
	s.page("GET /forgot-password", s.forgotPage)
	s.page("POST /forgot-password", s.forgotSubmit)
	s.page("GET /reset-password", s.resetPage)
	s.page("POST /reset-password", s.resetSubmit)
	s.page("GET /account", s.pageSignedIn(s.accountPage))
	s.page("POST /account/browsers/{id}/revoke", s.pageSignedIn(s.revokeBrowserSubmit))
	s.page("POST /account/browsers/revoke-all", s.pageSignedIn(s.revokeAllSubmit))
	s.page("POST /account/sessions/{id}/end", s.pageSignedIn(s.endSessionSubmit))
	s.page("POST /account/sessions/end-others", s.pageSignedIn(s.endOtherSessionsSubmit))
	s.page("POST /account/sessions/end-all", s.pageSignedIn(s.endAllSessionsSubmit))
	s.page("POST /account/contact", s.pageSignedIn(s.contactStartSubmit))
	s.page("GET /account/contact/{id}", s.pageSignedIn(s.contactPage))
	s.page("POST /account/contact/{id}", s.pageSignedIn(s.contactVerifySubmit))
	s.page("POST /account/contact/{id}/resend", s.pageSignedIn(s.contactResendSubmit))
	s.adminRoutes()
	if s.cfg.Dev {
		s.page("GET /dev/outbox", s.outbox)
	}
	s.route("GET /static/{file}", http.HandlerFunc(s.static))
	s.page("/", func(w http.ResponseWriter, r *http.Request) error {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "This page does not exist.")
	})

	// Operations.
	s.route("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	}))
	s.route("GET /readyz", http.HandlerFunc(s.readyz))
	if s.cfg.Metrics != nil {
		s.route("GET /metrics", s.cfg.Metrics.Handler())
	}
}

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
			slog.Int("status", rec.status), slog.Duration("duration", d),
			slog.String("client_ip", s.cfg.ClientIP.ClientIP(r).String()))
	}))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.cfg.Ready.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "database unavailable")
		return
	}
	fmt.Fprintln(w, "ok")
}

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
