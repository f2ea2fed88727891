package signin_test

import (
	"context"
	"crypto/rand"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// benchService returns a service on a fresh SQLite file with one user,
// bench@bench.test, of an organization that does not enforce 2FA.
func benchService(b *testing.B, p password.Params) (*signin.Service, signin.LoginRequest) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	h := testHasher(b, password.HasherConfig{Params: p, Workers: 1})
	svc := newNode(b, db, withHasher(h), withSecret(make([]byte, 32)))
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor = false
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "bench", Name: "Bench", Settings: s}
	if err := db.CreateOrganization(ctx, org); err != nil {
		b.Fatal(err)
	}
	hash, err := h.Hash(ctx, testPassword)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.CreateUser(ctx, &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "bench@bench.test", Role: gatehouse.RoleMember, PasswordHash: hash}); err != nil {
		b.Fatal(err)
	}
	return svc, signin.LoginRequest{Organization: "bench", Email: "bench@bench.test", Password: testPassword, ClientIP: netip.MustParseAddr("192.0.2.1")}
}

// BenchmarkSignIn and BenchmarkRawArgon2id run in one invocation so the
// two can be compared on the same machine at the same moment
// (docs/design.md §8: sign-in throughput at least 90% of the raw hash rate):
//
//	go test -run '^$' -bench 'SignIn|RawArgon2id' -benchtime 200x ./internal/signin
func BenchmarkSignIn(b *testing.B) {
	svc, req := benchService(b, password.DefaultParams())
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Login(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawArgon2id(b *testing.B) {
	p := password.DefaultParams()
	for b.Loop() {
		if _, err := password.Hash(testPassword, p, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionCheck is GET /api/v1/session's work: no password hash,
// only indexed reads (docs/design.md §8: thousands per second on two cores).
func BenchmarkSessionCheck(b *testing.B) {
	svc, req := benchService(b, password.TestParams())
	ctx := context.Background()
	res, err := svc.Login(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Authenticate(ctx, res.SessionToken); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCodeVerification is POST /api/v1/login/verify's work: a right
// code for a pending sign-in, which ends it, starts the session and
// remembers the browser. No password is hashed; the pending sign-ins (one
// per user: the send caps are per user) are made outside the timer.
//
//	go test -run '^$' -bench 'CodeVerification|SessionCheck' -benchtime 2000x ./internal/signin
func BenchmarkCodeVerification(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	box := &inbox{}
	h := testHasher(b)
	svc := newNode(b, db, withHasher(h), withMessenger(box))
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "bench", Name: "Bench", Settings: gatehouse.DefaultPasswordSettings()}
	if err := db.CreateOrganization(ctx, org); err != nil {
		b.Fatal(err)
	}
	hash, err := h.Hash(ctx, testPassword)
	if err != nil {
		b.Fatal(err)
	}
	type pending struct{ token, code string }
	prepare := func(n int) []pending {
		out := make([]pending, 0, n)
		for i := range n {
			email := gatehouse.NewID() + "@bench.test"
			if err := db.CreateUser(ctx, &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: email, Role: gatehouse.RoleMember, PasswordHash: hash}); err != nil {
				b.Fatal(err)
			}
			// One client network each: the send caps count per network too.
			ip := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
			res, err := svc.Login(ctx, signin.LoginRequest{Organization: "bench", Email: email, Password: testPassword, ClientIP: ip})
			if err != nil || res.Pending == nil {
				b.Fatalf("login: %+v, %v", res, err)
			}
			out = append(out, pending{res.Pending.Token, box.lastCode(b).Code})
		}
		return out
	}
	todo := prepare(b.N)
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Verify(ctx, signin.VerifyRequest{PendingToken: todo[i].token, Code: todo[i].code, ClientIP: netip.MustParseAddr("192.0.2.1")}); err != nil {
			b.Fatal(err)
		}
	}
}
