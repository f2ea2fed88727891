package sqlstore

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// latest is the version of the last migration of dialect.
func latest(t *testing.T, dialect string) int {
	t.Helper()
	ms, err := loadMigrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	return ms[len(ms)-1].version
}

// TestMigrate holds Migrate and SchemaVersion to their contract: from
// nothing, from an old version, and on two nodes at once.
func TestMigrate(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a fresh database is at version 0, and migrating twice is a no-op", func(t *testing.T) {
			db := d.open(t, d.url(t))
			ctx := t.Context()
			if v, err := db.SchemaVersion(ctx); err != nil || v != 0 {
				t.Fatalf("SchemaVersion() = %d, %v; want 0, nil", v, err)
			}
			want := latest(t, db.Dialect())
			for i := range 2 {
				if err := db.Migrate(ctx); err != nil {
					t.Fatalf("Migrate #%d: %v", i+1, err)
				}
				if v, err := db.SchemaVersion(ctx); err != nil || v != want {
					t.Fatalf("after Migrate #%d: SchemaVersion() = %d, %v; want %d, nil", i+1, v, err, want)
				}
			}
			ms, err := loadMigrations(db.Dialect())
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
				t.Errorf("schema_migrations has %d rows (%v), want %d, one per migration", n, err, len(ms))
			}
		})

		t.Run("two nodes migrating a fresh database at once both succeed", func(t *testing.T) {
			url := d.url(t)
			a, b := d.open(t, url), d.open(t, url)
			race(t, 2, func(i int) (bool, error) { return true, []*DB{a, b}[i].Migrate(t.Context()) })
			want := latest(t, a.Dialect())
			if v, err := b.SchemaVersion(t.Context()); err != nil || v != want {
				t.Errorf("SchemaVersion() = %d, %v; want %d, nil", v, err, want)
			}
		})

		t.Run("a database at version 1 migrates on, keeping its users and sessions with the new columns at their zero", func(t *testing.T) {
			db := d.open(t, d.url(t))
			ctx := t.Context()
			ms, err := loadMigrations(db.Dialect())
			if err != nil {
				t.Fatal(err)
			}
			if err := db.apply(ctx, ms[0]); err != nil {
				t.Fatal(err)
			}
			// The organization as the code of version 1 wrote it.
			org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: "clinic", Name: "Org clinic", Settings: gatehouse.DefaultPasswordSettings(),
				CreatedAt: t0, UpdatedAt: t0}
			if _, err := db.write.ExecContext(ctx, `
				INSERT INTO organizations (id, slug, name, enforce_two_factor, otp_method, skip_networks, remember_days, auth_method,
					created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, '[]', $6, $7, $8, $8)`,
				org.ID, org.Slug, org.Name, org.Settings.EnforceTwoFactor, string(org.Settings.OTPMethod), org.Settings.RememberDays,
				string(org.Settings.AuthMethod), millis(t0)); err != nil {
				t.Fatal(err)
			}
			want := &gatehouse.User{ID: gatehouse.NewID(), OrgID: org.ID, Email: "ann@example.com", Name: "Ann",
				Role: gatehouse.RoleMember, PasswordHash: "$argon2id$ann", CreatedAt: t0, UpdatedAt: t0}
			// The columns of version 1, as the code of then wrote them.
			if _, err := db.write.ExecContext(ctx, `
				INSERT INTO users (id, org_id, email, name, phone, role, disabled, two_factor_exempt,
					password_hash, created_at, updated_at)
				VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10)`,
				want.ID, want.OrgID, want.Email, want.Name, string(want.Role), false, false, want.PasswordHash,
				millis(t0), millis(t0)); err != nil {
				t.Fatal(err)
			}
			session := &gatehouse.Session{TokenHash: []byte("session-of-ann"), UserID: want.ID, OrgID: org.ID,
				TwoFactorState: gatehouse.TwoFactorNotEnforced, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if _, err := db.write.ExecContext(ctx, `
				INSERT INTO sessions (token_hash, user_id, org_id, two_factor_state, client_ip, user_agent,
					created_at, last_seen_at, expires_at)
				VALUES ($1, $2, $3, $4, '', '', $5, $5, $6)`,
				session.TokenHash, want.ID, org.ID, session.TwoFactorState, millis(t0), millis(session.ExpiresAt)); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := db.UserByID(ctx, org.ID, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "the user after migrating (no locale)", got, want)
			gotOrg, err := db.OrganizationByID(ctx, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "the organization after migrating (no time zone, no country)", gotOrg, org)
			gotSession, err := db.SessionByTokenHash(ctx, session.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if gotSession.PublicID == "" {
				t.Error("the session after migrating has no public id")
			}
			session.PublicID = gotSession.PublicID
			checkEqual(t, "the session after migrating (never re-authenticated)", gotSession, session)
		})
	})
}
