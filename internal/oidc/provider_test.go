package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// noSessions: no browser is signed in; the sessions tokens name are read
// from the store as they are, with no policy (signin's own tests check
// that; cmd/gatehouse's run the real one).
type noSessions struct{ db *sqlstore.DB }

func (noSessions) Authenticate(context.Context, string) (*signin.Current, error) {
	return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "You are not signed in.")
}
func (noSessions) Logout(context.Context, string, netip.Addr) error { return nil }

func (n noSessions) CheckSession(ctx context.Context, publicID string) (*signin.Current, error) {
	sess, err := n.db.SessionByPublicID(ctx, publicID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The session has ended.")
	} else if err != nil {
		return nil, err
	}
	org, err := n.db.OrganizationByID(ctx, sess.OrgID)
	if err != nil {
		return nil, err
	}
	u, err := n.db.UserByID(ctx, sess.OrgID, sess.UserID)
	if err != nil {
		return nil, err
	}
	return &signin.Current{Session: sess, User: u, Organization: org}, nil
}

type noBrowser struct{}

func (noBrowser) SessionToken(*http.Request) string { return "" }
func (noBrowser) SetStepUp(http.ResponseWriter)     {}
func (noBrowser) ClientIP(*http.Request) netip.Addr { return netip.MustParseAddr("127.0.0.1") }

func newTestProvider(t testing.TB, now func() time.Time) (*Provider, Store, *keyring.Ring) {
	t.Helper()
	db := testdb.SQLite(t)
	ring, err := keyring.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(t.Context(), Config{Store: db, Sessions: noSessions{db}, Browser: noBrowser{}, ClientIP: noBrowser{},
		Keys: ring, Issuer: &url.URL{Scheme: "https", Host: "login.example"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return p, db, ring
}

// jwks fetches the provider's JWKS through its handler.
func jwks(t *testing.T, p *Provider) jose.JSONWebKeySet {
	t.Helper()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://login.example/oauth2/jwks", nil))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || rec.Code != 200 {
		t.Fatalf("jwks: %d %s %v", rec.Code, rec.Body, err)
	}
	return set
}

func TestSignAssertionVerifiesAgainstTheJWKS(t *testing.T) {
	p, _, _ := newTestProvider(t, time.Now)
	raw, err := p.SignAssertion(t.Context(), map[string]any{"sub": "u1", "aud": "app.example", "exp": time.Now().Add(time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	set := jwks(t, p)
	keys := set.Key(sig.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("the assertion's key %q is not in the JWKS", sig.Signatures[0].Header.KeyID)
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	if claims["iss"] != "https://login.example" || claims["sub"] != "u1" {
		t.Errorf("claims = %v; want the issuer added", claims)
	}
	h := sig.Signatures[0].Protected
	if h.Algorithm != "ES256" || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header = %+v; want alg ES256, typ JWT", h)
	}
	// Another payload under the same signature does not verify.
	parts := strings.Split(raw, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u2"}`)) + "." + parts[2]
	if f, err := jose.ParseSignedCompact(forged, []jose.SignatureAlgorithm{jose.ES256}); err != nil {
		t.Fatal(err)
	} else if _, err := f.Verify(keys[0]); err == nil {
		t.Error("a changed payload verifies")
	}
}

func TestRetiredKeysLeaveTheJWKSAfterTheirTokens(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p, db, ring := newTestProvider(t, clock)
	if got := len(jwks(t, p).Keys); got != 2 {
		t.Fatalf("a first start publishes %d keys, want ES256 and RS256", got)
	}
	if _, err := RotateKeys(t.Context(), db, ring); err != nil {
		t.Fatal(err)
	}
	if got := len(jwks(t, p).Keys); got != 4 {
		t.Errorf("after a rotation %d keys are published, want the old two as well", got)
	}
	now = now.Add(publishFor + time.Minute)
	if got := len(jwks(t, p).Keys); got != 2 {
		t.Errorf("long after the rotation %d keys are published, want only the current two", got)
	}
}

func TestOtherOriginsMayCallTheEndpointsButNeverWithCookies(t *testing.T) {
	p, _, _ := newTestProvider(t, time.Now)
	req := httptest.NewRequest(http.MethodOptions, "https://login.example/oauth2/token", nil)
	req.Header.Set("Origin", "https://spa.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "*" ||
		rec.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight: %d %v; want 204, any origin, no credentials", rec.Code, rec.Header())
	}
	req = httptest.NewRequest(http.MethodGet, "https://login.example/oauth2/jwks", nil)
	req.Header.Set("Origin", "https://spa.example")
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("jwks from another origin: %d %v", rec.Code, rec.Header())
	}
}

// Bad input gets an OAuth error or an error page, never a 500 (issue 10).
func TestMalformedRequestsNeverAnswer500(t *testing.T) {
	p, db, ring := newTestProvider(t, time.Now)
	now := time.Now()
	c := &gatehouse.OAuthClient{ID: "app", Name: "App", SecretHash: HashSecret(ring, "app", "s3cret"),
		RedirectURIs: []string{"https://app.example/cb"}, SigningAlg: gatehouse.SigningES256, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateOAuthClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	for _, tt := range []struct {
		method, path string
		form         url.Values
		basic        bool
	}{
		{"GET", "/oauth2/authorize", nil, false},
		{"GET", "/oauth2/authorize?client_id=nobody&redirect_uri=https://evil.example/&response_type=code&scope=openid", nil, false},
		{"GET", "/oauth2/authorize?client_id=app&redirect_uri=https://app.example/cb&response_type=token&scope=openid", nil, false},
		{"GET", "/oauth2/authorize?client_id=app&redirect_uri=https://app.example/cb&response_type=code", nil, false},
		{"GET", "/oauth2/authorize?client_id=app&redirect_uri=https://app.example/cb&response_type=code&scope=openid&max_age=-1", nil, false},
		{"GET", "/oauth2/authorize?client_id=app&redirect_uri=https://app.example/cb&response_type=code&scope=openid&request=e30.e30.", nil, false},
		{"GET", "/oauth2/authorize?client_id=app&redirect_uri=%zz", nil, false},
		{"GET", "/oauth2/login", nil, false},
		{"GET", "/oauth2/login?id=%00", nil, false},
		{"GET", "/oauth2/authorize/callback?id=nope", nil, false},
		{"POST", "/oauth2/token", nil, false},
		{"POST", "/oauth2/token", form("grant_type", "authorization_code"), true},
		{"POST", "/oauth2/token", form("grant_type", "authorization_code", "code", "garbage", "redirect_uri", "https://app.example/cb"), true},
		{"POST", "/oauth2/token", form("grant_type", "refresh_token", "refresh_token", "garbage"), true},
		{"POST", "/oauth2/token", form("grant_type", "refresh_token", "refresh_token", "garbage", "client_id", "nobody"), false},
		{"POST", "/oauth2/token", form("grant_type", "authorization_code", "code", "x", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", "e30.e30."), false},
		{"GET", "/oauth2/userinfo", nil, false},
		{"GET", "/oauth2/userinfo?access_token=garbage", nil, false},
		{"POST", "/oauth2/introspect", form("token", "garbage"), false},
		{"POST", "/oauth2/introspect", form("token", "garbage"), true},
		{"POST", "/oauth2/revoke", form("token", "garbage"), true},
		{"POST", "/oauth2/revoke", form("token", "r:zz", "token_type_hint", "refresh_token"), true},
		{"GET", "/oauth2/logout?id_token_hint=e30.e30.&post_logout_redirect_uri=https://evil.example/", nil, false},
		{"GET", "/oauth2/logout?client_id=nobody&post_logout_redirect_uri=https://evil.example/", nil, false},
	} {
		var body *strings.Reader
		if tt.form != nil {
			body = strings.NewReader(tt.form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req := httptest.NewRequest(tt.method, "https://login.example"+tt.path, body)
		if tt.form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if tt.basic {
			req.SetBasicAuth("app", "s3cret")
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s %v: %d %s", tt.method, tt.path, tt.form, rec.Code, rec.Body)
		}
		if loc := rec.Header().Get("Location"); strings.Contains(loc, "evil.example") {
			t.Errorf("%s %s: redirected to %s", tt.method, tt.path, loc)
		}
	}
}
