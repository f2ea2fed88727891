package oidc

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

func TestAnEndedSessionIsToldToItsClientsOnce(t *testing.T) {
	got := make(chan string, 4)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.PostFormValue("logout_token")
	}))
	defer rp.Close()
	p, db, _ := newTestProvider(t, time.Now)
	g, sess := benchGrant(t, p, db)
	now := time.Now()
	if err := db.CreateOAuthClient(t.Context(), &gatehouse.OAuthClient{ID: "told", Name: "Told", SecretHash: []byte("x"),
		RedirectURIs: []string{"https://told.example/cb"}, SigningAlg: gatehouse.SigningRS256, BackChannelLogoutURI: rp.URL + "/logout",
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	st := &storage{p: p}
	for _, client := range []string{"app", "told"} {
		g.ClientID = client
		_, tok, _ := st.newAccess(t.Context(), g, now)
		_, ref, _ := st.newRefresh(t.Context(), g, now)
		if err := db.CreateOAuthToken(t.Context(), tok, ref); err != nil {
			t.Fatal(err)
		}
	}
	p.backChannelLogout(t.Context())
	if len(got) != 0 {
		t.Fatalf("a live session was told to its clients")
	}
	if err := db.(gatehouse.SessionStore).DeleteSession(t.Context(), sess.TokenHash); err != nil {
		t.Fatal(err)
	}
	p.backChannelLogout(t.Context())
	p.backChannelLogout(t.Context())
	if len(got) != 1 {
		t.Fatalf("%d logout tokens posted, want one (for the client that asked, once)", len(got))
	}
	raw := <-got
	payload := verifyLogoutToken(t, p, raw, jose.RS256)
	var claims struct {
		Iss, Aud, Sub, Sid, Jti string
		Nonce                   *string
		Events                  map[string]map[string]any
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Iss != "https://login.example" || claims.Aud != "told" || claims.Sub != g.UserID || claims.Sid != sess.PublicID ||
		claims.Jti == "" || claims.Nonce != nil || claims.Events[backChannelEvent] == nil {
		t.Errorf("logout token claims = %+v", claims)
	}
}

// testClock is a clock the test moves; the provider reads it from the
// goroutines that post logout tokens.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// loggedProvider is newTestProvider on clock, logging to log.
func loggedProvider(t *testing.T, clock *testClock, log *bytes.Buffer) (*Provider, Store) {
	t.Helper()
	db := testdb.SQLite(t)
	ring, err := keyring.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(t.Context(), Config{Store: db, Sessions: noSessions{}, Browser: noBrowser{}, ClientIP: noBrowser{},
		Keys: ring, Issuer: &url.URL{Scheme: "https", Host: "login.example"}, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return p, db
}

// endToldSession signs a user in to the client "told", whose back-channel
// logout URI is uri, and ends the session; it returns the grant and the
// session.
func endToldSession(t *testing.T, p *Provider, db Store, uri string) (gatehouse.OAuthGrant, *gatehouse.Session) {
	t.Helper()
	g, sess := benchGrant(t, p, db)
	now := p.cfg.Now()
	if err := db.CreateOAuthClient(t.Context(), &gatehouse.OAuthClient{ID: "told", Name: "Told", SecretHash: []byte("x"),
		RedirectURIs: []string{"https://told.example/cb"}, SigningAlg: gatehouse.SigningES256, BackChannelLogoutURI: uri,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	g.ClientID = "told"
	st := &storage{p: p}
	_, tok, _ := st.newAccess(t.Context(), g, now)
	_, ref, _ := st.newRefresh(t.Context(), g, now)
	if err := db.CreateOAuthToken(t.Context(), tok, ref); err != nil {
		t.Fatal(err)
	}
	if err := db.(gatehouse.SessionStore).DeleteSession(t.Context(), sess.TokenHash); err != nil {
		t.Fatal(err)
	}
	return g, sess
}

func TestABackChannelLogoutIsRetriedUntilTheClientAcceptsIt(t *testing.T) {
	var (
		tries    atomic.Int32
		accepted = make(chan string, 4)
	)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) <= 2 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		accepted <- r.PostFormValue("logout_token")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rp.Close()
	clock := &testClock{now: time.Now().Truncate(time.Second)}
	var log bytes.Buffer
	p, db := loggedProvider(t, clock, &log)
	g, sess := endToldSession(t, p, db, rp.URL+"/logout?secret=rp-own")

	step := func(what string, d time.Duration, wantTries int32) {
		t.Helper()
		clock.advance(d)
		p.backChannelLogout(t.Context())
		if got := tries.Load(); got != wantTries {
			t.Fatalf("%s: %d tries in all, want %d", what, got, wantTries)
		}
	}
	step("at once", 0, 1)
	step("again before the retry is due", 29*time.Second, 1)
	step("30 s after the first failure", time.Second, 2)
	step("before the doubled wait", 59*time.Second, 2)
	step("60 s after the second failure", time.Second, 3)
	step("an hour later", time.Hour, 3)
	if n, err := db.CountLogouts(t.Context()); err != nil || n != 0 {
		t.Errorf("CountLogouts after the client accepted = %d, %v; want 0", n, err)
	}
	if len(accepted) != 1 {
		t.Fatalf("%d logout tokens accepted, want exactly one", len(accepted))
	}
	raw := <-accepted
	payload := verifyLogoutToken(t, p, raw, jose.ES256)
	var claims struct {
		Iss, Aud, Sub, Sid, Jti string
		Iat, Exp                int64
		Nonce                   *string
		Events                  map[string]map[string]any
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	sentAt := clock.Now().Add(-time.Hour).Unix()
	if claims.Iss != "https://login.example" || claims.Aud != "told" || claims.Sub != g.UserID || claims.Sid != sess.PublicID ||
		claims.Jti == "" || claims.Nonce != nil || claims.Events[backChannelEvent] == nil || claims.Iat != sentAt || claims.Exp <= sentAt {
		t.Errorf("logout token claims = %+v; want iat %d", claims, sentAt)
	}
	// Logged with the client ID only: not the user, the session or the
	// client's URI.
	out := log.String()
	if !strings.Contains(out, "client_id=told") || strings.Count(out, "will retry") != 2 {
		t.Errorf("log = %s; want two retries of client told", out)
	}
	for _, secret := range []string{sess.PublicID, g.UserID, "rp-own", rp.URL} {
		if strings.Contains(out, secret) {
			t.Errorf("the log names %q: %s", secret, out)
		}
	}
}

func TestABackChannelLogoutIsGivenUpAfterADay(t *testing.T) {
	var tries atomic.Int32
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		w.WriteHeader(http.StatusAccepted) // not 200 or 204: a failure (§2.8)
	}))
	defer rp.Close()
	clock := &testClock{now: time.Now().Truncate(time.Second)}
	var log bytes.Buffer
	p, db := loggedProvider(t, clock, &log)
	endToldSession(t, p, db, rp.URL+"/logout")
	start := clock.Now()
	for {
		p.backChannelLogout(t.Context())
		n, err := db.CountLogouts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		age := clock.Now().Sub(start)
		if n == 0 {
			// The first failure past a day drops it; tries are 30
			// minutes apart by then.
			if age < logoutGiveUp || age > logoutGiveUp+logoutMaxRetry {
				t.Errorf("given up after %v, want the first failure after %v", age, logoutGiveUp)
			}
			break
		}
		if age > logoutGiveUp+logoutMaxRetry {
			t.Fatalf("still queued after %v", age)
		}
		clock.advance(time.Minute)
	}
	if got := tries.Load(); got < 50 || got > 56 {
		t.Errorf("%d tries in a day, want about 54", got)
	}
	if !strings.Contains(log.String(), "gave up") {
		t.Errorf("log = %s; want the give-up logged", log.String())
	}
	clock.advance(time.Hour)
	before := tries.Load()
	p.backChannelLogout(t.Context())
	if tries.Load() != before {
		t.Errorf("a given-up logout was tried again")
	}
}

// verifyLogoutToken checks a logout token's signature against the JWKS and
// its typ, and returns its payload.
func verifyLogoutToken(t *testing.T, p *Provider, raw string, alg jose.SignatureAlgorithm) []byte {
	t.Helper()
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatal(err)
	}
	set := jwks(t, p)
	keys := set.Key(sig.Signatures[0].Header.KeyID)
	if len(keys) != 1 || sig.Signatures[0].Header.ExtraHeaders["typ"] != "logout+jwt" {
		t.Fatalf("logout token header %+v", sig.Signatures[0].Header)
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	return payload
}
