package sqlstore

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestOAuthStore holds the OpenID Connect provider's store
// (docs/design.md §10.1) to its contract on both databases: clients, codes used once across
// two nodes, refresh tokens rotated once, tokens that die with their
// Gatehouse session, signing keys.
func TestOAuthStore(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		testOAuthStore(t, func(t *testing.T) (*DB, *DB) {
			n := d.nodes(t, 2) // two pools on PostgreSQL, as two servers have
			return n[0], n[1]
		})
	})
}

var ot0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

type oauthFixture struct {
	t    *testing.T
	db   *DB
	user *gatehouse.User
	sess *gatehouse.Session
}

func newOAuthFixture(t *testing.T, db *DB, slug string) *oauthFixture {
	t.Helper()
	ctx := t.Context()
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: slug, Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: ot0, UpdatedAt: ot0}
	if err := db.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: slug + "@example.com", Role: gatehouse.RoleMember, CreatedAt: ot0, UpdatedAt: ot0}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := &gatehouse.Session{TokenHash: []byte(gatehouse.NewID() + "------"), UserID: u.ID, OrgID: org.ID, TwoFactorState: gatehouse.TwoFactorVerified,
		CreatedAt: ot0, LastSeenAt: ot0, ExpiresAt: ot0.Add(12 * time.Hour)}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	return &oauthFixture{t: t, db: db, user: u, sess: s}
}

func (f *oauthFixture) client(id string) *gatehouse.OAuthClient {
	f.t.Helper()
	c := &gatehouse.OAuthClient{ID: id, Name: "App " + id, SecretHash: []byte("hash-of-" + id), RedirectURIs: []string{"https://app.example/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example/"}, OrgIDs: []string{f.user.OrgID}, SigningAlg: gatehouse.SigningES256,
		CreatedAt: ot0, UpdatedAt: ot0}
	if err := f.db.CreateOAuthClient(f.t.Context(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// toldClient registers a client with a back-channel logout URI.
func (f *oauthFixture) toldClient(id string) {
	f.t.Helper()
	c := &gatehouse.OAuthClient{ID: id, Name: "Told " + id, SecretHash: []byte("hash-of-" + id), RedirectURIs: []string{"https://told.example/cb"},
		SigningAlg: gatehouse.SigningES256, BackChannelLogoutURI: "https://told.example/logout", CreatedAt: ot0, UpdatedAt: ot0}
	if err := f.db.CreateOAuthClient(f.t.Context(), c); err != nil {
		f.t.Fatal(err)
	}
}

// endedSessions makes n sessions of the user, each with a token of
// clientID, ends them, and returns their public IDs.
func (f *oauthFixture) endedSessions(clientID string, n int) []string {
	f.t.Helper()
	var ids []string
	for range n {
		s := &gatehouse.Session{TokenHash: []byte(gatehouse.NewID() + "------"), UserID: f.user.ID, OrgID: f.user.OrgID,
			TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: ot0, LastSeenAt: ot0, ExpiresAt: ot0.Add(12 * time.Hour)}
		if err := f.db.CreateSession(f.t.Context(), s); err != nil {
			f.t.Fatal(err)
		}
		g := f.grant(clientID, "r-"+s.PublicID, "")
		g.SessionID = s.PublicID
		if err := f.db.CreateOAuthToken(f.t.Context(), &gatehouse.OAuthToken{IDHash: []byte("acc-" + s.PublicID), OAuthGrant: g,
			CreatedAt: ot0, ExpiresAt: ot0.Add(time.Hour)}, nil); err != nil {
			f.t.Fatal(err)
		}
		if err := f.db.DeleteSession(f.t.Context(), s.TokenHash); err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, s.PublicID)
	}
	return ids
}

func (f *oauthFixture) grant(clientID, authReq, family string) gatehouse.OAuthGrant {
	return gatehouse.OAuthGrant{ClientID: clientID, UserID: f.user.ID, OrgID: f.user.OrgID, SessionID: f.sess.PublicID,
		AuthRequestID: authReq, FamilyID: family, Scopes: []string{"openid", "email"}, AuthTime: ot0, AMR: []string{"pwd", "otp", "mfa"},
		ACR: "mfa", TwoFactorState: gatehouse.TwoFactorVerified}
}

// tokens stores an access token and a refresh token of a grant.
func (f *oauthFixture) tokens(g gatehouse.OAuthGrant, access, refresh string) {
	f.t.Helper()
	err := f.db.CreateOAuthToken(f.t.Context(),
		&gatehouse.OAuthToken{IDHash: []byte(access), OAuthGrant: g, CreatedAt: ot0, ExpiresAt: ot0.Add(time.Hour)},
		&gatehouse.OAuthRefreshToken{TokenHash: []byte(refresh), OAuthGrant: g, CreatedAt: ot0, ExpiresAt: ot0.Add(24 * time.Hour)})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *oauthFixture) live(what, access string, want bool) {
	f.t.Helper()
	_, err := f.db.OAuthTokenByIDHash(f.t.Context(), []byte(access), ot0.Add(time.Minute))
	if got := err == nil; got != want {
		f.t.Errorf("%s: access token %q live = %v (%v), want %v", what, access, got, err, want)
	}
}

func testOAuthStore(t *testing.T, nodes func(t *testing.T) (*DB, *DB)) {
	t.Run("clients are saved, listed, re-keyed and deleted with what they were given", func(t *testing.T) {
		a, _ := nodes(t)
		f := newOAuthFixture(t, a, "clients")
		c := f.client("c1")
		if err := a.CreateOAuthClient(t.Context(), c); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Errorf("a second client c1: %v, want ECONFLICT", err)
		}
		pub := &gatehouse.OAuthClient{ID: "c0", Name: "A public app", Public: true, RedirectURIs: []string{"http://127.0.0.1:8080/cb"},
			SigningAlg: gatehouse.SigningRS256, CreatedAt: ot0, UpdatedAt: ot0}
		if err := a.CreateOAuthClient(t.Context(), pub); err != nil {
			t.Fatal(err)
		}
		got, err := a.OAuthClientByID(t.Context(), "c1")
		if err != nil || got.Name != c.Name || !bytes.Equal(got.SecretHash, c.SecretHash) || !slices.Equal(got.RedirectURIs, c.RedirectURIs) ||
			!slices.Equal(got.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs) || !slices.Equal(got.OrgIDs, c.OrgIDs) || got.Public {
			t.Errorf("OAuthClientByID = %+v, %v; want %+v", got, err, c)
		}
		list, err := a.ListOAuthClients(t.Context())
		if err != nil || len(list) != 2 || list[0].ID != "c0" || !list[0].Public || list[0].SecretHash != nil || list[0].OrgIDs != nil {
			t.Errorf("ListOAuthClients = %+v, %v; want the public app first, without secret or organizations", list, err)
		}
		if err := a.SetOAuthClientSecret(t.Context(), "c1", []byte("new"), ot0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.OAuthClientByID(t.Context(), "c1"); !bytes.Equal(got.SecretHash, []byte("new")) {
			t.Errorf("secret hash after SetOAuthClientSecret = %q", got.SecretHash)
		}
		f.tokens(f.grant("c1", "r1", "fam"), "acc-c1", "ref-c1")
		if err := a.DeleteOAuthClient(t.Context(), "c1"); err != nil {
			t.Fatal(err)
		}
		f.live("after deleting the client", "acc-c1", false)
		if _, err := a.OAuthClientByID(t.Context(), "c1"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("a deleted client: %v, want ENOTFOUND", err)
		}
		if err := a.DeleteOAuthClient(t.Context(), "c1"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("deleting it again: %v, want ENOTFOUND", err)
		}
	})

	t.Run("a code is redeemed exactly once by 40 callers on two nodes, and never after it expires", func(t *testing.T) {
		a, b := nodes(t)
		f := newOAuthFixture(t, a, "codes")
		f.client("app")
		req := &gatehouse.OAuthAuthRequest{ID: "req1", ClientID: "app", RedirectURI: "https://app.example/cb", ResponseType: "code",
			State: "st", Nonce: "no", Scopes: []string{"openid"}, CodeChallenge: "ch", CodeChallengeMethod: "S256", Prompt: []string{"login"},
			MaxAge: 30 * time.Second, HasMaxAge: true, Organization: "codes", CreatedAt: ot0, ExpiresAt: ot0.Add(15 * time.Minute)}
		if err := a.CreateAuthRequest(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		if err := a.SaveAuthCode(t.Context(), "req1", []byte("code-hash"), ot0.Add(time.Minute)); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("a code for a request nobody signed in for: %v, want ENOTFOUND", err)
		}
		done := gatehouse.AuthRequestDone{UserID: f.user.ID, OrgID: f.user.OrgID, SessionID: f.sess.PublicID, AuthTime: ot0,
			AMR: []string{"pwd"}, TwoFactorState: gatehouse.TwoFactorNotEnforced, At: ot0.Add(time.Second)}
		if err := b.CompleteAuthRequest(t.Context(), "req1", done); err != nil {
			t.Fatal(err)
		}
		if err := a.CompleteAuthRequest(t.Context(), "req1", done); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("completing it twice: %v, want ENOTFOUND", err)
		}
		if err := b.SaveAuthCode(t.Context(), "req1", []byte("code-hash"), ot0.Add(61*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err := a.AuthRequestByCodeHash(t.Context(), []byte("code-hash"))
		if err != nil || got.ID != "req1" || got.Done.UserID != f.user.ID || got.Done.SessionID != f.sess.PublicID || !got.HasMaxAge ||
			got.MaxAge != 30*time.Second || !slices.Equal(got.Prompt, []string{"login"}) || got.CodeChallenge != "ch" || got.Nonce != "no" {
			t.Fatalf("AuthRequestByCodeHash = %+v, %v", got, err)
		}
		if wins := race(t, 40, func(i int) (bool, error) {
			return wonUnless(gatehouse.ECONFLICT, []*DB{a, b}[i%2].RedeemAuthCode(t.Context(), "req1", ot0.Add(10*time.Second)))
		}); wins != 1 {
			t.Errorf("%d of 40 callers redeemed the code; want exactly 1", wins)
		}
		if got, _ := b.AuthRequestByCodeHash(t.Context(), []byte("code-hash")); got == nil || got.CodeUsedAt.IsZero() {
			t.Errorf("the used code does not say it was used: %+v", got)
		}

		late := *req
		late.ID = "req2"
		if err := a.CreateAuthRequest(t.Context(), &late); err != nil {
			t.Fatal(err)
		}
		_ = a.CompleteAuthRequest(t.Context(), "req2", done)
		_ = a.SaveAuthCode(t.Context(), "req2", []byte("late-hash"), ot0.Add(61*time.Second))
		if err := a.RedeemAuthCode(t.Context(), "req2", ot0.Add(61*time.Second)); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Errorf("redeeming an expired code: %v, want ECONFLICT", err)
		}
		if _, err := a.AuthRequestByID(t.Context(), "req2", ot0.Add(16*time.Minute)); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("an expired request: %v, want ENOTFOUND", err)
		}
	})

	t.Run("a refresh token rotates once among 40 callers; family, request and session revocations reach every token", func(t *testing.T) {
		a, b := nodes(t)
		f := newOAuthFixture(t, a, "refresh")
		f.client("app")
		f.tokens(f.grant("app", "reqA", "famA"), "acc1", "ref1")
		f.tokens(f.grant("app", "reqB", "famB"), "accB", "refB")
		now := ot0.Add(time.Minute)
		rt, err := b.RefreshTokenByHash(t.Context(), []byte("ref1"), now)
		if err != nil || rt.FamilyID != "famA" || rt.AuthRequestID != "reqA" || !rt.UsedAt.IsZero() || !slices.Equal(rt.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("RefreshTokenByHash = %+v, %v", rt, err)
		}
		if wins := race(t, 40, func(i int) (bool, error) {
			g := f.grant("app", "reqA", "famA")
			acc := &gatehouse.OAuthToken{IDHash: []byte{byte(i), 'a'}, OAuthGrant: g, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			next := &gatehouse.OAuthRefreshToken{TokenHash: []byte{byte(i), 'r'}, OAuthGrant: g, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			return wonUnless(gatehouse.ECONFLICT, []*DB{a, b}[i%2].RotateRefreshToken(t.Context(), []byte("ref1"), now, acc, next))
		}); wins != 1 {
			t.Errorf("%d of 40 callers rotated the refresh token; want exactly 1", wins)
		}
		if rt, err := a.RefreshTokenByHash(t.Context(), []byte("ref1"), now); err != nil || rt.UsedAt.IsZero() {
			t.Errorf("the rotated token: %+v, %v; want it found and marked used", rt, err)
		}
		if err := a.RevokeOAuthFamily(t.Context(), "famA"); err != nil {
			t.Fatal(err)
		}
		f.live("after revoking the family", "acc1", false)
		f.live("another family", "accB", true)
		if err := b.RevokeAuthRequestTokens(t.Context(), "reqB"); err != nil {
			t.Fatal(err)
		}
		f.live("after revoking the request's tokens", "accB", false)
		if _, err := a.RefreshTokenByHash(t.Context(), []byte("refB"), now); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the request's refresh token: %v, want ENOTFOUND", err)
		}

		f.tokens(f.grant("app", "reqC", "famC"), "accC", "refC")
		f.live("a new grant", "accC", true)
		if _, err := a.OAuthTokenByIDHash(t.Context(), []byte("accC"), ot0.Add(2*time.Hour)); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("an expired access token: %v, want ENOTFOUND", err)
		}
		if n, err := a.RevokeSessionTokens(t.Context(), f.sess.PublicID, "other-app"); err != nil || n != 0 {
			t.Errorf("RevokeSessionTokens for another client = %d, %v; want 0", n, err)
		}
		f.live("after revoking another client's tokens", "accC", true)
		if err := b.DeleteSession(t.Context(), f.sess.TokenHash); err != nil {
			t.Fatal(err)
		}
		f.live("after sign-out", "accC", false)
		if _, err := a.RefreshTokenByHash(t.Context(), []byte("refC"), now); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("a refresh token after sign-out: %v, want ENOTFOUND", err)
		}
		if n, err := a.DeleteExpiredOAuth(t.Context(), ot0.Add(48*time.Hour)); err != nil || n != 0 {
			t.Errorf("DeleteExpiredOAuth = %d, %v; want the dead session's tokens left for TakeEndedGrants", n, err)
		}
		if _, _, err := a.TakeEndedGrants(t.Context(), now, 100); err != nil {
			t.Fatal(err)
		}
		var left int
		_ = a.write.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM oauth_tokens) + (SELECT count(*) FROM oauth_refresh_tokens)`).Scan(&left)
		if left != 0 {
			t.Errorf("%d tokens of the ended session left after TakeEndedGrants, want 0", left)
		}
	})

	t.Run("a client that wants a back-channel logout is told of a session that ends long after its last token expired", func(t *testing.T) {
		a, b := nodes(t)
		f := newOAuthFixture(t, a, "late")
		f.toldClient("told")
		f.client("silent")
		for i, tok := range []struct {
			client, id string
			at         time.Duration
		}{{"told", "old", 0}, {"told", "new", time.Minute}, {"silent", "quiet", 0}} {
			g := f.grant(tok.client, fmt.Sprint("r", i), "")
			if err := a.CreateOAuthToken(t.Context(), &gatehouse.OAuthToken{IDHash: []byte(tok.id), OAuthGrant: g,
				CreatedAt: ot0.Add(tok.at), ExpiresAt: ot0.Add(tok.at + time.Hour)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		// Hours later, the session still alive: the clean-up keeps only the
		// newest token of the client that is to be told.
		if n, err := b.DeleteExpiredOAuth(t.Context(), ot0.Add(5*time.Hour)); err != nil || n != 2 {
			t.Errorf("DeleteExpiredOAuth = %d, %v; want 2 (the told client's older token and the silent one's)", n, err)
		}
		var left []string
		rows, err := a.write.QueryContext(t.Context(), `SELECT id_hash FROM oauth_tokens ORDER BY id_hash`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h []byte
			_ = rows.Scan(&h)
			left = append(left, string(h))
		}
		rows.Close()
		if !slices.Equal(left, []string{"new"}) {
			t.Errorf("tokens left %q, want only the told client's newest", left)
		}
		f.live("the kept expired token", "new", true) // live at ot0+1m; dead later, as every read checks expiry
		if _, err := a.OAuthTokenByIDHash(t.Context(), []byte("new"), ot0.Add(5*time.Hour)); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("the kept token read after its expiry: %v, want ENOTFOUND", err)
		}
		if err := b.DeleteSession(t.Context(), f.sess.TokenHash); err != nil {
			t.Fatal(err)
		}
		if q, _, err := a.TakeEndedGrants(t.Context(), ot0.Add(6*time.Hour), 100); err != nil || q != 1 {
			t.Errorf("TakeEndedGrants after the late sign-out = %d, %v; want the told client's logout queued", q, err)
		}
	})

	t.Run("ended sessions' tokens are taken once, and queue a logout for the clients that want a back-channel logout", func(t *testing.T) {
		a, b := nodes(t)
		f := newOAuthFixture(t, a, "backchannel")
		f.toldClient("told")
		f.client("silent")
		f.tokens(f.grant("told", "r1", "f1"), "acc-told", "ref-told")
		f.tokens(f.grant("told", "r3", "f3"), "acc-told2", "ref-told2")
		f.tokens(f.grant("silent", "r2", "f2"), "acc-silent", "ref-silent")
		if q, d, err := a.TakeEndedGrants(t.Context(), ot0, 100); err != nil || q != 0 || d != 0 {
			t.Fatalf("with the session alive: %d, %d, %v; want nothing", q, d, err)
		}
		if err := b.DeleteSession(t.Context(), f.sess.TokenHash); err != nil {
			t.Fatal(err)
		}
		// The clean-up runs first: it must not take the ended session's
		// tokens without queueing their logout.
		if _, err := a.DeleteExpiredOAuth(t.Context(), ot0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if q, d, err := b.TakeEndedGrants(t.Context(), ot0.Add(time.Minute), 100); err != nil || q != 1 || d != 0 {
			t.Errorf("TakeEndedGrants = %d, %d, %v; want one logout queued (one client, one session)", q, d, err)
		}
		if q, _, err := a.TakeEndedGrants(t.Context(), ot0.Add(2*time.Minute), 100); err != nil || q != 0 {
			t.Errorf("taken again: %d, %v; want nothing", q, err)
		}
		got, err := a.ClaimLogouts(t.Context(), ot0.Add(time.Minute), time.Minute, 10)
		want := []*gatehouse.QueuedLogout{{ID: 1, ClientID: "told", UserID: f.user.ID, SessionID: f.sess.PublicID, Attempts: 1, CreatedAt: ot0.Add(time.Minute)}}
		if err == nil && len(got) == 1 {
			want[0].ID = got[0].ID
		}
		checkEqual(t, "ClaimLogouts", got, want)
		if n, err := b.CountLogouts(t.Context()); err != nil || n != 1 {
			t.Errorf("CountLogouts = %d, %v; want 1", n, err)
		}
		if err := a.DeleteOAuthClient(t.Context(), "told"); err != nil {
			t.Fatal(err)
		}
		if n, err := b.CountLogouts(t.Context()); err != nil || n != 0 {
			t.Errorf("CountLogouts after the client was deleted = %d, %v; want 0", n, err)
		}
	})

	t.Run("a queued logout is claimed once, hidden for its lease, due again when retried, and keeps its age", func(t *testing.T) {
		a, b := nodes(t)
		f := newOAuthFixture(t, a, "logout-retry")
		f.toldClient("told")
		f.endedSessions("told", 1)
		if q, _, err := a.TakeEndedGrants(t.Context(), ot0, 100); err != nil || q != 1 {
			t.Fatalf("TakeEndedGrants = %d, %v; want 1", q, err)
		}
		claim := func(db *DB, at time.Time) []*gatehouse.QueuedLogout {
			t.Helper()
			got, err := db.ClaimLogouts(t.Context(), at, 20*time.Second, 10)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		first := claim(a, ot0)
		if len(first) != 1 || first[0].Attempts != 1 {
			t.Fatalf("first claim = %+v; want the logout on its first attempt", first)
		}
		if got := claim(b, ot0.Add(20*time.Second-time.Millisecond)); len(got) != 0 {
			t.Errorf("claimed again within its lease on the other node: %+v", got)
		}
		if got := claim(b, ot0.Add(20*time.Second)); len(got) != 1 || got[0].Attempts != 2 {
			t.Errorf("after the lease ran out: %+v; want the logout on its second attempt", got)
		}
		if err := b.RetryLogout(t.Context(), first[0].ID, ot0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := claim(a, ot0.Add(time.Hour-time.Millisecond)); len(got) != 0 {
			t.Errorf("claimed before it was due again: %+v", got)
		}
		again := claim(a, ot0.Add(time.Hour))
		if len(again) != 1 || again[0].Attempts != 3 || !again[0].CreatedAt.Equal(ot0) {
			t.Errorf("due again: %+v; want the third attempt, still queued at %v (the age gives up on it)", again, ot0)
		}
		if err := a.DeleteLogout(t.Context(), first[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := a.DeleteLogout(t.Context(), first[0].ID); err != nil {
			t.Errorf("deleting a missing logout: %v, want nil", err)
		}
		if got := claim(b, ot0.Add(48*time.Hour)); len(got) != 0 {
			t.Errorf("a deleted logout was claimed: %+v", got)
		}
	})

	t.Run("forty claimers on two nodes take each of forty queued logouts exactly once", func(t *testing.T) {
		a, b := nodes(t)
		f := newOAuthFixture(t, a, "logout-race")
		f.toldClient("told")
		const n = 40
		f.endedSessions("told", n)
		// Forty takers at once: every logout is queued once.
		var queued [n]int
		race(t, n, func(i int) (bool, error) {
			var err error
			queued[i], _, err = []*DB{a, b}[i%2].TakeEndedGrants(t.Context(), ot0, 1000)
			return true, err
		})
		total := 0
		for _, q := range queued {
			total += q
		}
		if total != n {
			t.Errorf("forty takers queued %d logouts, want %d", total, n)
		}
		claims := make([][]*gatehouse.QueuedLogout, n)
		race(t, n, func(i int) (bool, error) {
			var err error
			claims[i], err = []*DB{a, b}[i%2].ClaimLogouts(t.Context(), ot0.Add(time.Second), time.Minute, 3)
			return true, err
		})
		seen := map[int64]int{}
		for i := range n {
			for _, l := range claims[i] {
				seen[l.ID]++
			}
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("logout %d was claimed %d times", id, k)
			}
		}
		rest, err := b.ClaimLogouts(t.Context(), ot0.Add(time.Second), time.Minute, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range rest {
			if seen[l.ID]++; seen[l.ID] > 1 {
				t.Errorf("logout %d was claimed again within its lease", l.ID)
			}
		}
		if len(seen) != n {
			t.Errorf("%d logouts were claimed, want %d", len(seen), n)
		}
	})

	t.Run("the logout queue keeps at most its bound, dropping the oldest", func(t *testing.T) {
		a, b := nodes(t)
		f := newOAuthFixture(t, a, "logout-cap")
		f.toldClient("told")
		old := f.endedSessions("told", 2)
		if q, d, err := a.TakeEndedGrants(t.Context(), ot0, 3); err != nil || q != 2 || d != 0 {
			t.Fatalf("TakeEndedGrants = %d, %d, %v; want 2 queued, none dropped", q, d, err)
		}
		newer := f.endedSessions("told", 3)
		if q, d, err := b.TakeEndedGrants(t.Context(), ot0.Add(time.Minute), 3); err != nil || q != 3 || d != 2 {
			t.Errorf("TakeEndedGrants over the bound = %d, %d, %v; want 3 queued, 2 dropped", q, d, err)
		}
		if n, err := a.CountLogouts(t.Context()); err != nil || n != 3 {
			t.Errorf("CountLogouts = %d, %v; want the bound, 3", n, err)
		}
		got, err := a.ClaimLogouts(t.Context(), ot0.Add(time.Hour), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var sids []string
		for _, l := range got {
			sids = append(sids, l.SessionID)
		}
		slices.Sort(sids)
		want := slices.Clone(newer)
		slices.Sort(want)
		if !slices.Equal(sids, want) {
			t.Errorf("kept sessions %v, want the newest %v (dropped %v)", sids, want, old)
		}
	})

	t.Run("a disabled user's tokens are dead", func(t *testing.T) {
		a, _ := nodes(t)
		f := newOAuthFixture(t, a, "disabled")
		f.client("app")
		f.tokens(f.grant("app", "r", "fam"), "acc", "ref")
		f.live("before", "acc", true)
		f.user.Disabled = true
		if err := a.UpdateUser(t.Context(), f.user); err != nil {
			t.Fatal(err)
		}
		f.live("after disabling the user", "acc", false)
	})

	t.Run("a new signing key retires the current one of its algorithm, which stays listed while needed", func(t *testing.T) {
		a, b := nodes(t)
		mk := func(id, alg string, at time.Time) {
			if err := a.CreateSigningKey(t.Context(), &gatehouse.SigningKey{ID: id, Algorithm: alg, PrivateSealed: []byte("sealed " + id),
				Public: []byte("public " + id), CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		mk("k1", gatehouse.SigningES256, ot0)
		mk("r1", gatehouse.SigningRS256, ot0.Add(time.Second))
		mk("k2", gatehouse.SigningES256, ot0.Add(time.Hour))
		keys, err := b.SigningKeys(t.Context(), ot0)
		if err != nil || len(keys) != 3 || keys[0].ID != "k2" || !keys[0].RetiredAt.IsZero() || keys[2].ID != "k1" ||
			!keys[2].RetiredAt.Equal(ot0.Add(time.Hour)) || string(keys[0].PrivateSealed) != "sealed k2" {
			t.Errorf("SigningKeys = %+v, %v; want k2 (current), r1, k1 (retired at k2's creation)", keys, err)
		}
		keys, _ = b.SigningKeys(t.Context(), ot0.Add(2*time.Hour))
		if len(keys) != 2 || keys[0].ID != "k2" || keys[1].ID != "r1" {
			t.Errorf("SigningKeys long after k1's retirement = %+v; want k2 and r1", keys)
		}
	})
}
