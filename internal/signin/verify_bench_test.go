package signin_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// BenchmarkVerifyCode is POST /api/v1/login/verify's work: a right code
// for a pending sign-in, prepared before the timer, each verified once. It
// never hashes a password (docs/design.md §8); run it beside the session
// check and the sign-in to set it against them:
//
//	go test -run '^$' -bench 'VerifyCode|SessionCheck|SignIn|RawArgon2id' -benchtime 200x ./internal/signin
func BenchmarkVerifyCode(b *testing.B) {
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
	h := testHasher(b) // cheap hashes: only the preparation checks them
	svc := newNode(b, db, withHasher(h), withMessenger(box))
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "bench", Name: "Bench", Settings: gatehouse.DefaultPasswordSettings()} // 2FA by e-mail
	if err := db.CreateOrganization(ctx, org); err != nil {
		b.Fatal(err)
	}
	hash, err := h.Hash(ctx, testPassword)
	if err != nil {
		b.Fatal(err)
	}
	users := make([]*gatehouse.User, b.N)
	for i := range users {
		users[i] = &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: fmt.Sprintf("u%d@bench.test", i), Role: gatehouse.RoleMember, PasswordHash: hash}
	}
	if err := db.CreateUsers(ctx, users); err != nil {
		b.Fatal(err)
	}
	reqs := make([]signin.VerifyRequest, b.N)
	for i, u := range users {
		// An address of its own for each: the send caps count per /24.
		ip := netip.AddrFrom4([4]byte{10 + byte(i>>16), byte(i >> 8), byte(i), 1})
		res, err := svc.Login(ctx, signin.LoginRequest{Organization: "bench", Email: u.Email, Password: testPassword, ClientIP: ip})
		if err != nil {
			b.Fatal(err)
		}
		if res.Pending == nil {
			b.Fatalf("%s signed in without a code", u.Email)
		}
		box.mu.Lock()
		code := box.codes[len(box.codes)-1].Code
		box.mu.Unlock()
		reqs[i] = signin.VerifyRequest{PendingToken: res.Pending.Token, Code: code, ClientIP: ip}
	}
	b.ResetTimer()
	for i := range b.N {
		res, err := svc.Verify(ctx, reqs[i])
		if err != nil {
			b.Fatal(err)
		}
		if res.SessionToken == "" {
			b.Fatal("verified without a session")
		}
	}
}
