// Package oidc is Gatehouse's OpenID Connect provider (docs/design.md §10.1): a
// front door beside internal/web that lets applications sign their users in
// through Gatehouse. github.com/zitadel/oidc/v3 (pkg/op) speaks the
// protocol; this package decides what is stored (storage.go), which keys
// sign (keys.go) and when a browser's Gatehouse session may answer an
// authorize request (login.go).
//
// Everything lives in the database, so any node can finish any step:
// authorize on one, token on another.
package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

// The provider's paths (docs/design.md §10.1). loginPath is Gatehouse's own
// hand-off page between the authorize endpoint and the sign-in pages.
const (
	authorizePath  = "oauth2/authorize"
	tokenPath      = "oauth2/token"
	userinfoPath   = "oauth2/userinfo"
	revokePath     = "oauth2/revoke"
	introspectPath = "oauth2/introspect"
	logoutPath     = "oauth2/logout"
	jwksPath       = "oauth2/jwks"
	loginPath      = "/oauth2/login"
	callbackPath   = "/oauth2/authorize/callback"
)

// Store is what the provider keeps and reads.
type Store interface {
	gatehouse.OAuthStore
	OrganizationByID(ctx context.Context, id string) (*gatehouse.Organization, error)
	UserByID(ctx context.Context, orgID, id string) (*gatehouse.User, error)
	Ping(ctx context.Context) error
}

// Sessions are the browser's Gatehouse sessions (signin.Service).
type Sessions interface {
	// Authenticate returns EUNAUTHORIZED for no valid session.
	Authenticate(ctx context.Context, token string) (*signin.Current, error)
	// CheckSession checks the session a token came from, by its public
	// id, as Authenticate would (the user, the organization's policy);
	// EUNAUTHORIZED when it no longer holds.
	CheckSession(ctx context.Context, publicID string) (*signin.Current, error)
	Logout(ctx context.Context, token string, ip netip.Addr) error
}

// Browser reads and sets the browser's Gatehouse cookies (web.Browser).
type Browser interface {
	SessionToken(r *http.Request) string
	// SetStepUp makes the sign-in ask for a code even where an allowed
	// network or a remembered browser would skip it.
	SetStepUp(w http.ResponseWriter)
}

// ClientIPResolver gives a request's client address.
type ClientIPResolver interface {
	ClientIP(r *http.Request) netip.Addr
}

// Config is everything the provider is built from.
type Config struct {
	Store    Store
	Sessions Sessions
	Browser  Browser
	ClientIP ClientIPResolver
	// Keys hash what is stored and seal the signing keys.
	Keys *keyring.Ring
	// Issuer is the public URL (GATEHOUSE_PUBLIC_URL).
	Issuer *url.URL
	Logger *slog.Logger
	// HTTPClient posts back-channel logout tokens; by default one that
	// gives up after 5 seconds and follows no redirect.
	HTTPClient *http.Client
	// Now is time.Now and Rand crypto/rand.Reader when nil.
	Now  func() time.Time
	Rand io.Reader
}

// Provider is the OpenID Connect provider: an http.Handler for
// /.well-known/openid-configuration and /oauth2/.
type Provider struct {
	cfg     Config
	log     *slog.Logger
	issuer  string
	keys    *keys
	op      *op.Provider
	handler http.Handler
	// wake asks Run for a back-channel logout now (tellSoon).
	wake chan struct{}
}

// New builds the provider; at the first start it makes the signing keys.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Store == nil || cfg.Sessions == nil || cfg.Browser == nil || cfg.ClientIP == nil || cfg.Keys == nil || cfg.Issuer == nil {
		return nil, errors.New("oidc: Store, Sessions, Browser, ClientIP, Keys and Issuer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: logoutTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	p := &Provider{cfg: cfg, log: cfg.Logger, issuer: strings.TrimSuffix(cfg.Issuer.String(), "/"), wake: make(chan struct{}, 1)}
	p.keys = newKeys(cfg.Store, cfg.Keys, cfg.Now, cfg.Rand)
	if err := p.keys.ensure(ctx); err != nil {
		return nil, err
	}
	// Codes and access tokens are the library's AES-GCM of our random IDs,
	// under a key derived from the server's current key: every node makes
	// and reads the same ones.
	var cryptoKey [32]byte
	copy(cryptoKey[:], cfg.Keys.Hash("oidc token encryption")[keyring.IDLength:])
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(authorizePath), op.NewEndpoint(tokenPath), op.NewEndpoint(userinfoPath),
			op.NewEndpoint(revokePath), op.NewEndpoint(logoutPath), op.NewEndpoint(jwksPath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(introspectPath)),
		op.WithHttpInterceptors(p.intercept),
		op.WithCORSOptions(nil), // allowCORS instead
	}
	if cfg.Issuer.Scheme == "http" {
		// Development and tests on loopback; the public URL is https in
		// production.
		opts = append(opts, op.WithAllowInsecure())
	}
	var err error
	p.op, err = op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              cfg.Keys.CurrentID(),
		DefaultLogoutRedirectURI: "/login",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          []string{"openid", "profile", "email", "phone", "offline_access"},
		SupportedClaims:          append(append([]string{}, op.DefaultSupportedClaims...), "sid", "organization", "role", "two_factor"),
		// backchannel.go; the logout token carries sid.
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
	}, &storage{p: p}, op.StaticIssuer(p.issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, p.login)
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.Handle("/", p.op)
	p.handler = allowCORS(mux)
	return p, nil
}

// allowCORS lets any origin call the provider's endpoints and read their
// answers (single-page applications), never with the browser's cookies:
// "*" rules credentials out. The library's own CORS (github.com/rs/cors,
// any origin with credentials by default) is turned off.
func allowCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Accept-Language")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// discovery is the library's discovery document without what Gatehouse
// does not offer, which the library advertises regardless: the implicit
// flow and its response types, the JWT bearer grant and device
// authorization (docs/design.md §10.1: authorization code only).
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	d := op.CreateDiscoveryConfig(op.ContextWithIssuer(r.Context(), p.issuer), p.op, &storage{p: p})
	d.ResponseTypesSupported = []string{string(zoidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(zoidc.ResponseModeQuery), string(zoidc.ResponseModeFormPost)}
	d.GrantTypesSupported = []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken}
	d.DeviceAuthorizationEndpoint = ""
	d.RevocationEndpointAuthMethodsSupported = []zoidc.AuthMethod{zoidc.AuthMethodNone, zoidc.AuthMethodBasic, zoidc.AuthMethodPost}
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	op.Discover(w, d)
}

// formPostCSP is the content security policy of the authorize callback.
const formPostCSP = "default-src 'none'; script-src 'unsafe-inline'; form-action *; frame-ancestors 'none'; base-uri 'none'"

// allowedGrants are the token endpoint's grants; the library would also
// try the JWT bearer grant.
var allowedGrants = []string{string(zoidc.GrantTypeCode), string(zoidc.GrantTypeRefreshToken)}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// Issuer returns the issuer every token names.
func (p *Provider) Issuer() string { return p.issuer }

func (p *Provider) loginURL(id string) string { return loginPath + "?id=" + url.QueryEscape(id) }

// reqInfo is what the storage needs of the HTTP request the library does
// not pass it: set by intercept, one per request.
type reqInfo struct {
	organization string // organization=SLUG of an authorize request
	sessionToken string
	ip           netip.Addr
	// alg is the signing algorithm of the request's client, noted when
	// the library loads the client.
	alg string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	if i, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

func (p *Provider) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqInfo{sessionToken: p.cfg.Browser.SessionToken(r), ip: p.cfg.ClientIP.ClientIP(r)}
		switch r.URL.Path {
		case "/" + authorizePath:
			if r.ParseForm() == nil {
				info.organization = r.Form.Get("organization")
				if rt := r.Form.Get("response_type"); rt != "" && rt != string(zoidc.ResponseTypeCode) {
					w = &responseTypeRefusal{ResponseWriter: w}
				}
			}
		case callbackPath:
			// The callback's answer in response_mode=form_post is the
			// library's page that posts the code to the client's redirect
			// URI from an onload handler: the server-wide policy (no
			// inline script, forms to this origin only) would stop it.
			// Everything the callback answers is the library's, with the
			// values escaped.
			w.Header().Set("Content-Security-Policy", formPostCSP)
		case "/" + tokenPath:
			if r.ParseForm() == nil && !slices.Contains(allowedGrants, r.PostForm.Get("grant_type")) {
				httphelper.MarshalJSONWithStatus(w, zoidc.ErrUnsupportedGrantType(), http.StatusBadRequest)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		if r.URL.Path == "/"+userinfoPath {
			userinfoAnswer(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// userinfoAnswer serves userinfo and answers a refused token as RFC 6750
// says: 401 with WWW-Authenticate, error invalid_token, where the library
// answers a token that is not live (unknown, expired, its session ended)
// with 403 access_denied; a storage failure is 503, not 403.
func userinfoAnswer(w http.ResponseWriter, r *http.Request, next http.Handler) {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	switch {
	case rec.status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		if r.Header.Get("Authorization") == "" && r.FormValue("access_token") == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
	case rec.status == http.StatusForbidden && json.Unmarshal(rec.body.Bytes(), &body) == nil:
		switch body.Error {
		case string(zoidc.AccessDenied):
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			httphelper.MarshalJSONWithStatus(w, map[string]string{"error": "invalid_token", "error_description": body.Description}, http.StatusUnauthorized)
			return
		case string(zoidc.ServerError):
			w.Header().Set("Retry-After", "5")
			rec.status = http.StatusServiceUnavailable
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// recorder keeps a small answer to look at before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

// Run tells the clients of ended sessions (back-channel logout) every
// logoutPoll, and at once when this node signs a browser out at
// /oauth2/logout; every ten minutes it removes expired requests and tokens
// and rotates the signing keys on schedule; until ctx ends. All of it is
// one goroutine, so a burst of logouts never starts more.
func (p *Provider) Run(ctx context.Context) {
	t := time.NewTicker(logoutPoll)
	defer t.Stop()
	const cleanUpEvery = int(10 * time.Minute / logoutPoll)
	for tick := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			p.backChannelLogout(ctx)
			continue
		case <-t.C:
			tick++
		}
		p.backChannelLogout(ctx)
		if tick%cleanUpEvery != 0 {
			continue
		}
		now := p.cfg.Now()
		if _, err := p.cfg.Store.DeleteExpiredOAuth(ctx, now); err != nil {
			p.log.Warn("oidc clean-up failed", "error", err)
		}
		if err := p.keys.rotateDue(ctx); err != nil {
			p.log.Warn("oidc key rotation failed", "error", err)
		}
	}
}

// tellSoon wakes Run to tell the clients of a session that just ended,
// without waiting for it; a wake already pending covers this one too.
func (p *Provider) tellSoon() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// SignAssertion signs claims as a JWT with the current ES256 key, whose
// public half is in the JWKS; "iss" is the issuer unless claims name one.
// It is for other front doors that vouch for a signed-in user (the
// forward-auth Remote-Assertion).
func (p *Provider) SignAssertion(ctx context.Context, claims map[string]any) (string, error) {
	k, err := p.keys.signer(ctx, gatehouse.SigningES256)
	if err != nil {
		return "", err
	}
	if _, ok := claims["iss"]; !ok {
		c := make(map[string]any, len(claims)+1)
		for k, v := range claims {
			c[k] = v
		}
		c["iss"] = p.issuer
		claims = c
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oidc: assertion claims: %w", err)
	}
	return k.signES256(p.cfg.Rand, payload)
}

// RotateKeys makes a new signing key of each algorithm (gatehouse keys
// rotate); the old ones stay published until what they signed expires.
func RotateKeys(ctx context.Context, store Store, ring *keyring.Ring) ([]*gatehouse.SigningKey, error) {
	k := newKeys(store, ring, time.Now, rand.Reader)
	var out []*gatehouse.SigningKey
	for _, alg := range []string{gatehouse.SigningES256, gatehouse.SigningRS256} {
		sk, err := k.rotate(ctx, alg)
		if err != nil {
			return out, err
		}
		out = append(out, sk)
	}
	return out, nil
}

// responseTypeRefusal answers an authorize request for another response
// type than code with RFC 6749's unsupported_response_type. The library
// checks the client and its redirect URI first, then refuses the type as
// unauthorized_client (clients are registered for code only); only that
// error in the redirect it built is renamed, so nothing is ever sent to a
// redirect URI the library did not accept.
type responseTypeRefusal struct {
	http.ResponseWriter
}

func (w *responseTypeRefusal) WriteHeader(status int) {
	if status == http.StatusFound || status == http.StatusSeeOther {
		if loc, err := url.Parse(w.Header().Get("Location")); err == nil {
			q, qerr := url.ParseQuery(loc.RawQuery)
			f, ferr := url.ParseQuery(loc.Fragment)
			switch {
			case qerr == nil && q.Get("error") == string(zoidc.UnauthorizedClient):
				q.Set("error", "unsupported_response_type")
				loc.RawQuery = q.Encode()
			case ferr == nil && f.Get("error") == string(zoidc.UnauthorizedClient):
				f.Set("error", "unsupported_response_type")
				loc.Fragment = f.Encode()
			}
			w.Header().Set("Location", loc.String())
		}
	}
	w.ResponseWriter.WriteHeader(status)
}
