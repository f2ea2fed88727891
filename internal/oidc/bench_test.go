package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// The figures of issue 10 (not timed tests): code exchanges and userinfo
// answers per second, each beside a bare handler of the same run. Run:
//
//	go test ./internal/oidc -run '^$' -bench . -benchtime 2s
//
// and divide the bare handler's ns/op by the endpoint's.

// benchGrant stores an organization, a user in a live session and a
// confidential client, and returns a grant of theirs.
func benchGrant(b testing.TB, p *Provider, db Store) (gatehouse.OAuthGrant, *gatehouse.Session) {
	b.Helper()
	ctx := b.Context()
	now := time.Now()
	full := db.(interface {
		Store
		gatehouse.OrganizationStore
		gatehouse.UserStore
		gatehouse.SessionStore
	})
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "bench", Name: "Bench", Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: now, UpdatedAt: now}
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "b@bench.test", Name: "B", Role: gatehouse.RoleMember, CreatedAt: now, UpdatedAt: now}
	s := &gatehouse.Session{TokenHash: []byte(gatehouse.NewID() + "------"), UserID: u.ID, OrgID: org.ID, TwoFactorState: gatehouse.TwoFactorVerified,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour)}
	c := &gatehouse.OAuthClient{ID: "app", Name: "App", SecretHash: HashSecret(p.cfg.Keys, "app", "s3cret"),
		RedirectURIs: []string{"https://app.example/cb"}, SigningAlg: gatehouse.SigningES256, CreatedAt: now, UpdatedAt: now}
	for _, err := range []error{full.CreateOrganization(ctx, org), full.CreateUser(ctx, u), full.CreateSession(ctx, s), full.CreateOAuthClient(ctx, c)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return gatehouse.OAuthGrant{ClientID: "app", UserID: u.ID, OrgID: org.ID, SessionID: s.PublicID, Scopes: []string{"openid", "email", "profile"},
		AuthTime: now, AMR: []string{"pwd", "otp", "mfa"}, ACR: "mfa", TwoFactorState: gatehouse.TwoFactorVerified}, s
}

func bare(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"sub":"x"}`))
}

func BenchmarkUserinfo(b *testing.B) {
	p, db, _ := newTestProvider(b, time.Now)
	g, _ := benchGrant(b, p, db)
	st := &storage{p: p}
	id, tok, err := st.newAccess(b.Context(), g, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := db.CreateOAuthToken(b.Context(), tok, nil); err != nil {
		b.Fatal(err)
	}
	bearer, err := p.op.Crypto().Encrypt(id + ":" + g.UserID)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, h http.Handler) {
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "https://login.example/oauth2/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, http.HandlerFunc(bare)) })
	b.Run("userinfo", func(b *testing.B) { run(b, p) })
}

func BenchmarkCodeExchange(b *testing.B) {
	p, db, _ := newTestProvider(b, time.Now)
	g, _ := benchGrant(b, p, db)
	form := func(code string) string {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}}.Encode()
	}
	exchange := func(b *testing.B, h http.Handler, code string) {
		req := httptest.NewRequest(http.MethodPost, "https://login.example/oauth2/token", strings.NewReader(form(code)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", "s3cret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	// newCode stores a signed-in authorize request with a code, as the
	// callback leaves it.
	newCode := func(b *testing.B) string {
		now := time.Now()
		r := &gatehouse.OAuthAuthRequest{ID: gatehouse.NewID(), ClientID: "app", RedirectURI: "https://app.example/cb", ResponseType: "code",
			Scopes: g.Scopes, Nonce: "n", CreatedAt: now, ExpiresAt: now.Add(time.Minute),
			Done: gatehouse.AuthRequestDone{UserID: g.UserID, OrgID: g.OrgID, SessionID: g.SessionID, AuthTime: now, AMR: g.AMR, ACR: g.ACR,
				TwoFactorState: g.TwoFactorState, At: now}}
		code, err := p.op.Crypto().Encrypt(r.ID)
		if err == nil {
			err = db.CreateAuthRequest(b.Context(), r)
		}
		if err == nil {
			err = db.SaveAuthCode(b.Context(), r.ID, p.cfg.Keys.Hash(purposeCode, code), now.Add(time.Minute))
		}
		if err != nil {
			b.Fatal(err)
		}
		return code
	}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			exchange(b, http.HandlerFunc(bare), "x")
		}
	})
	b.Run("token", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			code := newCode(b)
			b.StartTimer()
			exchange(b, p, code)
		}
	})
}

// BenchmarkBackChannelLogout is one ended session told to its client, end
// to end on SQLite: the tokens taken and the logout queued in one
// transaction, claimed, signed, posted to a real receiver and dequeued.
func BenchmarkBackChannelLogout(b *testing.B) {
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer rp.Close()
	p, db, _ := newTestProvider(b, time.Now)
	g, _ := benchGrant(b, p, db)
	now := time.Now()
	if err := db.CreateOAuthClient(b.Context(), &gatehouse.OAuthClient{ID: "told", Name: "Told", SecretHash: []byte("x"),
		RedirectURIs: []string{"https://told.example/cb"}, SigningAlg: gatehouse.SigningES256, BackChannelLogoutURI: rp.URL,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	sessions := db.(gatehouse.SessionStore)
	st := &storage{p: p}
	g.ClientID = "told"
	for b.Loop() {
		s := &gatehouse.Session{TokenHash: []byte(gatehouse.NewID() + "------"), UserID: g.UserID, OrgID: g.OrgID,
			TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := sessions.CreateSession(b.Context(), s); err != nil {
			b.Fatal(err)
		}
		g.SessionID = s.PublicID
		_, tok, _ := st.newAccess(b.Context(), g, now)
		if err := db.CreateOAuthToken(b.Context(), tok, nil); err != nil {
			b.Fatal(err)
		}
		if err := sessions.DeleteSession(b.Context(), s.TokenHash); err != nil {
			b.Fatal(err)
		}
		p.backChannelLogout(b.Context())
	}
	if n, err := db.CountLogouts(b.Context()); err != nil || n != 0 {
		b.Fatalf("%d logouts left queued, %v", n, err)
	}
}
