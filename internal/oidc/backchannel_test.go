package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse"
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
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
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
