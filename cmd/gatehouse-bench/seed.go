package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/password"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// benchPassword is the one password of every seeded user.
const benchPassword = "correct horse battery staple 12"

// account is one seeded user as a client signs in.
type account struct{ org, email string }

// population is what seed wrote.
type population struct {
	orgs int
	// open are users of organizations that do not enforce 2FA; twoFactor
	// of those that send a code by e-mail; both have the server's hash.
	open, twoFactor []account
	// pool are users of the organization "bench-codes" (2FA by e-mail),
	// whose hash has the cheap test parameters: the code figure prepares
	// its pending sign-ins with them (prepareCodes) and never signs them in
	// with a password over HTTP.
	pool []account
}

const seedBatch = 5000

// seed writes the organizations and users of the benchmark straight
// through sqlstore, seedBatch users a transaction: users users in
// max(2, users/100) organizations, the even ones enforcing 2FA by e-mail and
// the odd ones not, plus the organization "bench-codes" with poolUsers users.
// Every user of the first kind gets the same PHC string, phc; the pool's
// users one hash with password.TestParams.
//
// TODO(lead): seed through the bulk import (gatehouse user import, issue 12,
// branch import) once it lands: write a CSV per organization with
// email,password_hash and run the import, so that the benchmark also
// exercises and times the import.
func seed(ctx context.Context, db *sqlstore.DB, users, poolUsers int, phc string) (*population, error) {
	pop := &population{orgs: max(2, users/100)}
	now := time.Now()
	orgIDs := make([]string, pop.orgs)
	for j := range pop.orgs {
		s := gatehouse.DefaultPasswordSettings()
		s.EnforceTwoFactor, s.OTPMethod = j%2 == 0, gatehouse.OTPEmail
		org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: fmt.Sprintf("bench-%d", j), Name: fmt.Sprintf("Bench %d", j), Settings: s}
		if err := db.CreateOrganization(ctx, org); err != nil {
			return nil, fmt.Errorf("seed organization %d: %w", j, err)
		}
		orgIDs[j] = org.ID
	}
	batch := make([]*gatehouse.User, 0, seedBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := db.CreateUsers(ctx, batch)
		batch = batch[:0]
		return err
	}
	add := func(orgID, email, hash string) error {
		batch = append(batch, &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Role: gatehouse.RoleMember,
			PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
		if len(batch) == seedBatch {
			return flush()
		}
		return nil
	}
	for i := range users {
		j := i % pop.orgs
		a := account{org: fmt.Sprintf("bench-%d", j), email: fmt.Sprintf("u%d@o%d.bench.test", i, j)}
		if j%2 == 0 {
			pop.twoFactor = append(pop.twoFactor, a)
		} else {
			pop.open = append(pop.open, a)
		}
		if err := add(orgIDs[j], a.email, phc); err != nil {
			return nil, fmt.Errorf("seed users: %w", err)
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	s := gatehouse.DefaultPasswordSettings()
	s.EnforceTwoFactor, s.OTPMethod = true, gatehouse.OTPEmail
	codes := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "bench-codes", Name: "Bench codes", Settings: s}
	if err := db.CreateOrganization(ctx, codes); err != nil {
		return nil, fmt.Errorf("seed organization bench-codes: %w", err)
	}
	cheap, err := password.Hash(benchPassword, password.TestParams(), rand.Reader)
	if err != nil {
		return nil, err
	}
	for i := range poolUsers {
		a := account{org: codes.Slug, email: fmt.Sprintf("c%d@codes.bench.test", i)}
		pop.pool = append(pop.pool, a)
		if err := add(codes.ID, a.email, cheap); err != nil {
			return nil, fmt.Errorf("seed users: %w", err)
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	return pop, nil
}
