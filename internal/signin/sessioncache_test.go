package signin_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

func withSessionCache(d time.Duration) option {
	return func(c *signin.Config) { c.SessionCacheTTL = d }
}

// A node answers a session check from its check of a moment ago for at
// most the TTL; its own changes that end the session, and those of the
// other services' stores wrapped by Revoking, take effect at once; a change
// it cannot see (another node's) within the TTL.
func TestTheSessionCacheKeepsRevocationWithinItsBound(t *testing.T) {
	f := newFixture(t)
	svc := f.node(withSessionCache(time.Second))
	ctx := context.Background()
	login := func() string {
		t.Helper()
		res, err := svc.Login(ctx, signin.LoginRequest{Organization: "clinic", Email: "staff@clinic.test", Password: testPassword, ClientIP: netip.MustParseAddr("198.51.100.7")})
		if err != nil {
			t.Fatal(err)
		}
		return res.SessionToken
	}
	token := login()
	cur, err := svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	cur.User.Email = "changed@by.caller" // a caller's change of its copy stays its own
	cur.Session.ReauthAt = f.clock.Now().Add(time.Hour)

	// Within the TTL the database is not asked: even down, the check holds.
	f.store.fail["SessionAccount"] = true
	f.clock.Add(900 * time.Millisecond)
	again, err := svc.Authenticate(ctx, token)
	if err != nil || again.User.Email != "staff@clinic.test" || !again.Session.ReauthAt.IsZero() {
		t.Fatalf("within the TTL: %+v, %v", again, err)
	}
	f.clock.Add(100 * time.Millisecond)
	if _, err := svc.Authenticate(ctx, token); gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("past the TTL with the database down: %v, want EUNAVAILABLE", err)
	}
	f.store.fail["SessionAccount"] = false

	// Another node ends the session: this one sees it within the TTL.
	if _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	hash := svc.HashTokenForTest(token)
	if err := f.db.DeleteSession(ctx, hash); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Second)
	if _, err := svc.Authenticate(ctx, token); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("a session ended elsewhere, a TTL later: %v", err)
	}

	// This node's sign-out, and an admin's change through a Revoking
	// store, take effect at the next check.
	token = login()
	if _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, token, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("right after this node's sign-out: %v", err)
	}
	token = login()
	if _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	admin := signin.Revoking(f.db, svc)
	disabled := true
	if _, err := admin.PatchUser(ctx, f.org.ID, f.user.ID, gatehouse.UserPatch{Disabled: &disabled}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("right after an admin disabled the user: %v", err)
	}
}

func TestTheSessionCacheIsBounded(t *testing.T) {
	f := newFixture(t)
	if _, err := signin.New(signin.Config{Store: f.store, Hasher: f.hasher, Messenger: f.inbox, NormalizePhone: func(s, _ string) (string, error) { return s, nil },
		Secret: make([]byte, 32), SessionCacheTTL: 2 * time.Second}); err == nil {
		t.Error("a session cache of 2 s was accepted (the bound is 1 s)")
	}
}
