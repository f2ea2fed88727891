package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

type noSessions struct{}

func (noSessions) Authenticate(context.Context, string) (*signin.Current, error) {
	return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "You are not signed in.")
}
func (noSessions) Logout(context.Context, string, netip.Addr) error { return nil }

type noBrowser struct{}

func (noBrowser) SessionToken(*http.Request) string { return "" }
func (noBrowser) SetStepUp(http.ResponseWriter)     {}
func (noBrowser) ClientIP(*http.Request) netip.Addr { return netip.MustParseAddr("127.0.0.1") }

func newTestProvider(t *testing.T, now func() time.Time) (*Provider, Store, *keyring.Ring) {
	t.Helper()
	db := testdb.SQLite(t)
	ring, err := keyring.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(t.Context(), Config{Store: db, Sessions: noSessions{}, Browser: noBrowser{}, ClientIP: noBrowser{},
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
