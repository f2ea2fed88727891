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
