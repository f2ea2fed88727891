package signin_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/keyring"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

var (
	secretA = bytes.Repeat([]byte("A"), 32)
	secretB = bytes.Repeat([]byte("B"), 32)
)

// legacyKeyed is the keyed hash exactly as signin made it before the
// keyring, so these tests pin that what the old release stored still works.
func legacyKeyed(secret []byte, label string, parts ...string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse " + label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// keyNode is one server's sign-in service over a shared store, with its
// own list of keys, as after a restart with another key file.
func keyNode(t *testing.T, f *fixture, secrets ...[]byte) *signin.Service {
	t.Helper()
	ring, err := keyring.New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	// The races here are of re-keying, not of the throttle.
	return f.node(withKeys(ring), unthrottled())
}

func fixtureOn(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	return &fixture{t: t, db: db, store: &faultyStore{DB: db, fail: map[string]bool{}}, hasher: &countingHasher{Hasher: testHasher(t)}, clock: newClock(), inbox: &inbox{}}
}

// node is a sign-in service over the fixture's faulty store, hasher,
// clock and inbox, then opts.
func (f *fixture) node(opts ...option) *signin.Service {
	f.t.Helper()
	return newNode(f.t, f.store, append([]option{withHasher(f.hasher), withNow(f.clock.Now), withMessenger(f.inbox)}, opts...)...)
}

// TestKeyRotation: sessions, remembered browsers and pending sign-ins made
// under key A (and the old release's hashes) keep working after a restart
// with keys B,A, are re-keyed under B as they are used, and so still work
// with B alone; what was not used meanwhile ends with A's removal.
func TestKeyRotation(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testKeyRotation(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		db, err := sqlstore.Open(context.Background(), testdb.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		testKeyRotation(t, db)
	})
}

func testKeyRotation(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	f := fixtureOn(t, db)
	org, u, req := f.strict(nil)
	ip := netip.MustParseAddr("203.0.113.9")

	// What the old release stored under A: a session and a remembered
	// browser, keyed the old way.
	now := f.clock.Now()
	oldSession, oldBrowser := "old-release-session", "old-release-browser"
	if err := db.CreateSession(ctx, &gatehouse.Session{TokenHash: legacyKeyed(secretA, "session token", oldSession), UserID: u.ID, OrgID: org.ID,
		TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRememberedBrowser(ctx, &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: legacyKeyed(secretA, "remember token", oldBrowser),
		OrgID: org.ID, UserID: u.ID, ClientIP: ip, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	unusedLegacy := "old-release-unused"
	if err := db.CreateSession(ctx, &gatehouse.Session{TokenHash: legacyKeyed(secretA, "session token", unusedLegacy), UserID: u.ID, OrgID: org.ID,
		TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	// Serve with A: a sign-in with its code; the browser is remembered.
	a := keyNode(t, f, secretA)
	if _, err := a.Authenticate(ctx, oldSession); err != nil {
		t.Fatalf("A does not take the old release's session: %v", err)
	}
	res, err := a.Login(ctx, req)
	if err != nil || res.Pending == nil {
		t.Fatalf("login under A: %+v %v", res, err)
	}
	done, err := a.Verify(ctx, signin.VerifyRequest{PendingToken: res.Pending.Token, Code: f.inbox.lastCode(t).Code, ClientIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	sessA, browserA := done.SessionToken, done.RememberToken
	unusedA, err := a.Login(ctx, withRemember(req, browserA))
	if err != nil || unusedA.SessionToken == "" {
		t.Fatalf("remembered sign-in under A: %+v %v", unusedA, err)
	}
	// A sign-in begun under A, its code sent, finished after the restart.
	inFlight, err := a.Login(ctx, req)
	if err != nil || inFlight.Pending == nil {
		t.Fatalf("login under A: %+v %v", inFlight, err)
	}
	inFlightCode := f.inbox.lastCode(t).Code

	// Restart with B,A.
	ba := keyNode(t, f, secretB, secretA)
	for name, tok := range map[string]string{"A's session": sessA, "the old release's session": oldSession} {
		if _, err := ba.Authenticate(ctx, tok); err != nil {
			t.Errorf("B,A: %s: %v", name, err)
		}
	}
	for name, tok := range map[string]string{"A's browser": browserA, "the old release's browser": oldBrowser} {
		got, err := ba.Login(ctx, withRemember(req, tok))
		if err != nil || got.Decision.Outcome != gatehouse.TwoFactorRemembered {
			t.Errorf("B,A: %s is not remembered: %+v %v", name, got, err)
		}
	}
	if got, err := ba.Verify(ctx, signin.VerifyRequest{PendingToken: inFlight.Pending.Token, Code: inFlightCode, ClientIP: ip}); err != nil || got.SessionToken == "" {
		t.Errorf("B,A: the code of a sign-in begun under A: %+v %v", got, err)
	}
	// Re-keyed in place: the stored hashes are now B's.
	ringB, _ := keyring.New(secretB)
	for name, tok := range map[string]string{"A's session": sessA, "the old release's session": oldSession} {
		if _, err := db.SessionByTokenHash(ctx, ringB.Hash("session token", tok)); err != nil {
			t.Errorf("%s is not re-keyed under B: %v", name, err)
		}
	}
	for name, tok := range map[string]string{"A's browser": browserA, "the old release's browser": oldBrowser} {
		if _, err := db.FindRememberedBrowser(ctx, org.ID, u.ID, [][]byte{ringB.Hash("remember token", tok)}, f.clock.Now()); err != nil {
			t.Errorf("%s is not re-keyed under B: %v", name, err)
		}
	}
	// New things are made under B.
	fresh, err := ba.Login(ctx, req)
	if err != nil || fresh.Pending == nil {
		t.Fatalf("login under B,A: %+v %v", fresh, err)
	}
	freshDone, err := ba.Verify(ctx, signin.VerifyRequest{PendingToken: fresh.Pending.Token, Code: f.inbox.lastCode(t).Code, ClientIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByTokenHash(ctx, ringB.Hash("session token", freshDone.SessionToken)); err != nil {
		t.Errorf("B,A makes sessions under another key: %v", err)
	}

	// Restart with B alone: what was used meanwhile works, the rest is over.
	b := keyNode(t, f, secretB)
	for name, tok := range map[string]string{"A's session": sessA, "the old release's session": oldSession, "B's session": freshDone.SessionToken} {
		if _, err := b.Authenticate(ctx, tok); err != nil {
			t.Errorf("B: %s: %v", name, err)
		}
	}
	for name, tok := range map[string]string{"A's browser": browserA, "the old release's browser": oldBrowser, "B's browser": freshDone.RememberToken} {
		got, err := b.Login(ctx, withRemember(req, tok))
		if err != nil || got.Decision.Outcome != gatehouse.TwoFactorRemembered {
			t.Errorf("B: %s is not remembered: %+v %v", name, got, err)
		}
	}
	for name, tok := range map[string]string{"a session of A never used under B,A": unusedA.SessionToken, "an unused session of the old release": unusedLegacy} {
		if _, err := b.Authenticate(ctx, tok); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			t.Errorf("B: %s still works after A was removed: %v", name, err)
		}
	}
	// And A, which never had B, knows none of B's.
	if _, err := a.Authenticate(ctx, freshDone.SessionToken); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("A takes B's session: %v", err)
	}
	// Logout finds a session under an old key too.
	if err := keyNode(t, f, secretB, secretA).Logout(ctx, unusedA.SessionToken, ip); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, unusedA.SessionToken); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("logged out under B,A, the session still works under A: %v", err)
	}
}

func withRemember(req signin.LoginRequest, token string) signin.LoginRequest {
	req.RememberTokens = []string{token}
	return req
}

// TestRekeyingRacesOnTwoNodes: 40 requests at once with a session and a
// remembered browser made under A, split over two nodes with keys B,A:
// every one is let in (none loses to the re-keying of another), and what
// is stored afterwards is B's.
func TestRekeyingRacesOnTwoNodes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := testdb.SQLite(t)
		testRekeyRace(t, db, db)
	})
	t.Run("postgres", func(t *testing.T) {
		url := testdb.PostgresURL(t)
		var dbs [2]*sqlstore.DB
		for i := range dbs {
			db, err := sqlstore.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			dbs[i] = db
		}
		testRekeyRace(t, dbs[0], dbs[1])
	})
}

func testRekeyRace(t *testing.T, db1, db2 *sqlstore.DB) {
	ctx := context.Background()
	f1, f2 := fixtureOn(t, db1), fixtureOn(t, db2)
	f2.clock = f1.clock
	_, _, req := f1.strict(nil)
	ip := netip.MustParseAddr("203.0.113.9")
	a := keyNode(t, f1, secretA)
	res, err := a.Login(ctx, req)
	if err != nil || res.Pending == nil {
		t.Fatalf("login: %+v %v", res, err)
	}
	done, err := a.Verify(ctx, signin.VerifyRequest{PendingToken: res.Pending.Token, Code: f1.inbox.lastCode(t).Code, ClientIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*signin.Service{keyNode(t, f1, secretB, secretA), keyNode(t, f2, secretB, secretA)}
	errs := make(chan error, 80)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			<-start
			n := nodes[i%2]
			if _, err := n.Authenticate(ctx, done.SessionToken); err != nil {
				errs <- err
			}
			got, err := n.Login(ctx, withRemember(req, done.RememberToken))
			if err != nil {
				errs <- err
			} else if got.Decision.Outcome != gatehouse.TwoFactorRemembered {
				errs <- &gatehouse.Error{Code: "not_remembered", Message: got.Decision.Outcome}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a request during the re-keying: %v", err)
	}
	b := keyNode(t, f1, secretB)
	if _, err := b.Authenticate(ctx, done.SessionToken); err != nil {
		t.Errorf("B alone after the race: %v", err)
	}
	if got, err := b.Login(ctx, withRemember(req, done.RememberToken)); err != nil || got.Decision.Outcome != gatehouse.TwoFactorRemembered {
		t.Errorf("B alone after the race: %+v %v", got, err)
	}
}
