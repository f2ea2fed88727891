package sqlstore

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// t0 has whole milliseconds, which is what the store keeps.
var t0 = time.Date(2026, 11, 27, 9, 30, 0, 123_000_000, time.UTC)

// testStore holds one database to the gatehouse.Store contract. newURL
// returns the URL of a fresh, empty database; every subtest gets its own.
func testStore(t *testing.T, newURL func(t *testing.T) string) {
	open := func(t *testing.T, url string) *DB {
		t.Helper()
		db, err := Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	fresh := func(t *testing.T) *DB {
		t.Helper()
		db := open(t, newURL(t))
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return db
	}
	latest := func(t *testing.T, dialect string) int {
		ms, err := loadMigrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		return ms[len(ms)-1].version
	}

	t.Run("a fresh database is at version 0, and migrating twice is a no-op", func(t *testing.T) {
		db := open(t, newURL(t))
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
		url := newURL(t)
		a, b := open(t, url), open(t, url)
		race(t, 2, func(i int) (bool, error) { return true, []*DB{a, b}[i].Migrate(t.Context()) })
		want := latest(t, a.Dialect())
		if v, err := b.SchemaVersion(t.Context()); err != nil || v != want {
			t.Errorf("SchemaVersion() = %d, %v; want %d, nil", v, err, want)
		}
	})

	t.Run("an organization round-trips through create, slug, id and list", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := &gatehouse.Organization{
			ID: gatehouse.NewID(), Slug: "clinic", Name: "The Clinic",
			Settings: gatehouse.PasswordSettings{
				EnforceTwoFactor: true,
				OTPMethod:        gatehouse.OTPSMS,
				SkipNetworks:     []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/48")},
				RememberDays:     7,
				AuthMethod:       gatehouse.AuthPassword,
			},
			CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
		}
		if err := db.CreateOrganization(ctx, org); err != nil {
			t.Fatal(err)
		}
		other := newOrg(t, db, "another")

		bySlug, err := db.OrganizationBySlug(ctx, "clinic")
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "OrganizationBySlug", bySlug, org)
		byID, err := db.OrganizationByID(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "OrganizationByID", byID, org)

		list, err := db.ListOrganizations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ListOrganizations", list, []*gatehouse.Organization{other, org})
	})

	t.Run("updating password settings replaces them as a whole", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		for _, s := range []gatehouse.PasswordSettings{
			{EnforceTwoFactor: false, OTPMethod: gatehouse.OTPSMS, SkipNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, RememberDays: 0, AuthMethod: gatehouse.AuthPassword},
			{EnforceTwoFactor: false, OTPMethod: gatehouse.OTPEmail, RememberDays: 365, AuthMethod: gatehouse.AuthSAML2},
			{EnforceTwoFactor: true, OTPMethod: gatehouse.OTPEmail, RememberDays: 30, AuthMethod: gatehouse.AuthPassword},
		} {
			at := t0.Add(time.Hour)
			if err := db.UpdatePasswordSettings(ctx, org.ID, s, at); err != nil {
				t.Fatal(err)
			}
			got, err := db.OrganizationByID(ctx, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *org
			want.Settings, want.UpdatedAt = s, at
			checkEqual(t, "after UpdatePasswordSettings", got, &want)
		}
	})

	t.Run("a taken slug is a conflict", func(t *testing.T) {
		db := fresh(t)
		newOrg(t, db, "clinic")
		err := db.CreateOrganization(t.Context(), &gatehouse.Organization{
			ID: gatehouse.NewID(), Slug: "clinic", Name: "Another", Settings: gatehouse.DefaultPasswordSettings(),
		})
		checkCode(t, "CreateOrganization", err, gatehouse.ECONFLICT)
		if want := `An organization with the slug "clinic" already exists.`; gatehouse.ErrorMessage(err) != want {
			t.Errorf("message = %q, want %q", gatehouse.ErrorMessage(err), want)
		}
	})

	t.Run("a missing organization is not found", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		_, err := db.OrganizationBySlug(ctx, "nobody")
		checkCode(t, "OrganizationBySlug", err, gatehouse.ENOTFOUND)
		_, err = db.OrganizationByID(ctx, gatehouse.NewID())
		checkCode(t, "OrganizationByID", err, gatehouse.ENOTFOUND)
		err = db.UpdatePasswordSettings(ctx, gatehouse.NewID(), gatehouse.DefaultPasswordSettings(), t0)
		checkCode(t, "UpdatePasswordSettings", err, gatehouse.ENOTFOUND)
		list, err := db.ListOrganizations(ctx)
		if err != nil || list == nil || len(list) != 0 {
			t.Errorf("ListOrganizations() = %v, %v; want an empty list", list, err)
		}
	})

	t.Run("a user round-trips through create, e-mail and id", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		full := &gatehouse.User{
			ID: gatehouse.NewID(), OrgID: org.ID, Email: "ann@example.com", Name: "Ann",
			Phone: "+358401234567", Role: gatehouse.RoleAdmin, Disabled: true, TwoFactorExempt: true,
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
			OTPFailures:  12, OTPLastFailureAt: t0.Add(-time.Hour), LastVerifiedAt: t0.Add(-24 * time.Hour),
			Locale: "fi", CreatedAt: t0, UpdatedAt: t0.Add(time.Minute),
		}
		bare := &gatehouse.User{ // no phone, no password: NULLs come back as ""; never failed or verified: zero times; no locale
			ID: gatehouse.NewID(), OrgID: org.ID, Email: "bob@example.com", Role: gatehouse.RoleMember,
			CreatedAt: t0, UpdatedAt: t0,
		}
		for _, u := range []*gatehouse.User{full, bare} {
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			got, err := db.UserByEmail(ctx, org.ID, u.Email)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "UserByEmail", got, u)
			got, err = db.UserByID(ctx, org.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "UserByID", got, u)
		}
		_, err := db.UserByEmail(ctx, org.ID, "nobody@example.com")
		checkCode(t, "UserByEmail of nobody", err, gatehouse.ENOTFOUND)
		_, err = db.UserByID(ctx, org.ID, gatehouse.NewID())
		checkCode(t, "UserByID of nobody", err, gatehouse.ENOTFOUND)
	})

	t.Run("users list by e-mail a page at a time", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		newUser(t, db, newOrg(t, db, "other").ID, "aaa@example.com") // not listed
		// Byte order, on both databases: "a.b" < "ab" < "b", upper case never occurs.
		emails := []string{"b@example.com", "ab@example.com", "a.b@example.com", "c@example.com", "a_z@example.com"}
		for _, e := range emails {
			newUser(t, db, org.ID, e)
		}
		slices.Sort(emails)
		var got []string
		after := ""
		for page := 0; ; page++ {
			users, err := db.ListUsers(ctx, org.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(users) > 2 {
				t.Fatalf("page %d has %d users, want at most 2", page, len(users))
			}
			if len(users) == 0 {
				break
			}
			for _, u := range users {
				got = append(got, u.Email)
			}
			after = users[len(users)-1].Email
		}
		if !slices.Equal(got, emails) {
			t.Errorf("paged through %v, want %v", got, emails)
		}
		if users, err := db.ListUsers(ctx, org.ID, "", 0); err != nil || len(users) != 0 {
			t.Errorf("ListUsers(limit 0) = %d users, %v; want none", len(users), err)
		}
	})

	t.Run("updating a user saves the profile but not the password", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		u := newUser(t, db, org.ID, "ann@example.com")
		changed := *u
		changed.Email, changed.Name, changed.Phone = "ann.other@example.com", "Ann Other", "+358409999999"
		changed.Role, changed.Disabled, changed.TwoFactorExempt = gatehouse.RoleAdmin, true, true
		changed.Locale = "sv"
		changed.PasswordHash = "ignored"
		changed.UpdatedAt = t0.Add(time.Hour)
		if err := db.UpdateUser(ctx, &changed); err != nil {
			t.Fatal(err)
		}
		got, err := db.UserByID(ctx, org.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := changed
		want.PasswordHash = u.PasswordHash
		checkEqual(t, "after UpdateUser", got, &want)

		// And back: clearing the phone stores no phone.
		changed.Phone = ""
		if err := db.UpdateUser(ctx, &changed); err != nil {
			t.Fatal(err)
		}
		if got, err := db.UserByID(ctx, org.ID, u.ID); err != nil || got.Phone != "" {
			t.Errorf("after clearing the phone: %+v, %v", got, err)
		}
	})

	t.Run("setting a password hash replaces it", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		u := newUser(t, db, org.ID, "ann@example.com")
		at := t0.Add(time.Hour)
		if err := db.SetPasswordHash(ctx, org.ID, u.ID, "$argon2id$new", at); err != nil {
			t.Fatal(err)
		}
		got, err := db.UserByID(ctx, org.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PasswordHash != "$argon2id$new" || !got.UpdatedAt.Equal(at) {
			t.Errorf("got hash %q updated %v, want %q and %v", got.PasswordHash, got.UpdatedAt, "$argon2id$new", at)
		}
		err = db.SetPasswordHash(ctx, org.ID, gatehouse.NewID(), "$argon2id$x", at)
		checkCode(t, "SetPasswordHash of nobody", err, gatehouse.ENOTFOUND)
	})

	t.Run("a taken e-mail is a conflict within an organization but not across organizations", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		first := newUser(t, db, a.ID, "ann@example.com")
		err := db.CreateUser(ctx, &gatehouse.User{ID: gatehouse.NewID(), OrgID: a.ID, Email: "ann@example.com", Role: gatehouse.RoleMember})
		checkCode(t, "CreateUser with a taken e-mail", err, gatehouse.ECONFLICT)
		if want := "A user with that e-mail address already exists in this organization."; gatehouse.ErrorMessage(err) != want {
			t.Errorf("message = %q, want %q", gatehouse.ErrorMessage(err), want)
		}
		inB := newUser(t, db, b.ID, "ann@example.com")
		if inB.ID == first.ID {
			t.Fatal("two users share an id")
		}

		second := newUser(t, db, a.ID, "bob@example.com")
		second.Email = "ann@example.com"
		checkCode(t, "UpdateUser to a taken e-mail", db.UpdateUser(ctx, second), gatehouse.ECONFLICT)
	})

	t.Run("a user of one organization is not found through another", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		u := newUser(t, db, a.ID, "ann@example.com")
		hash := []byte("session-of-ann-in-a-000000000000")
		newSession(t, db, u, hash)

		_, err := db.UserByID(ctx, b.ID, u.ID)
		checkCode(t, "UserByID", err, gatehouse.ENOTFOUND)
		_, err = db.UserByEmail(ctx, b.ID, u.Email)
		checkCode(t, "UserByEmail", err, gatehouse.ENOTFOUND)
		checkCode(t, "SetPasswordHash", db.SetPasswordHash(ctx, b.ID, u.ID, "$argon2id$attacker", t0), gatehouse.ENOTFOUND)
		moved := *u
		moved.OrgID, moved.Role = b.ID, gatehouse.RoleAdmin
		checkCode(t, "UpdateUser", db.UpdateUser(ctx, &moved), gatehouse.ENOTFOUND)
		if err := db.DeleteUserSessions(ctx, b.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		if users, err := db.ListUsers(ctx, b.ID, "", 10); err != nil || len(users) != 0 {
			t.Errorf("ListUsers of the other organization = %d users, %v; want none", len(users), err)
		}

		got, err := db.UserByID(ctx, a.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "the user, untouched", got, u)
		if _, err := db.SessionByTokenHash(ctx, hash); err != nil {
			t.Errorf("the user's session: %v, want it kept", err)
		}
	})

	t.Run("a session cannot name a user of another organization", func(t *testing.T) {
		db := fresh(t)
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		u := newUser(t, db, a.ID, "ann@example.com")
		s := &gatehouse.Session{TokenHash: []byte("h"), UserID: u.ID, OrgID: b.ID, TwoFactorState: gatehouse.TwoFactorVerified,
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
		checkCode(t, "CreateSession", db.CreateSession(t.Context(), s), gatehouse.ENOTFOUND)
	})

	t.Run("creating a user in a missing organization is not found", func(t *testing.T) {
		db := fresh(t)
		err := db.CreateUser(t.Context(), &gatehouse.User{ID: gatehouse.NewID(), OrgID: gatehouse.NewID(), Email: "ann@example.com", Role: gatehouse.RoleMember})
		checkCode(t, "CreateUser", err, gatehouse.ENOTFOUND)
	})

	t.Run("a session round-trips to the millisecond, in UTC", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		helsinki := time.FixedZone("EET", 2*60*60)
		created := time.Date(2026, 11, 27, 11, 30, 0, 123_456_789, helsinki)
		for _, ip := range []string{"203.0.113.9", "2001:db8::1", "fe80::1%eth0", ""} {
			hash := []byte("token-hash-" + ip)
			s := &gatehouse.Session{
				TokenHash: hash, UserID: u.ID, OrgID: u.OrgID, TwoFactorState: gatehouse.TwoFactorRemembered,
				UserAgent: "Mozilla/5.0", CreatedAt: created, LastSeenAt: created.Add(time.Minute),
				ExpiresAt: created.Add(7 * 24 * time.Hour),
			}
			if ip != "" { // and without an address, never re-authenticated: a zero ReauthAt
				s.ClientIP = netip.MustParseAddr(ip)
				s.ReauthAt = created.Add(2 * time.Minute)
			}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := db.SessionByTokenHash(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			want := *s
			want.CreatedAt = s.CreatedAt.Truncate(time.Millisecond).UTC()
			want.LastSeenAt = s.LastSeenAt.Truncate(time.Millisecond).UTC()
			want.ExpiresAt = s.ExpiresAt.Truncate(time.Millisecond).UTC()
			if !s.ReauthAt.IsZero() {
				want.ReauthAt = s.ReauthAt.Truncate(time.Millisecond).UTC()
			}
			checkEqual(t, "SessionByTokenHash", got, &want)
		}
		_, err := db.SessionByTokenHash(ctx, []byte("no such token"))
		checkCode(t, "SessionByTokenHash of nothing", err, gatehouse.ENOTFOUND)
	})

	t.Run("touching a session moves its last activity forward only", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		hash := []byte("h")
		newSession(t, db, u, hash)
		for _, c := range []struct {
			touch, want time.Time
		}{
			{t0.Add(time.Minute), t0.Add(time.Minute)},
			{t0.Add(30 * time.Second), t0.Add(time.Minute)}, // late arrival from another node
			{t0.Add(time.Hour), t0.Add(time.Hour)},
		} {
			if err := db.TouchSession(ctx, hash, c.touch); err != nil {
				t.Fatal(err)
			}
			s, err := db.SessionByTokenHash(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			if !s.LastSeenAt.Equal(c.want) {
				t.Errorf("after touching at %v: LastSeenAt = %v, want %v", c.touch, s.LastSeenAt, c.want)
			}
		}
		checkCode(t, "TouchSession of nothing", db.TouchSession(ctx, []byte("gone"), t0), gatehouse.ENOTFOUND)
	})

	t.Run("sessions end one at a time, by user, or by expiry", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
		for _, h := range []string{"ann-1", "ann-2"} {
			newSession(t, db, ann, []byte(h))
		}
		newSession(t, db, bob, []byte("bob-1"))

		if err := db.DeleteSession(ctx, []byte("ann-1")); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteSession(ctx, []byte("ann-1")); err != nil {
			t.Errorf("ending a missing session: %v, want nil", err)
		}
		_, err := db.SessionByTokenHash(ctx, []byte("ann-1"))
		checkCode(t, "SessionByTokenHash after DeleteSession", err, gatehouse.ENOTFOUND)

		newSession(t, db, ann, []byte("ann-3"))
		if err := db.DeleteUserSessions(ctx, org.ID, ann.ID); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"ann-2", "ann-3"} {
			_, err := db.SessionByTokenHash(ctx, []byte(h))
			checkCode(t, "SessionByTokenHash after DeleteUserSessions", err, gatehouse.ENOTFOUND)
		}
		if _, err := db.SessionByTokenHash(ctx, []byte("bob-1")); err != nil {
			t.Errorf("another user's session: %v, want it kept", err)
		}

		// newSession: created and last seen at t0, expires at t0+7d.
		now, idle := t0.Add(24*time.Hour), 12*time.Hour
		mk := func(h string, lastSeen, expires time.Time) {
			s := &gatehouse.Session{TokenHash: []byte(h), UserID: bob.ID, OrgID: org.ID, TwoFactorState: gatehouse.TwoFactorVerified,
				CreatedAt: t0, LastSeenAt: lastSeen, ExpiresAt: expires}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		mk("live", now.Add(-time.Hour), now.Add(time.Hour))
		mk("past-absolute", now.Add(-time.Minute), now)
		mk("idle", now.Add(-idle), now.Add(time.Hour))
		if err := db.TouchSession(ctx, []byte("bob-1"), now.Add(-idle).Add(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeleteExpiredSessions(ctx, now, now.Add(-idle))
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("DeleteExpiredSessions removed %d, want 2", n)
		}
		for h, kept := range map[string]bool{"live": true, "bob-1": true, "past-absolute": false, "idle": false} {
			_, err := db.SessionByTokenHash(ctx, []byte(h))
			if kept && err != nil || !kept && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("session %q: %v; want kept %v", h, err, kept)
			}
		}
	})

	t.Run("failures count up within the window and start again after it", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		const window = 15 * time.Minute
		if th, err := db.Throttle(ctx, "acct:ann"); err != nil || th != (gatehouse.Throttle{}) {
			t.Fatalf("Throttle of a new key = %+v, %v; want zero", th, err)
		}
		for _, c := range []struct {
			at   time.Time
			want int
		}{
			{t0, 1},
			{t0.Add(time.Minute), 2},
			{t0.Add(time.Minute + window), 3}, // exactly the window: still counting
			{t0.Add(time.Minute + 2*window + time.Millisecond), 1},
			{t0.Add(time.Minute + 2*window + 2*time.Millisecond), 2},
		} {
			th, err := db.RecordFailure(ctx, "acct:ann", c.at, window)
			if err != nil {
				t.Fatal(err)
			}
			if th.Failures != c.want || !th.LastFailure.Equal(c.at) {
				t.Errorf("RecordFailure at %v = %+v, want %d failures last at %v", c.at, th, c.want, c.at)
			}
			got, err := db.Throttle(ctx, "acct:ann")
			if err != nil || got != th {
				t.Errorf("Throttle() = %+v, %v; want %+v", got, err, th)
			}
		}
		if th, err := db.Throttle(ctx, "ip:203.0.113.9"); err != nil || th.Failures != 0 {
			t.Errorf("another key = %+v, %v; want zero", th, err)
		}
	})

	t.Run("clearing failures forgets the count", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		for range 3 {
			if _, err := db.RecordFailure(ctx, "acct:ann", t0, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.RecordFailure(ctx, "acct:bob", t0, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := db.ClearFailures(ctx, "acct:ann"); err != nil {
			t.Fatal(err)
		}
		if err := db.ClearFailures(ctx, "acct:nobody"); err != nil {
			t.Errorf("clearing a missing key: %v", err)
		}
		if th, err := db.Throttle(ctx, "acct:ann"); err != nil || th != (gatehouse.Throttle{}) {
			t.Errorf("after ClearFailures: %+v, %v; want zero", th, err)
		}
		if th, err := db.RecordFailure(ctx, "acct:ann", t0, time.Hour); err != nil || th.Failures != 1 {
			t.Errorf("the next failure: %+v, %v; want 1", th, err)
		}
		if th, err := db.Throttle(ctx, "acct:bob"); err != nil || th.Failures != 1 {
			t.Errorf("another key: %+v, %v; want 1 failure", th, err)
		}
	})

	t.Run("twenty concurrent failures on one key count to exactly twenty", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		const n = 20
		counts := make([]int, n)
		race(t, n, func(i int) (bool, error) {
			th, err := db.RecordFailure(ctx, "acct:ann", t0.Add(time.Duration(i)*time.Millisecond), time.Hour)
			counts[i] = th.Failures
			return true, err
		})
		slices.Sort(counts)
		for i, c := range counts {
			if c != i+1 {
				t.Fatalf("the calls returned %v, want each of 1 to %d once", counts, n)
			}
		}
		if th, err := db.Throttle(ctx, "acct:ann"); err != nil || th.Failures != n {
			t.Errorf("Throttle() = %+v, %v; want %d failures", th, err, n)
		}
	})

	t.Run("the audit log lists an organization's events newest first, a page at a time", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		var inA []*gatehouse.AuditEvent
		for i := range 5 {
			for _, orgID := range []string{a.ID, b.ID, ""} {
				e := &gatehouse.AuditEvent{
					OrgID: orgID, UserID: "u" + orgID, ActorID: "admin", Event: gatehouse.AuditLoginSucceeded,
					Reason: gatehouse.TwoFactorAllowedNetwork, ClientIP: netip.MustParseAddr("2001:db8::7"),
					Detail: map[string]string{"network": "2001:db8::/48", "n": fmt.Sprint(i)},
					At:     t0.Add(time.Duration(i) * time.Second),
				}
				if i == 0 { // no address, no detail
					e.ClientIP, e.Detail = netip.Addr{}, nil
				}
				if err := db.AppendAudit(ctx, e); err != nil {
					t.Fatal(err)
				}
				if e.ID == 0 {
					t.Fatal("AppendAudit did not set the ID")
				}
				if orgID == a.ID {
					inA = append(inA, e)
				}
			}
		}
		slices.Reverse(inA)

		first, err := db.ListAudit(ctx, a.ID, 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "first page", first, inA[:3])
		second, err := db.ListAudit(ctx, a.ID, first[len(first)-1].ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "second page", second, inA[3:])
		if rest, err := db.ListAudit(ctx, a.ID, second[len(second)-1].ID, 3); err != nil || len(rest) != 0 {
			t.Errorf("past the last page: %d events, %v; want none", len(rest), err)
		}
		if none, err := db.ListAudit(ctx, gatehouse.NewID(), 0, 10); err != nil || none == nil || len(none) != 0 {
			t.Errorf("an organization without events: %v, %v; want an empty list", none, err)
		}
	})

	t.Run("the outbox lists messages newest first", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		var msgs []*gatehouse.OutboxMessage
		for i, ch := range []string{"email", "sms", "email"} {
			m := &gatehouse.OutboxMessage{Channel: ch, To: fmt.Sprintf("to-%d", i), Subject: "Your code",
				Body: "Your code is 123456.\n\n@gatehouse.example #123456", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			if err := db.AddOutboxMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		got, err := db.ListOutboxMessages(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ListOutboxMessages", got, []*gatehouse.OutboxMessage{msgs[2], msgs[1]})
	})
	t.Run("a database at version 1 migrates on, keeping its users and sessions with the new columns at their zero", func(t *testing.T) {
		db := open(t, newURL(t))
		ctx := t.Context()
		ms, err := loadMigrations(db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.apply(ctx, ms[0]); err != nil {
			t.Fatal(err)
		}
		org := newOrg(t, db, "clinic")
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

	t.Run("code failures per user count up, reset and round-trip through every user query", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		ann := newUser(t, db, a.ID, "ann@example.com")
		bob := newUser(t, db, a.ID, "bob@example.com")
		check := func(what string, failures int, lastFailure, verified time.Time) {
			t.Helper()
			want := *ann
			want.OTPFailures, want.OTPLastFailureAt, want.LastVerifiedAt = failures, lastFailure, verified
			byID, err := db.UserByID(ctx, a.ID, ann.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, what+": UserByID", byID, &want)
			byEmail, err := db.UserByEmail(ctx, a.ID, ann.Email)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, what+": UserByEmail", byEmail, &want)
			list, err := db.ListUsers(ctx, a.ID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, what+": ListUsers", list, []*gatehouse.User{&want, bob})
		}
		check("a new user", 0, time.Time{}, time.Time{})

		for i, at := range []time.Time{t0, t0.Add(time.Minute)} {
			n, err := db.RecordOTPFailure(ctx, a.ID, ann.ID, at)
			if err != nil || n != i+1 {
				t.Fatalf("RecordOTPFailure #%d = %d, %v; want %d", i+1, n, err, i+1)
			}
		}
		check("after two failures", 2, t0.Add(time.Minute), time.Time{})

		// An admin's unlock: no verification to record.
		if err := db.ResetOTPFailures(ctx, a.ID, ann.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		check("after an unlock", 0, t0.Add(time.Minute), time.Time{})

		if n, err := db.RecordOTPFailure(ctx, a.ID, ann.ID, t0.Add(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("RecordOTPFailure after the reset = %d, %v; want 1", n, err)
		}
		if err := db.ResetOTPFailures(ctx, a.ID, ann.ID, t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		check("after a right code", 0, t0.Add(2*time.Minute), t0.Add(3*time.Minute))
		if err := db.ResetOTPFailures(ctx, a.ID, ann.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		check("an unlock keeps the last verification", 0, t0.Add(2*time.Minute), t0.Add(3*time.Minute))

		// Saving the profile leaves the counters alone.
		if _, err := db.RecordOTPFailure(ctx, a.ID, ann.ID, t0.Add(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
		changed := *ann
		changed.Name = "Ann Other"
		if err := db.UpdateUser(ctx, &changed); err != nil {
			t.Fatal(err)
		}
		ann.Name = "Ann Other"
		check("after UpdateUser", 1, t0.Add(4*time.Minute), t0.Add(3*time.Minute))

		_, err := db.RecordOTPFailure(ctx, b.ID, ann.ID, t0)
		checkCode(t, "RecordOTPFailure through another organization", err, gatehouse.ENOTFOUND)
		checkCode(t, "ResetOTPFailures through another organization",
			db.ResetOTPFailures(ctx, b.ID, ann.ID, t0), gatehouse.ENOTFOUND)
		_, err = db.RecordOTPFailure(ctx, a.ID, gatehouse.NewID(), t0)
		checkCode(t, "RecordOTPFailure of nobody", err, gatehouse.ENOTFOUND)
		check("untouched by the other organization", 1, t0.Add(4*time.Minute), t0.Add(3*time.Minute))
	})

	t.Run("twenty concurrent code failures of one user count to exactly twenty", func(t *testing.T) {
		db := fresh(t)
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		const n = 20
		counts := make([]int, n)
		race(t, n, func(i int) (bool, error) {
			var err error
			counts[i], err = db.RecordOTPFailure(t.Context(), u.OrgID, u.ID, t0)
			return true, err
		})
		slices.Sort(counts)
		for i, c := range counts {
			if c != i+1 {
				t.Fatalf("the calls returned %v, want each of 1 to %d once", counts, n)
			}
		}
	})

	t.Run("a challenge round-trips by token hash and by id, only for its user in its organization", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		ann, bob := newUser(t, db, a.ID, "ann@example.com"), newUser(t, db, a.ID, "bob@example.com")
		full := &gatehouse.Challenge{
			ID: gatehouse.NewID(), TokenHash: codeHash("pending-of-ann"), Kind: gatehouse.ChallengeChangePhone,
			OrgID: a.ID, UserID: ann.ID, Channel: gatehouse.OTPSMS, Destination: "+358401234567",
			NewValue: "+358409999999", Step: 2, Failures: 1, Sends: 2, LastSentAt: t0.Add(time.Second),
			ClientIP: netip.MustParseAddr("2001:db8::1"), UserAgent: "Mozilla/5.0",
			CreatedAt: t0, ExpiresAt: t0.Add(gatehouse.ChallengeLifetime),
		}
		bare := &gatehouse.Challenge{ // no cookie of its own, no address, never sent
			ID: gatehouse.NewID(), Kind: gatehouse.ChallengeChangeEmail, OrgID: a.ID, UserID: ann.ID,
			Channel: gatehouse.OTPEmail, Step: 1, CreatedAt: t0, ExpiresAt: t0.Add(gatehouse.ChallengeLifetime),
		}
		for _, c := range []*gatehouse.Challenge{full, bare} {
			if err := db.CreateChallenge(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := db.ChallengeByID(ctx, a.ID, ann.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "ChallengeByID", got, c)
		}
		got, err := db.ChallengeByTokenHash(ctx, full.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ChallengeByTokenHash", got, full)

		_, err = db.ChallengeByID(ctx, b.ID, ann.ID, full.ID)
		checkCode(t, "ChallengeByID through another organization", err, gatehouse.ENOTFOUND)
		_, err = db.ChallengeByID(ctx, a.ID, bob.ID, full.ID)
		checkCode(t, "ChallengeByID for another user", err, gatehouse.ENOTFOUND)
		_, err = db.ChallengeByTokenHash(ctx, codeHash("nothing"))
		checkCode(t, "ChallengeByTokenHash of nothing", err, gatehouse.ENOTFOUND)
		_, err = db.ChallengeByTokenHash(ctx, nil)
		checkCode(t, "ChallengeByTokenHash of no hash", err, gatehouse.ENOTFOUND)

		moved := *full
		moved.ID, moved.TokenHash, moved.OrgID = gatehouse.NewID(), codeHash("moved"), b.ID
		checkCode(t, "CreateChallenge for a user of another organization", db.CreateChallenge(ctx, &moved), gatehouse.ENOTFOUND)
		again := *full
		again.ID = gatehouse.NewID()
		checkCode(t, "CreateChallenge with a taken token hash", db.CreateChallenge(ctx, &again), gatehouse.ECONFLICT)
	})

	t.Run("a right code is accepted once, and the challenge is then over and gone", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		h := addCode(t, db, c.ID, "123456", t0)
		now := t0.Add(time.Minute)
		checkConsume(t, db, c.ID, h, now, gatehouse.CodeAccepted, 0)
		checkConsume(t, db, c.ID, h, now, gatehouse.CodeOver, 0)
		checkConsume(t, db, c.ID, codeHash("000000"), now, gatehouse.CodeOver, 0)

		_, err := db.ChallengeByTokenHash(ctx, c.TokenHash)
		checkCode(t, "ChallengeByTokenHash of a done challenge", err, gatehouse.ENOTFOUND)
		_, err = db.ChallengeByID(ctx, u.OrgID, u.ID, c.ID)
		checkCode(t, "ChallengeByID of a done challenge", err, gatehouse.ENOTFOUND)
		_, _, _, err = db.ClaimSend(ctx, c.ID, now, gatehouse.ResendGap)
		checkCode(t, "ClaimSend on a done challenge", err, gatehouse.ENOTFOUND)
		checkCode(t, "SetChallengeDestination on a done challenge",
			db.SetChallengeDestination(ctx, c.ID, gatehouse.OTPEmail, u.Email, "", 1, now), gatehouse.ENOTFOUND)
	})

	t.Run("wrong codes count up to the limit, then the challenge is over even for the right code", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		h := addCode(t, db, c.ID, "123456", t0)
		now := t0.Add(time.Minute)
		for i := 1; i <= gatehouse.ChallengeMaxFailures; i++ {
			checkConsume(t, db, c.ID, codeHash(fmt.Sprintf("%06d", i)), now, gatehouse.CodeWrong, i)
		}
		checkConsume(t, db, c.ID, h, now, gatehouse.CodeOver, gatehouse.ChallengeMaxFailures)
		checkConsume(t, db, c.ID, codeHash("999999"), now, gatehouse.CodeOver, gatehouse.ChallengeMaxFailures)

		// Out of tries, it is still there to say so, but no code is sent for it.
		got, err := db.ChallengeByTokenHash(ctx, c.TokenHash)
		if err != nil || got.Failures != gatehouse.ChallengeMaxFailures {
			t.Errorf("ChallengeByTokenHash = %+v, %v; want %d failures", got, err, gatehouse.ChallengeMaxFailures)
		}
		_, _, _, err = db.ClaimSend(ctx, c.ID, now, gatehouse.ResendGap)
		checkCode(t, "ClaimSend on a challenge out of tries", err, gatehouse.ENOTFOUND)

		// The limit is the caller's.
		c2 := newChallenge(t, db, u, nil)
		h2 := addCode(t, db, c2.ID, "123456", t0)
		for _, want := range []struct {
			hash     []byte
			result   string
			failures int
		}{
			{codeHash("000000"), gatehouse.CodeWrong, 1},
			{h2, gatehouse.CodeOver, 1},
		} {
			result, failures, err := db.ConsumeCode(ctx, c2.ID, want.hash, now, 1)
			if err != nil || result != want.result || failures != want.failures {
				t.Errorf("ConsumeCode with a limit of 1 = %q, %d, %v; want %q, %d", result, failures, err, want.result, want.failures)
			}
		}
	})

	t.Run("a code past its lifetime is expired and counts nothing, while a newer one works", func(t *testing.T) {
		db := fresh(t)
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		old := addCode(t, db, c.ID, "111111", t0)
		newer := addCode(t, db, c.ID, "222222", t0.Add(4*time.Minute))
		at := t0.Add(gatehouse.CodeLifetime) // exactly the lifetime: over
		checkConsume(t, db, c.ID, old, at, gatehouse.CodeExpired, 0)
		checkConsume(t, db, c.ID, old, at, gatehouse.CodeExpired, 0)
		checkConsume(t, db, c.ID, codeHash("333333"), at, gatehouse.CodeWrong, 1)
		checkConsume(t, db, c.ID, newer, at.Add(-time.Millisecond), gatehouse.CodeAccepted, 1)
	})

	t.Run("an expired challenge is over, keeping its failures; a missing one is over with none", func(t *testing.T) {
		db := fresh(t)
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		h := addCode(t, db, c.ID, "123456", t0.Add(10*time.Minute))
		checkConsume(t, db, c.ID, codeHash("000000"), t0, gatehouse.CodeWrong, 1)
		checkConsume(t, db, c.ID, h, c.ExpiresAt, gatehouse.CodeOver, 1)
		checkConsume(t, db, gatehouse.NewID(), h, t0, gatehouse.CodeOver, 0)
	})

	t.Run("a code of another challenge never matches", func(t *testing.T) {
		db := fresh(t)
		org := newOrg(t, db, "clinic")
		ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
		mine, annOther, bobs := newChallenge(t, db, ann, nil), newChallenge(t, db, ann, nil), newChallenge(t, db, bob, nil)
		h := addCode(t, db, mine.ID, "111111", t0)
		h2 := addCode(t, db, annOther.ID, "222222", t0)
		h3 := addCode(t, db, bobs.ID, "333333", t0)
		checkConsume(t, db, mine.ID, h2, t0, gatehouse.CodeWrong, 1)
		checkConsume(t, db, mine.ID, h3, t0, gatehouse.CodeWrong, 2)
		checkConsume(t, db, mine.ID, h, t0, gatehouse.CodeAccepted, 2)
		// Accepting mine took nothing from the others.
		checkConsume(t, db, annOther.ID, h2, t0, gatehouse.CodeAccepted, 0)
		checkConsume(t, db, bobs.ID, h3, t0, gatehouse.CodeAccepted, 0)
	})

	t.Run("twenty concurrent right codes are accepted exactly once", func(t *testing.T) {
		db := fresh(t)
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		h := addCode(t, db, c.ID, "123456", t0)
		const n = 20
		results := make([]string, n)
		failures := make([]int, n)
		race(t, n, func(i int) (bool, error) {
			var err error
			results[i], failures[i], err = db.ConsumeCode(t.Context(), c.ID, h, t0.Add(time.Minute), gatehouse.ChallengeMaxFailures)
			return true, err
		})
		count := map[string]int{}
		for i := range n {
			if failures[i] != 0 {
				t.Errorf("call %d: failures %d, want 0", i, failures[i])
			}
			count[results[i]]++
		}
		if want := map[string]int{gatehouse.CodeAccepted: 1, gatehouse.CodeOver: n - 1}; !reflect.DeepEqual(count, want) {
			t.Errorf("results %v, want %v", count, want)
		}
	})

	t.Run("twenty concurrent wrong codes count each failure once, then it is over", func(t *testing.T) {
		db := fresh(t)
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		addCode(t, db, c.ID, "123456", t0)
		const n = 20
		results := make([]string, n)
		failures := make([]int, n)
		race(t, n, func(i int) (bool, error) {
			var err error
			results[i], failures[i], err = db.ConsumeCode(t.Context(), c.ID, codeHash(fmt.Sprint(i)), t0, gatehouse.ChallengeMaxFailures)
			return true, err
		})
		var wrong []int
		for i := range n {
			switch results[i] {
			case gatehouse.CodeWrong:
				wrong = append(wrong, failures[i])
			case gatehouse.CodeOver:
				if failures[i] != gatehouse.ChallengeMaxFailures {
					t.Errorf("an over call saw %d failures, want %d", failures[i], gatehouse.ChallengeMaxFailures)
				}
			default:
				t.Errorf("call %d: result %q", i, results[i])
			}
		}
		slices.Sort(wrong)
		if !slices.Equal(wrong, []int{1, 2, 3, 4, 5}) {
			t.Errorf("wrong answers saw failures %v, want 1 to 5 once each", wrong)
		}
	})

	t.Run("at most two codes live at once: the oldest stops matching", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		h1 := addCode(t, db, c.ID, "111111", t0)
		h2 := addCode(t, db, c.ID, "222222", t0.Add(time.Second))
		addCode(t, db, c.ID, "333333", t0.Add(2*time.Second))
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM challenge_codes WHERE challenge_id = $1`, c.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != gatehouse.MaxLiveCodes {
			t.Errorf("%d codes kept, want %d", n, gatehouse.MaxLiveCodes)
		}
		checkConsume(t, db, c.ID, h1, t0.Add(time.Minute), gatehouse.CodeWrong, 1)
		checkConsume(t, db, c.ID, h2, t0.Add(time.Minute), gatehouse.CodeAccepted, 1)

		c2 := newChallenge(t, db, u, nil)
		for i, code := range []string{"111111", "222222", "333333"} {
			addCode(t, db, c2.ID, code, t0.Add(time.Duration(i)*time.Second))
		}
		checkConsume(t, db, c2.ID, codeHash("333333"), t0.Add(time.Minute), gatehouse.CodeAccepted, 0)

		checkCode(t, "AddCode to a missing challenge",
			db.AddCode(ctx, gatehouse.NewID(), codeHash("1"), t0, t0.Add(gatehouse.CodeLifetime)), gatehouse.ENOTFOUND)
	})

	t.Run("a code whose delivery failed is dropped alone", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c, other := newChallenge(t, db, u, nil), newChallenge(t, db, u, nil)
		h1 := addCode(t, db, c.ID, "111111", t0)
		h2 := addCode(t, db, c.ID, "222222", t0)
		h3 := addCode(t, db, other.ID, "222222", t0)
		if err := db.DeleteCode(ctx, c.ID, h2); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteCode(ctx, c.ID, h2); err != nil {
			t.Errorf("deleting a missing code: %v, want nil", err)
		}
		checkConsume(t, db, c.ID, h2, t0, gatehouse.CodeWrong, 1)
		checkConsume(t, db, c.ID, h1, t0, gatehouse.CodeAccepted, 1)
		checkConsume(t, db, other.ID, h3, t0, gatehouse.CodeAccepted, 0)
	})

	t.Run("pointing a challenge elsewhere drops its codes and lets the next send go at once", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, func(c *gatehouse.Challenge) { c.Channel, c.Destination = gatehouse.OTPSMS, "" })
		if ok, _, _, err := db.ClaimSend(ctx, c.ID, t0, gatehouse.ResendGap); err != nil || !ok {
			t.Fatalf("ClaimSend = %v, %v", ok, err)
		}
		h := addCode(t, db, c.ID, "123456", t0)
		checkConsume(t, db, c.ID, codeHash("000000"), t0, gatehouse.CodeWrong, 1)

		if err := db.SetChallengeDestination(ctx, c.ID, gatehouse.OTPSMS, "+358401234567", "+358401234567", 2, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err := db.ChallengeByID(ctx, u.OrgID, u.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *c
		want.Channel, want.Destination, want.NewValue, want.Step = gatehouse.OTPSMS, "+358401234567", "+358401234567", 2
		want.Failures, want.Sends, want.LastSentAt = 1, 1, time.Time{}
		checkEqual(t, "after SetChallengeDestination", got, &want)

		ok, prev, _, err := db.ClaimSend(ctx, c.ID, t0.Add(2*time.Second), gatehouse.ResendGap)
		if err != nil || !ok || !prev.IsZero() {
			t.Errorf("ClaimSend right after = %v, prev %v, %v; want ok with no previous send", ok, prev, err)
		}
		checkConsume(t, db, c.ID, h, t0.Add(3*time.Second), gatehouse.CodeWrong, 2)

		checkCode(t, "SetChallengeDestination on a missing challenge",
			db.SetChallengeDestination(ctx, gatehouse.NewID(), gatehouse.OTPEmail, "x@example.com", "", 1, t0), gatehouse.ENOTFOUND)
		checkCode(t, "SetChallengeDestination on an expired challenge",
			db.SetChallengeDestination(ctx, c.ID, gatehouse.OTPEmail, "x@example.com", "", 1, c.ExpiresAt), gatehouse.ENOTFOUND)
		if got, err := db.ChallengeByID(ctx, u.OrgID, u.ID, c.ID); err != nil || got.Destination != "+358401234567" {
			t.Errorf("after the refused change: %+v, %v", got, err)
		}
	})

	t.Run("a send is claimed at most once per gap, and only on a live challenge", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		gap := gatehouse.ResendGap
		for _, s := range []struct {
			at         time.Time
			ok         bool
			prev, next time.Time
		}{
			{at: t0, ok: true},
			{at: t0.Add(10 * time.Second), next: t0.Add(gap)},
			{at: t0.Add(gap - time.Millisecond), next: t0.Add(gap)},
			{at: t0.Add(gap), ok: true, prev: t0},
			{at: t0.Add(gap + time.Second), next: t0.Add(2 * gap)},
		} {
			ok, prev, next, err := db.ClaimSend(ctx, c.ID, s.at, gap)
			if err != nil || ok != s.ok || !prev.Equal(s.prev) || !next.Equal(s.next) {
				t.Errorf("ClaimSend at %v = %v, prev %v, next %v, %v; want %v, prev %v, next %v",
					s.at, ok, prev, next, err, s.ok, s.prev, s.next)
			}
		}
		got, err := db.ChallengeByID(ctx, u.OrgID, u.ID, c.ID)
		if err != nil || got.Sends != 2 || !got.LastSentAt.Equal(t0.Add(gap)) {
			t.Errorf("ChallengeByID = %+v, %v; want 2 sends, the last at %v", got, err, t0.Add(gap))
		}

		_, _, _, err = db.ClaimSend(ctx, gatehouse.NewID(), t0, gap)
		checkCode(t, "ClaimSend on a missing challenge", err, gatehouse.ENOTFOUND)
		_, _, _, err = db.ClaimSend(ctx, c.ID, c.ExpiresAt, gap)
		checkCode(t, "ClaimSend on an expired challenge", err, gatehouse.ENOTFOUND)
		tired := newChallenge(t, db, u, func(c *gatehouse.Challenge) { c.Failures = gatehouse.ChallengeMaxFailures })
		_, _, _, err = db.ClaimSend(ctx, tired.ID, t0, gap)
		checkCode(t, "ClaimSend on a challenge out of tries", err, gatehouse.ENOTFOUND)
	})

	t.Run("releasing a failed send restores the one before, once", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		gap := gatehouse.ResendGap
		claim := func(at, wantPrev time.Time) {
			t.Helper()
			ok, prev, _, err := db.ClaimSend(ctx, c.ID, at, gap)
			if err != nil || !ok || !prev.Equal(wantPrev) {
				t.Fatalf("ClaimSend at %v = %v, prev %v, %v; want ok, prev %v", at, ok, prev, err, wantPrev)
			}
		}
		release := func(prev time.Time, wantSends int, wantLast time.Time) {
			t.Helper()
			if err := db.ReleaseSend(ctx, c.ID, prev); err != nil {
				t.Fatal(err)
			}
			got, err := db.ChallengeByID(ctx, u.OrgID, u.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Sends != wantSends || !got.LastSentAt.Equal(wantLast) {
				t.Errorf("after ReleaseSend(%v): %d sends, last at %v; want %d, %v", prev, got.Sends, got.LastSentAt, wantSends, wantLast)
			}
		}
		claim(t0, time.Time{})
		release(time.Time{}, 0, time.Time{})
		claim(t0.Add(time.Second), time.Time{}) // at once: the failed send did not count
		claim(t0.Add(time.Second+gap), t0.Add(time.Second))
		release(time.Time{}, 2, t0.Add(time.Second+gap)) // stale: a send was claimed since
		release(t0.Add(time.Second), 1, t0.Add(time.Second))
		release(t0.Add(time.Second), 1, t0.Add(time.Second)) // twice is once
		if err := db.ReleaseSend(ctx, gatehouse.NewID(), t0); err != nil {
			t.Errorf("ReleaseSend on a missing challenge: %v, want nil", err)
		}
	})

	t.Run("twenty concurrent sends on one challenge: exactly one is claimed", func(t *testing.T) {
		db := fresh(t)
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c := newChallenge(t, db, u, nil)
		const n = 20
		oks := make([]bool, n)
		nexts := make([]time.Time, n)
		claimed := race(t, n, func(i int) (bool, error) {
			var err error
			oks[i], _, nexts[i], err = db.ClaimSend(t.Context(), c.ID, t0, gatehouse.ResendGap)
			return oks[i], err
		})
		for i := range n {
			if !oks[i] && !nexts[i].Equal(t0.Add(gatehouse.ResendGap)) {
				t.Errorf("a refused claim says next at %v, want %v", nexts[i], t0.Add(gatehouse.ResendGap))
			}
		}
		if claimed != 1 {
			t.Errorf("%d claims succeeded, want 1", claimed)
		}
		if got, err := db.ChallengeByID(t.Context(), u.OrgID, u.ID, c.ID); err != nil || got.Sends != 1 {
			t.Errorf("ChallengeByID = %+v, %v; want 1 send", got, err)
		}
	})

	t.Run("sends are counted by user, destination and address since a moment", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		ip1, ip2 := netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::9")
		for _, r := range []gatehouse.SendRecord{
			{UserID: "ann", Destination: "+358401234567", ClientIP: ip1, At: t0},
			{UserID: "ann", Destination: "+358401234567", ClientIP: ip1, At: t0.Add(time.Minute)},
			{UserID: "ann", Destination: "ann@example.com", ClientIP: ip2, At: t0.Add(2 * time.Minute)},
			{UserID: "bob", Destination: "+358401234567", ClientIP: ip1, At: t0.Add(3 * time.Minute)},
			{UserID: "ann", Destination: "+358401234567", ClientIP: ip1, At: t0.Add(-time.Millisecond)},
			{UserID: "cat", Destination: "", At: t0},
			{UserID: "dan", Destination: "", At: t0},
		} {
			if err := db.RecordSend(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			user, dest string
			ip         netip.Addr
			since      time.Time
			want       gatehouse.SendCounts
		}{
			{"ann", "+358401234567", ip1, t0, gatehouse.SendCounts{User: 3, Destination: 3, Address: 3}},
			{"ann", "+358401234567", ip1, t0.Add(time.Minute), gatehouse.SendCounts{User: 2, Destination: 2, Address: 2}},
			{"ann", "ann@example.com", ip2, t0, gatehouse.SendCounts{User: 3, Destination: 1, Address: 1}},
			{"bob", "bob@example.com", ip2, t0.Add(3*time.Minute + time.Millisecond), gatehouse.SendCounts{}},
			{"cat", "", netip.Addr{}, t0, gatehouse.SendCounts{User: 1}}, // unknowns are not one bucket
		} {
			got, err := db.CountSends(ctx, c.user, c.dest, c.ip, c.since)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("CountSends(%s, %q, %v, %v) = %+v, want %+v", c.user, c.dest, c.ip, c.since, got, c.want)
			}
		}
	})

	t.Run("expired challenges with their codes and old send records are deleted", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		now := t0.Add(5 * time.Minute)
		live := newChallenge(t, db, u, func(c *gatehouse.Challenge) { c.ExpiresAt = now.Add(time.Millisecond) })
		expired := newChallenge(t, db, u, func(c *gatehouse.Challenge) { c.ExpiresAt = now })
		addCode(t, db, live.ID, "111111", t0)
		addCode(t, db, expired.ID, "222222", t0)
		for _, at := range []time.Time{t0.Add(-time.Millisecond), t0} {
			if err := db.RecordSend(ctx, gatehouse.SendRecord{UserID: u.ID, Destination: u.Email, At: at}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.DeleteExpiredChallenges(ctx, now, t0)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("DeleteExpiredChallenges removed %d, want 2 (a challenge and a send record)", n)
		}
		_, err = db.ChallengeByID(ctx, u.OrgID, u.ID, expired.ID)
		checkCode(t, "the expired challenge", err, gatehouse.ENOTFOUND)
		if _, err := db.ChallengeByID(ctx, u.OrgID, u.ID, live.ID); err != nil {
			t.Errorf("the live challenge: %v", err)
		}
		var codes int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM challenge_codes WHERE challenge_id = $1`, expired.ID).Scan(&codes); err != nil || codes != 0 {
			t.Errorf("the expired challenge keeps %d codes (%v), want none", codes, err)
		}
		if got, err := db.CountSends(ctx, u.ID, u.Email, netip.Addr{}, time.Time{}); err != nil || got.User != 1 {
			t.Errorf("CountSends = %+v, %v; want 1 send record kept", got, err)
		}
	})

	t.Run("deleting a challenge removes it and its codes; a missing one is fine", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		c, other := newChallenge(t, db, u, nil), newChallenge(t, db, u, nil)
		h := addCode(t, db, c.ID, "123456", t0)
		addCode(t, db, other.ID, "123456", t0)
		if err := db.DeleteChallenge(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteChallenge(ctx, c.ID); err != nil {
			t.Errorf("deleting a missing challenge: %v, want nil", err)
		}
		_, err := db.ChallengeByTokenHash(ctx, c.TokenHash)
		checkCode(t, "ChallengeByTokenHash after DeleteChallenge", err, gatehouse.ENOTFOUND)
		var codes int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM challenge_codes`).Scan(&codes); err != nil || codes != 1 {
			t.Errorf("%d codes left (%v), want only the other challenge's", codes, err)
		}
		checkConsume(t, db, c.ID, h, t0, gatehouse.CodeOver, 0)
		checkConsume(t, db, other.ID, h, t0, gatehouse.CodeAccepted, 0)
	})

	t.Run("a remembered browser is found only for its user, in its organization, until it expires", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		ann, bob := newUser(t, db, a.ID, "ann@example.com"), newUser(t, db, a.ID, "bob@example.com")
		cat := newUser(t, db, b.ID, "cat@example.com")
		annB := newBrowser(t, db, ann, "ann", t0)
		newBrowser(t, db, bob, "bob", t0)
		newBrowser(t, db, cat, "cat", t0)
		now := t0.Add(time.Hour)

		got, err := db.FindRememberedBrowser(ctx, a.ID, ann.ID, [][]byte{codeHash("junk"), codeHash("ann")}, now)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "FindRememberedBrowser", got, annB)

		for _, c := range []struct {
			what          string
			orgID, userID string
			hashes        [][]byte
			at            time.Time
		}{
			{"another user's token", a.ID, ann.ID, [][]byte{codeHash("bob")}, now},
			{"another organization's token", a.ID, ann.ID, [][]byte{codeHash("cat")}, now},
			{"through another organization", b.ID, ann.ID, [][]byte{codeHash("ann")}, now},
			{"another organization's user named in this one", a.ID, cat.ID, [][]byte{codeHash("cat")}, now},
			{"expired", a.ID, ann.ID, [][]byte{codeHash("ann")}, annB.ExpiresAt},
			{"no hashes", a.ID, ann.ID, nil, now},
			{"beyond the bound", a.ID, ann.ID, [][]byte{codeHash("1"), codeHash("2"), codeHash("3"), codeHash("4"), codeHash("5"), codeHash("ann")}, now},
		} {
			_, err := db.FindRememberedBrowser(ctx, c.orgID, c.userID, c.hashes, c.at)
			checkCode(t, "FindRememberedBrowser of "+c.what, err, gatehouse.ENOTFOUND)
		}
		five := [][]byte{codeHash("1"), codeHash("2"), codeHash("3"), codeHash("4"), codeHash("ann")}
		if _, err := db.FindRememberedBrowser(ctx, a.ID, ann.ID, five, annB.ExpiresAt.Add(-time.Millisecond)); err != nil {
			t.Errorf("FindRememberedBrowser with the token fifth, just before expiry: %v", err)
		}

		for _, c := range []struct {
			touch, want time.Time
		}{
			{t0.Add(2 * time.Hour), t0.Add(2 * time.Hour)},
			{t0.Add(time.Hour), t0.Add(2 * time.Hour)}, // late arrival from another node
		} {
			if err := db.TouchRememberedBrowser(ctx, annB.ID, c.touch); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindRememberedBrowser(ctx, a.ID, ann.ID, [][]byte{codeHash("ann")}, now)
			if err != nil || !got.LastUsedAt.Equal(c.want) {
				t.Errorf("after touching at %v: %+v, %v; want last used at %v", c.touch, got, err, c.want)
			}
		}
		checkCode(t, "TouchRememberedBrowser of nothing", db.TouchRememberedBrowser(ctx, gatehouse.NewID(), now), gatehouse.ENOTFOUND)

		moved := *annB
		moved.ID, moved.TokenHash, moved.OrgID = gatehouse.NewID(), codeHash("moved"), b.ID
		checkCode(t, "CreateRememberedBrowser for a user of another organization",
			db.CreateRememberedBrowser(ctx, &moved), gatehouse.ENOTFOUND)
		again := *annB
		again.ID = gatehouse.NewID()
		checkCode(t, "CreateRememberedBrowser with a taken token", db.CreateRememberedBrowser(ctx, &again), gatehouse.ECONFLICT)
	})

	t.Run("a user's remembered browsers list newest first, without the expired", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
		now := t0.Add(31 * 24 * time.Hour)
		newBrowser(t, db, ann, "ann-old", t0) // expired at t0+30d
		first := newBrowser(t, db, ann, "ann-1", t0.Add(2*24*time.Hour))
		second := newBrowser(t, db, ann, "ann-2", t0.Add(3*24*time.Hour))
		newBrowser(t, db, bob, "bob", t0.Add(3*24*time.Hour))
		got, err := db.ListRememberedBrowsers(ctx, org.ID, ann.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ListRememberedBrowsers", got, []*gatehouse.RememberedBrowser{second, first})
		none, err := db.ListRememberedBrowsers(ctx, newOrg(t, db, "other").ID, ann.ID, now)
		if err != nil || none == nil || len(none) != 0 {
			t.Errorf("through another organization: %v, %v; want an empty list", none, err)
		}
	})

	t.Run("a remembered browser is revoked only by its owner", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		ann, bob := newUser(t, db, a.ID, "ann@example.com"), newUser(t, db, a.ID, "bob@example.com")
		br := newBrowser(t, db, ann, "ann", t0)
		checkCode(t, "DeleteRememberedBrowser by another user", db.DeleteRememberedBrowser(ctx, a.ID, bob.ID, br.ID), gatehouse.ENOTFOUND)
		checkCode(t, "DeleteRememberedBrowser through another organization", db.DeleteRememberedBrowser(ctx, b.ID, ann.ID, br.ID), gatehouse.ENOTFOUND)
		if _, err := db.FindRememberedBrowser(ctx, a.ID, ann.ID, [][]byte{codeHash("ann")}, t0); err != nil {
			t.Fatalf("after the refused revocations: %v", err)
		}
		if err := db.DeleteRememberedBrowser(ctx, a.ID, ann.ID, br.ID); err != nil {
			t.Fatal(err)
		}
		_, err := db.FindRememberedBrowser(ctx, a.ID, ann.ID, [][]byte{codeHash("ann")}, t0)
		checkCode(t, "FindRememberedBrowser after its revocation", err, gatehouse.ENOTFOUND)
		checkCode(t, "DeleteRememberedBrowser again", db.DeleteRememberedBrowser(ctx, a.ID, ann.ID, br.ID), gatehouse.ENOTFOUND)
	})

	t.Run("remembered browsers are revoked in bulk by user and by organization", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		ann, bob := newUser(t, db, a.ID, "ann@example.com"), newUser(t, db, a.ID, "bob@example.com")
		cat := newUser(t, db, b.ID, "cat@example.com")
		newBrowser(t, db, ann, "ann-1", t0)
		newBrowser(t, db, ann, "ann-2", t0)
		newBrowser(t, db, bob, "bob", t0)
		newBrowser(t, db, cat, "cat", t0)
		count := func(orgID, userID string) int {
			t.Helper()
			list, err := db.ListRememberedBrowsers(ctx, orgID, userID, t0)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}

		if n, err := db.DeleteUserRememberedBrowsers(ctx, b.ID, ann.ID); err != nil || n != 0 {
			t.Errorf("DeleteUserRememberedBrowsers through another organization = %d, %v; want 0", n, err)
		}
		if n, err := db.DeleteUserRememberedBrowsers(ctx, a.ID, ann.ID); err != nil || n != 2 {
			t.Errorf("DeleteUserRememberedBrowsers = %d, %v; want 2", n, err)
		}
		if got := [3]int{count(a.ID, ann.ID), count(a.ID, bob.ID), count(b.ID, cat.ID)}; got != [3]int{0, 1, 1} {
			t.Errorf("browsers of ann, bob, cat = %v, want [0 1 1]", got)
		}
		if n, err := db.DeleteOrgRememberedBrowsers(ctx, a.ID); err != nil || n != 1 {
			t.Errorf("DeleteOrgRememberedBrowsers = %d, %v; want 1", n, err)
		}
		if got := [3]int{count(a.ID, ann.ID), count(a.ID, bob.ID), count(b.ID, cat.ID)}; got != [3]int{0, 0, 1} {
			t.Errorf("browsers of ann, bob, cat = %v, want [0 0 1]", got)
		}
	})

	t.Run("a password reset link works once, and only before it expires", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		ann := newUser(t, db, a.ID, "ann@example.com")
		r := newReset(t, db, ann, "reset-1")
		now := t0.Add(time.Minute)
		got, err := db.PasswordResetByTokenHash(ctx, r.TokenHash, now)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "PasswordResetByTokenHash", got, r)
		got, err = db.ConsumePasswordReset(ctx, r.TokenHash, now)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ConsumePasswordReset", got, r)
		_, err = db.ConsumePasswordReset(ctx, r.TokenHash, now)
		checkCode(t, "ConsumePasswordReset a second time", err, gatehouse.ENOTFOUND)
		_, err = db.PasswordResetByTokenHash(ctx, r.TokenHash, now)
		checkCode(t, "PasswordResetByTokenHash of a used link", err, gatehouse.ENOTFOUND)

		late := newReset(t, db, ann, "reset-2")
		if _, err := db.PasswordResetByTokenHash(ctx, late.TokenHash, late.ExpiresAt.Add(-time.Millisecond)); err != nil {
			t.Errorf("PasswordResetByTokenHash just before expiry: %v", err)
		}
		_, err = db.PasswordResetByTokenHash(ctx, late.TokenHash, late.ExpiresAt)
		checkCode(t, "PasswordResetByTokenHash of an expired link", err, gatehouse.ENOTFOUND)
		_, err = db.ConsumePasswordReset(ctx, late.TokenHash, late.ExpiresAt)
		checkCode(t, "ConsumePasswordReset of an expired link", err, gatehouse.ENOTFOUND)
		_, err = db.ConsumePasswordReset(ctx, codeHash("nothing"), now)
		checkCode(t, "ConsumePasswordReset of nothing", err, gatehouse.ENOTFOUND)

		moved := *r
		moved.TokenHash, moved.OrgID = codeHash("moved"), b.ID
		checkCode(t, "CreatePasswordReset for a user of another organization",
			db.CreatePasswordReset(ctx, &moved), gatehouse.ENOTFOUND)
		checkCode(t, "CreatePasswordReset with a taken token", db.CreatePasswordReset(ctx, r), gatehouse.ECONFLICT)
	})

	t.Run("twenty concurrent uses of one password reset link: exactly one succeeds", func(t *testing.T) {
		db := fresh(t)
		r := newReset(t, db, newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com"), "reset")
		const n = 20
		used := race(t, n, func(int) (bool, error) {
			_, err := db.ConsumePasswordReset(t.Context(), r.TokenHash, t0.Add(time.Minute))
			return wonUnless(gatehouse.ENOTFOUND, err)
		})
		if used != 1 {
			t.Errorf("%d uses succeeded, want 1", used)
		}
	})

	t.Run("a sign-in configuration round-trips, nil parts staying nil, and saving replaces it", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a"), newOrg(t, db, "clinic-b")
		_, err := db.SignInConfig(ctx, a.ID)
		checkCode(t, "SignInConfig before any save", err, gatehouse.ENOTFOUND)

		// LDAP nil and SAMLCert empty: both are "not set up" and read back nil.
		c := &gatehouse.SignInConfig{OrgID: a.ID, SAML: []byte("sealed saml"), SAMLKey: []byte{0, 1, 2, 0xff},
			SAMLCert: []byte{}, UpdatedAt: t0}
		if err := db.SaveSignInConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.SignInConfig(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := &gatehouse.SignInConfig{OrgID: a.ID, SAML: []byte("sealed saml"), SAMLKey: []byte{0, 1, 2, 0xff}, UpdatedAt: t0}
		checkEqual(t, "SignInConfig after the first save", got, want)

		// The second save replaces every column, turning SAML off again.
		c = &gatehouse.SignInConfig{OrgID: a.ID, LDAP: []byte("sealed ldap"), UpdatedAt: t0.Add(time.Hour)}
		if err := db.SaveSignInConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err = db.SignInConfig(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "SignInConfig after the second save", got, c)

		_, err = db.SignInConfig(ctx, b.ID)
		checkCode(t, "SignInConfig of another organization", err, gatehouse.ENOTFOUND)
		other := &gatehouse.SignInConfig{OrgID: b.ID, SAML: []byte("b's saml"), UpdatedAt: t0}
		if err := db.SaveSignInConfig(ctx, other); err != nil {
			t.Fatal(err)
		}
		if got, err := db.SignInConfig(ctx, a.ID); err != nil || !bytes.Equal(got.LDAP, c.LDAP) || got.SAML != nil {
			t.Errorf("SignInConfig(a) after saving b's = %s, %v; want a's unchanged", dump(got), err)
		}

		missing := &gatehouse.SignInConfig{OrgID: gatehouse.NewID(), LDAP: []byte("x"), UpdatedAt: t0}
		checkCode(t, "SaveSignInConfig for a missing organization", db.SaveSignInConfig(ctx, missing), gatehouse.ENOTFOUND)
		_, err = db.SignInConfig(ctx, missing.OrgID)
		checkCode(t, "SignInConfig of a missing organization", err, gatehouse.ENOTFOUND)
	})

	t.Run("a SAML request is consumed once, only in its organization and before it expires", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a").ID, newOrg(t, db, "clinic-b").ID
		until := t0.Add(5 * time.Minute)
		for _, id := range []string{"req-1", "req-2"} {
			if err := db.IssueSAMLRequest(ctx, a, id, []byte("browser"), until); err != nil {
				t.Fatal(err)
			}
		}
		checkCode(t, "IssueSAMLRequest with a taken id", db.IssueSAMLRequest(ctx, a, "req-1", []byte("browser"), until), gatehouse.ECONFLICT)
		if err := db.IssueSAMLRequest(ctx, b, "req-2", []byte("browser"), until); err != nil {
			t.Errorf("IssueSAMLRequest of another organization's id: %v", err)
		}

		for _, c := range []struct {
			what, org, id string
			now           time.Time
			want          bool
		}{
			{"through another organization", b, "req-1", t0, false},
			{"an unknown id", a, "req-9", t0, false},
			{"at its expiry", a, "req-1", until, false},
			{"just before its expiry", a, "req-1", until.Add(-time.Millisecond), true},
			{"a second time", a, "req-1", t0, false},
			{"the other organization's id of the same name", b, "req-2", t0, true},
			{"the same name in its own organization, still there", a, "req-2", t0, true},
		} {
			_, got, err := db.ConsumeSAMLRequest(ctx, c.org, c.id, c.now)
			if err != nil || got != c.want {
				t.Errorf("ConsumeSAMLRequest %s = %v, %v; want %v", c.what, got, err, c.want)
			}
		}
	})

	t.Run("twenty concurrent consumers of one SAML request: exactly one takes it", func(t *testing.T) {
		db := fresh(t)
		org := newOrg(t, db, "clinic").ID
		if err := db.IssueSAMLRequest(t.Context(), org, "req", []byte("browser"), t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		const n = 20
		taken := race(t, n, func(int) (bool, error) {
			_, ok, err := db.ConsumeSAMLRequest(t.Context(), org, "req", t0)
			return ok, err
		})
		if taken != 1 {
			t.Errorf("%d consumers took the request, want 1", taken)
		}
	})

	t.Run("an assertion is fresh once per organization, and again once its record expires", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		a, b := newOrg(t, db, "clinic-a").ID, newOrg(t, db, "clinic-b").ID
		now := t0
		db.now = func() time.Time { return now }
		until := t0.Add(5 * time.Minute)
		for _, c := range []struct {
			what, org string
			now       time.Time
			until     time.Time
			want      bool
		}{
			{"the first time", a, t0, until, true},
			{"a replay", a, t0.Add(time.Minute), until, false},
			{"in another organization", b, t0.Add(time.Minute), until, true},
			{"a replay just before the record expires", a, until.Add(-time.Millisecond), until, false},
			// An IdP that reuses an id after the first assertion expired.
			{"once the record expired", a, until, until.Add(5 * time.Minute), true},
			{"a replay of the second, held to its own expiry", a, until.Add(time.Minute), until.Add(5 * time.Minute), false},
		} {
			now = c.now
			got, err := db.RememberAssertion(ctx, c.org, "assertion-1", c.until)
			if err != nil || got != c.want {
				t.Errorf("RememberAssertion %s = %v, %v; want %v", c.what, got, err, c.want)
			}
		}
	})

	t.Run("twenty concurrent uses of one assertion: exactly one is fresh, also after an expired record", func(t *testing.T) {
		db := fresh(t)
		org := newOrg(t, db, "clinic").ID
		now := t0
		db.now = func() time.Time { return now }
		replay := func(until time.Time) {
			t.Helper()
			const n = 20
			count := race(t, n, func(int) (bool, error) { return db.RememberAssertion(t.Context(), org, "assertion", until) })
			if count != 1 {
				t.Errorf("%d of %d were fresh, want 1", count, n)
			}
		}
		replay(t0.Add(5 * time.Minute)) // all racing to insert
		now = t0.Add(5 * time.Minute)
		replay(t0.Add(10 * time.Minute)) // all racing to take over the expired row
	})

	t.Run("the clean-up removes expired SAML requests and assertion records", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic").ID
		now := t0.Add(5 * time.Minute)
		db.now = func() time.Time { return t0 }
		for _, r := range []struct {
			id    string
			until time.Time
		}{{"expired", now}, {"live", now.Add(time.Millisecond)}} {
			if err := db.IssueSAMLRequest(ctx, org, r.id, []byte("browser"), r.until); err != nil {
				t.Fatal(err)
			}
			if fresh, err := db.RememberAssertion(ctx, org, r.id, r.until); err != nil || !fresh {
				t.Fatalf("RememberAssertion(%s) = %v, %v", r.id, fresh, err)
			}
		}
		n, err := db.DeleteExpiredChallenges(ctx, now, t0)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("DeleteExpiredChallenges removed %d, want 2 (a request and an assertion record)", n)
		}
		for _, table := range []string{"saml_requests", "saml_assertions"} {
			var ids []string
			rows, err := db.read.QueryContext(ctx, `SELECT id FROM `+table+` ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if !slices.Equal(ids, []string{"live"}) {
				t.Errorf("%s keeps %v, want [live]", table, ids)
			}
			if db.Dialect() == "sqlite" {
				sqliteIndexOn(t, db, table, "expires_at") // the clean-up never scans the table
			}
		}
		if _, ok, err := db.ConsumeSAMLRequest(ctx, org, "live", t0); err != nil || !ok {
			t.Errorf("ConsumeSAMLRequest(live) after the clean-up = %v, %v; want true", ok, err)
		}
	})

	t.Run("the clean-up removes expired remembered browsers, used or expired reset links and stale failure counts", func(t *testing.T) {
		db := fresh(t)
		ctx := t.Context()
		u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
		now := t0.Add(30 * 24 * time.Hour) // newBrowser's lifetime from t0

		newBrowser(t, db, u, "expired", t0) // expires at now
		liveBrowser := newBrowser(t, db, u, "live", t0.Add(time.Millisecond))

		for _, r := range []struct {
			token           string
			expires, usedAt time.Time // usedAt zero: never used
		}{
			{"expired", now, time.Time{}},
			{"used", now.Add(time.Hour), now.Add(-time.Minute)},
			{"used-and-expired", now.Add(-time.Millisecond), now.Add(-time.Hour)},
			{"live", now.Add(time.Millisecond), time.Time{}},
		} {
			// One live link per user: each link is another user's.
			owner := newUser(t, db, u.OrgID, r.token+"@example.com")
			if err := db.CreatePasswordReset(ctx, &gatehouse.PasswordReset{TokenHash: codeHash(r.token),
				OrgID: u.OrgID, UserID: owner.ID, Email: owner.Email, CreatedAt: t0, ExpiresAt: r.expires}); err != nil {
				t.Fatal(err)
			}
			if !r.usedAt.IsZero() {
				if _, err := db.ConsumePasswordReset(ctx, codeHash(r.token), r.usedAt); err != nil {
					t.Fatalf("ConsumePasswordReset(%s): %v", r.token, err)
				}
			}
		}

		const window = 24 * time.Hour
		for _, f := range []struct {
			key string
			at  time.Time
		}{
			{"ip:old", now.Add(-window - time.Millisecond)},
			{"ip:edge", now.Add(-window)}, // still within the window: a failure at now counts on
			{"acct:recent", now.Add(-time.Hour)},
			{"acct:recent", now.Add(-time.Hour)},
		} {
			if _, err := db.RecordFailure(ctx, f.key, f.at, window); err != nil {
				t.Fatal(err)
			}
		}

		n, err := db.DeleteExpiredChallenges(ctx, now, now.Add(-window))
		if err != nil {
			t.Fatal(err)
		}
		if n != 5 {
			t.Errorf("DeleteExpiredChallenges removed %d, want 5 (a browser, three reset links and a failure count)", n)
		}
		if n, err := db.DeleteExpiredChallenges(ctx, now, now.Add(-window)); err != nil || n != 0 {
			t.Errorf("DeleteExpiredChallenges again = %d, %v; want 0, nil", n, err)
		}

		column := func(query string) []string {
			t.Helper()
			rows, err := db.read.QueryContext(ctx, query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := column(`SELECT id FROM remembered_browsers`); !slices.Equal(got, []string{liveBrowser.ID}) {
			t.Errorf("remembered_browsers keeps %v, want only the live one %s", got, liveBrowser.ID)
		}
		if got, err := db.FindRememberedBrowser(ctx, u.OrgID, u.ID, [][]byte{codeHash("live")}, now); err != nil || got.ID != liveBrowser.ID {
			t.Errorf("FindRememberedBrowser(live) after the clean-up = %v, %v; want %s", got, err, liveBrowser.ID)
		}
		var resets int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM password_resets`).Scan(&resets); err != nil || resets != 1 {
			t.Errorf("password_resets keeps %d links (%v), want only the live one", resets, err)
		}
		if _, err := db.PasswordResetByTokenHash(ctx, codeHash("live"), now); err != nil {
			t.Errorf("PasswordResetByTokenHash(live) after the clean-up: %v", err)
		}
		if got := column(`SELECT key FROM login_throttle ORDER BY key`); !slices.Equal(got, []string{"acct:recent", "ip:edge"}) {
			t.Errorf("login_throttle keeps %v, want [acct:recent ip:edge]", got)
		}
		if th, err := db.Throttle(ctx, "acct:recent"); err != nil || th.Failures != 2 {
			t.Errorf("Throttle(acct:recent) after the clean-up = %+v, %v; want 2 failures", th, err)
		}
		// The row at the window's edge had to stay: it still counts.
		if th, err := db.RecordFailure(ctx, "ip:edge", now, window); err != nil || th.Failures != 2 {
			t.Errorf("RecordFailure(ip:edge) at now = %+v, %v; want 2 failures", th, err)
		}

		if db.Dialect() == "sqlite" {
			// Every statement of the clean-up searches an index: none walks
			// a whole table.
			for _, c := range cleanups {
				var args []any
				if c.arg != nil {
					args = append(args, millis(now))
				}
				plan := sqlitePlan(t, db, c.query, args...)
				for step := range strings.SplitSeq(plan, "\n") {
					if !strings.Contains(step, " INDEX ") {
						t.Errorf("%s: plan\n%s\nwant every step on an index", c.query, plan)
						break
					}
				}
			}
		}
	})

	// The console's reads are all scoped to one organization, so its subtests
	// share one database, each in organizations of its own: every fresh
	// PostgreSQL schema costs a migration.
	t.Run("the admin console", func(t *testing.T) {
		db := fresh(t)

		t.Run("users are searched by e-mail or name, ignoring case, a page at a time, in one organization", func(t *testing.T) {
			ctx := t.Context()
			a, b := newOrg(t, db, "search-a"), newOrg(t, db, "search-b")
			mk := func(orgID, email, name string) *gatehouse.User {
				t.Helper()
				u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Name: name,
					Role: gatehouse.RoleMember, Locale: "fi", CreatedAt: t0, UpdatedAt: t0}
				if err := db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				return u
			}
			ann := mk(a.ID, "ann@example.com", "Ann Smith")
			bob := mk(a.ID, "bob@example.com", "Bob ANNAN")
			carl := mk(a.ID, "carl@annex.example", "Carl")
			dave := mk(a.ID, "dave@example.com", "Dave")
			under := mk(a.ID, "a_b@example.com", "Under Score")
			mk(a.ID, "axb@example.com", "Not Underscore")
			pct := mk(a.ID, "pct@example.com", "50% Off")
			mk(a.ID, "five@example.com", "500 Off")
			back := mk(a.ID, "back@example.com", `Back\Slash`)
			mk(a.ID, "backx@example.com", "BackXSlash")
			mk(b.ID, "ann@example.com", "Ann of B")
			mk(b.ID, "annie@example.com", "Annie of B")

			search := func(orgID, query string, limit int) []*gatehouse.User {
				t.Helper()
				var all []*gatehouse.User
				after := ""
				for {
					page, err := db.SearchUsers(ctx, orgID, query, after, limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > limit {
						t.Fatalf("SearchUsers(%q) gave a page of %d, want at most %d", query, len(page), limit)
					}
					if len(page) == 0 {
						return all
					}
					all = append(all, page...)
					after = page[len(page)-1].Email
				}
			}
			for _, c := range []struct {
				query string
				want  []*gatehouse.User
			}{
				{"ann", []*gatehouse.User{ann, bob, carl}},
				{"ANN", []*gatehouse.User{ann, bob, carl}},
				{"aNnAn", []*gatehouse.User{bob}},
				{"@ANNEX.", []*gatehouse.User{carl}},
				{"dave@example.com", []*gatehouse.User{dave}},
				{"a_b", []*gatehouse.User{under}},
				{"50%", []*gatehouse.User{pct}},
				{`k\s`, []*gatehouse.User{back}},
				{`\`, []*gatehouse.User{back}},
				{"%", []*gatehouse.User{pct}},
				{"_", []*gatehouse.User{under}},
				{"nobody", nil},
			} {
				for _, limit := range []int{2, 100} {
					checkEqual(t, fmt.Sprintf("SearchUsers(%q) by pages of %d", c.query, limit), search(a.ID, c.query, limit), c.want)
				}
			}
			if got := search(a.ID, "", 3); len(got) != 10 {
				t.Errorf("SearchUsers(\"\") found %d users, want all 10", len(got))
			}
			if got, err := db.SearchUsers(ctx, a.ID, "ann", "", 0); err != nil || got == nil || len(got) != 0 {
				t.Errorf("SearchUsers(limit 0) = %v, %v; want an empty list", got, err)
			}
			if got := search(b.ID, "smith", 10); len(got) != 0 {
				t.Errorf("SearchUsers through another organization found %d users, want none", len(got))
			}
			if got := search(gatehouse.NewID(), "", 10); len(got) != 0 {
				t.Errorf("SearchUsers of a missing organization found %d users, want none", len(got))
			}
		})

		t.Run("user stats count each condition in one organization", func(t *testing.T) {
			ctx := t.Context()
			a, b := newOrg(t, db, "stats-a"), newOrg(t, db, "stats-b")
			since := t0.Add(-24 * time.Hour)
			mk := func(orgID, email string, edit func(u *gatehouse.User)) *gatehouse.User {
				t.Helper()
				u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Phone: "+358401234567",
					Role: gatehouse.RoleMember, CreatedAt: t0, UpdatedAt: t0}
				edit(u)
				if err := db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				return u
			}
			mk(a.ID, "verified-at-since@example.com", func(u *gatehouse.User) { u.LastVerifiedAt = since })
			mk(a.ID, "verified-before@example.com", func(u *gatehouse.User) {
				u.LastVerifiedAt, u.Phone, u.OTPFailures = since.Add(-time.Millisecond), "", gatehouse.OTPLockFailures
			})
			emptyPhone := mk(a.ID, "never-verified@example.com", func(u *gatehouse.User) {
				u.OTPFailures, u.TwoFactorExempt = gatehouse.OTPLockFailures-1, true
			})
			mk(a.ID, "verified-after@example.com", func(u *gatehouse.User) {
				u.LastVerifiedAt, u.Disabled, u.TwoFactorExempt, u.OTPFailures = t0, true, true, gatehouse.OTPLockFailures+5
			})
			mk(b.ID, "other@example.com", func(u *gatehouse.User) {
				u.LastVerifiedAt, u.Phone, u.OTPFailures, u.Disabled, u.TwoFactorExempt = t0, "", gatehouse.OTPLockFailures, true, true
			})
			// The store writes no phone as NULL; an empty string written by
			// hand counts as none too.
			if _, err := db.write.ExecContext(ctx, `UPDATE users SET phone = '' WHERE id = $1`, emptyPhone.ID); err != nil {
				t.Fatal(err)
			}

			got, err := db.UserStats(ctx, a.ID, since)
			if err != nil {
				t.Fatal(err)
			}
			want := gatehouse.UserStats{Total: 4, VerifiedSince: 2, WithoutPhone: 2, Locked: 2, Exempt: 2, Disabled: 1}
			checkEqual(t, "UserStats", got, want)

			got, err = db.UserStats(ctx, a.ID, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			want.VerifiedSince = 3 // never verified is not verified since the beginning
			checkEqual(t, "UserStats since the zero time", got, want)

			got, err = db.UserStats(ctx, newOrg(t, db, "stats-empty").ID, since)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "UserStats of an organization without users", got, gatehouse.UserStats{})
		})

		t.Run("audit reasons are counted for one event since a moment, in one organization", func(t *testing.T) {
			ctx := t.Context()
			a, b := newOrg(t, db, "reasons-a"), newOrg(t, db, "reasons-b")
			for _, e := range []gatehouse.AuditEvent{
				{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0.Add(-time.Millisecond)},
				{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0},
				{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorVerified, At: t0.Add(2 * time.Second)},
				{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorVerified, At: t0.Add(time.Second)},
				{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorRemembered, At: t0.Add(time.Hour)},
				{OrgID: a.ID, Event: gatehouse.AuditLoginFailed, Reason: "password", At: t0.Add(time.Second)},
				{OrgID: b.ID, Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0.Add(time.Second)},
				{OrgID: "", Event: gatehouse.AuditLoginSucceeded, Reason: gatehouse.TwoFactorNotEnforced, At: t0.Add(time.Second)},
			} {
				if err := db.AppendAudit(ctx, &e); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				orgID, event string
				since        time.Time
				want         map[string]int
			}{
				{a.ID, gatehouse.AuditLoginSucceeded, t0, map[string]int{
					gatehouse.TwoFactorNotEnforced: 1, gatehouse.TwoFactorVerified: 2, gatehouse.TwoFactorRemembered: 1}},
				{a.ID, gatehouse.AuditLoginSucceeded, t0.Add(-time.Hour), map[string]int{
					gatehouse.TwoFactorNotEnforced: 2, gatehouse.TwoFactorVerified: 2, gatehouse.TwoFactorRemembered: 1}},
				{a.ID, gatehouse.AuditLoginSucceeded, t0.Add(time.Hour), map[string]int{gatehouse.TwoFactorRemembered: 1}},
				{a.ID, gatehouse.AuditLoginSucceeded, t0.Add(time.Hour + time.Millisecond), map[string]int{}},
				{a.ID, gatehouse.AuditLoginFailed, t0, map[string]int{"password": 1}},
				{b.ID, gatehouse.AuditLoginSucceeded, t0, map[string]int{gatehouse.TwoFactorNotEnforced: 1}},
				{gatehouse.NewID(), gatehouse.AuditLoginSucceeded, time.Time{}, map[string]int{}},
			} {
				got, err := db.CountAuditReasons(ctx, c.orgID, c.event, c.since)
				if err != nil {
					t.Fatal(err)
				}
				checkEqual(t, fmt.Sprintf("CountAuditReasons(%s since %v)", c.event, c.since), got, c.want)
			}
		})

		t.Run("the audit log is filtered by user, event and time, newest first, a page at a time, in one organization", func(t *testing.T) {
			ctx := t.Context()
			a, b := newOrg(t, db, "audit-a"), newOrg(t, db, "audit-b")
			users := []string{"ann", "bob", "cat"}
			events := []string{gatehouse.AuditLoginSucceeded, gatehouse.AuditLoginFailed, gatehouse.AuditCodeSent, gatehouse.AuditUserUnlocked}
			var all []*gatehouse.AuditEvent // every event appended, oldest first
			for i := range 40 {
				e := &gatehouse.AuditEvent{
					OrgID:  []string{a.ID, a.ID, a.ID, b.ID, ""}[i%5],
					UserID: users[i%3],
					Event:  events[i%4],
					Reason: fmt.Sprint("r", i),
					// Not in the order of the ids, as from nodes whose clocks
					// differ: the list is in id order all the same.
					At: t0.Add(time.Duration((i*7)%40) * time.Minute),
				}
				if i%6 == 0 {
					e.ActorID = "adm"
				}
				if i%7 == 0 {
					e.ActorID = "ann"
				}
				if i%2 == 0 {
					e.ClientIP, e.Detail = netip.MustParseAddr("203.0.113.9"), map[string]string{"i": fmt.Sprint(i)}
				}
				if err := db.AppendAudit(ctx, e); err != nil {
					t.Fatal(err)
				}
				all = append(all, e)
			}
			// matching is the filter's meaning, written plainly.
			matching := func(f gatehouse.AuditFilter) []*gatehouse.AuditEvent {
				var want []*gatehouse.AuditEvent
				for _, e := range slices.Backward(all) {
					if e.OrgID == f.OrgID &&
						(f.UserID == "" || e.UserID == f.UserID || e.ActorID == f.UserID) &&
						(f.Event == "" || e.Event == f.Event) &&
						(f.Since.IsZero() || !e.At.Before(f.Since)) &&
						(f.Until.IsZero() || e.At.Before(f.Until)) {
						want = append(want, e)
					}
				}
				return want
			}
			at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }
			for _, f := range []gatehouse.AuditFilter{
				{OrgID: a.ID},
				{OrgID: a.ID, UserID: "ann"}, // the subject, or the actor
				{OrgID: a.ID, UserID: "adm"}, // only ever the actor
				{OrgID: a.ID, UserID: "bob"},
				{OrgID: a.ID, Event: gatehouse.AuditLoginFailed},
				{OrgID: a.ID, Since: at(10)},
				{OrgID: a.ID, Until: at(10)},
				{OrgID: a.ID, Since: at(7), Until: at(21)},
				{OrgID: a.ID, Event: gatehouse.AuditCodeSent, Since: at(14)},
				{OrgID: a.ID, Event: gatehouse.AuditLoginSucceeded, Until: at(30)},
				{OrgID: a.ID, UserID: "ann", Event: gatehouse.AuditLoginSucceeded},
				{OrgID: a.ID, UserID: "ann", Since: at(5), Until: at(35)},
				{OrgID: a.ID, UserID: "adm", Event: gatehouse.AuditCodeSent, Since: at(1)},
				{OrgID: b.ID, UserID: "ann"},
				{OrgID: b.ID, Event: gatehouse.AuditLoginSucceeded, Since: at(3)},
				{OrgID: "", UserID: "cat"},
			} {
				want := matching(f)
				if len(want) == 0 {
					t.Fatalf("the filter %+v matches nothing: a useless case", f)
				}
				for _, limit := range []int{2, 3, 100} {
					var got []*gatehouse.AuditEvent
					f := f
					f.Limit = limit
					for range 50 {
						page, err := db.ListAuditFiltered(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						if len(page) > limit {
							t.Fatalf("%+v: a page of %d, want at most %d", f, len(page), limit)
						}
						if len(page) == 0 {
							break
						}
						got = append(got, page...)
						f.BeforeID = page[len(page)-1].ID
					}
					checkEqual(t, fmt.Sprintf("ListAuditFiltered(%+v) by pages of %d", f, limit), got, want)
				}
			}
			for _, f := range []gatehouse.AuditFilter{
				{OrgID: a.ID, Limit: 10, UserID: "nobody"},
				{OrgID: a.ID, Limit: 10, Event: "no.such.event"},
				{OrgID: a.ID, Limit: 10, Since: at(40)},
				{OrgID: a.ID, Limit: 10, Since: at(10), Until: at(10)},
				{OrgID: a.ID, Limit: 10, BeforeID: all[0].ID},
				{OrgID: gatehouse.NewID(), Limit: 10},
				{OrgID: a.ID, Limit: 0},
			} {
				if got, err := db.ListAuditFiltered(ctx, f); err != nil || got == nil || len(got) != 0 {
					t.Errorf("ListAuditFiltered(%+v) = %d events, %v; want an empty list", f, len(got), err)
				}
			}
		})

		t.Run("remembered browsers are counted per user, without the expired or another organization's", func(t *testing.T) {
			ctx := t.Context()
			a, b := newOrg(t, db, "remember-a"), newOrg(t, db, "remember-b")
			ann, bob := newUser(t, db, a.ID, "ann@example.com"), newUser(t, db, a.ID, "bob@example.com")
			cat := newUser(t, db, a.ID, "cat@example.com")
			dan := newUser(t, db, b.ID, "dan@example.com")
			old := newBrowser(t, db, ann, "ann-old", t0) // expires at t0+30d: now
			newBrowser(t, db, ann, "ann-1", t0.Add(24*time.Hour))
			newBrowser(t, db, ann, "ann-2", t0.Add(48*time.Hour))
			newBrowser(t, db, bob, "bob", t0.Add(24*time.Hour))
			newBrowser(t, db, dan, "dan", t0.Add(24*time.Hour))
			now := old.ExpiresAt

			got, err := db.CountRememberedBrowsers(ctx, a.ID, []string{ann.ID, bob.ID, cat.ID, dan.ID, gatehouse.NewID()}, now)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "CountRememberedBrowsers", got, map[string]int{ann.ID: 2, bob.ID: 1})

			got, err = db.CountRememberedBrowsers(ctx, a.ID, []string{ann.ID}, now.Add(-time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "CountRememberedBrowsers just before the first expires", got, map[string]int{ann.ID: 3})

			got, err = db.CountRememberedBrowsers(ctx, b.ID, []string{ann.ID, bob.ID, dan.ID}, now)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "CountRememberedBrowsers in the other organization", got, map[string]int{dan.ID: 1})

			for _, ids := range [][]string{nil, {}} {
				got, err := db.CountRememberedBrowsers(ctx, a.ID, ids, now)
				if err != nil || got == nil || len(got) != 0 {
					t.Errorf("CountRememberedBrowsers(%#v) = %v, %v; want an empty map", ids, got, err)
				}
			}

			// More ids than one query takes, with the users in different
			// batches.
			many := make([]string, 2*rememberedBatch+10)
			for i := range many {
				many[i] = gatehouse.NewID()
			}
			many[3], many[rememberedBatch+5], many[len(many)-1] = ann.ID, bob.ID, ann.ID
			got, err = db.CountRememberedBrowsers(ctx, a.ID, many, now)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "CountRememberedBrowsers of many users", got, map[string]int{ann.ID: 2, bob.ID: 1})
		})

		t.Run("a session's re-authentication is recorded and read back", func(t *testing.T) {
			ctx := t.Context()
			u := newUser(t, db, newOrg(t, db, "reauth").ID, "ann@example.com")
			hash := []byte("reauth-session")
			newSession(t, db, u, hash)
			if s, err := db.SessionByTokenHash(ctx, hash); err != nil || !s.ReauthAt.IsZero() {
				t.Fatalf("a new session: %+v, %v; want a zero ReauthAt", s, err)
			}
			helsinki := time.FixedZone("EET", 2*60*60)
			for _, at := range []time.Time{
				time.Date(2026, 11, 27, 12, 0, 0, 456_789_000, helsinki),
				time.Date(2026, 11, 27, 13, 0, 0, 0, helsinki),
			} {
				if err := db.SetSessionReauth(ctx, hash, at); err != nil {
					t.Fatal(err)
				}
				s, err := db.SessionByTokenHash(ctx, hash)
				if err != nil {
					t.Fatal(err)
				}
				if want := at.Truncate(time.Millisecond).UTC(); s.ReauthAt != want {
					t.Errorf("after SetSessionReauth(%v): ReauthAt = %v, want %v", at, s.ReauthAt, want)
				}
				if s.CreatedAt != t0 || s.LastSeenAt != t0 {
					t.Errorf("SetSessionReauth moved the other times: %+v", s)
				}
			}
			checkCode(t, "SetSessionReauth of a missing session", db.SetSessionReauth(ctx, []byte("gone"), t0), gatehouse.ENOTFOUND)
		})

		t.Run("ten thousand users of one organization are searched and counted", func(t *testing.T) {
			ctx := t.Context()
			org := newOrg(t, db, "large")
			const n = 10_000
			since := t0.Add(-time.Hour)
			// One statement: a row generator inserts them in a fraction of a
			// second on both databases. The users vary as the loop below
			// expects.
			start := time.Now()
			if _, err := db.write.ExecContext(ctx, `
				WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2)
				INSERT INTO users (id, org_id, email, name, phone, role, disabled, two_factor_exempt,
					password_hash, otp_failures, otp_last_failure_at, last_verified_at, locale, created_at, updated_at)
				SELECT $1 || '-' || i, $1, 'user' || i || '@example.com', 'Person ' || i,
					CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN '' ELSE '+35840' || i END,
					'member', i % 11 = 0, i % 13 = 0, NULL, i % 101, 0,
					CASE WHEN i % 5 = 0 THEN CAST($3 AS bigint) WHEN i % 5 = 1 THEN CAST($3 AS bigint) - 1 ELSE 0 END,
					'en', CAST($4 AS bigint), CAST($4 AS bigint)
				FROM seq`, org.ID, n, millis(since), millis(t0)); err != nil {
				t.Fatal(err)
			}
			t.Logf("inserted %d users in %v", n, time.Since(start))
			var want gatehouse.UserStats
			var wantEmails []string
			for i := 1; i <= n; i++ {
				want.Total++
				if i%5 == 0 {
					want.VerifiedSince++
				}
				if i%3 != 2 {
					want.WithoutPhone++
				}
				if i%101 >= gatehouse.OTPLockFailures {
					want.Locked++
				}
				if i%13 == 0 {
					want.Exempt++
				}
				if i%11 == 0 {
					want.Disabled++
				}
				if e := fmt.Sprintf("user%d@example.com", i); strings.Contains(e, "user12") {
					wantEmails = append(wantEmails, e)
				}
			}
			slices.Sort(wantEmails)

			start = time.Now()
			got, err := db.UserStats(ctx, org.ID, since)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("UserStats in %v", time.Since(start))
			checkEqual(t, "UserStats", got, want)

			start = time.Now()
			var emails []string
			after := ""
			for {
				page, err := db.SearchUsers(ctx, org.ID, "USER12", after, 50)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, u := range page {
					emails = append(emails, u.Email)
				}
				after = page[len(page)-1].Email
			}
			t.Logf("SearchUsers: %d users in pages of 50 in %v", len(emails), time.Since(start))
			if !slices.Equal(emails, wantEmails) {
				t.Errorf("SearchUsers(USER12) found %d users %v…, want %d", len(emails), emails[:min(len(emails), 5)], len(wantEmails))
			}
			byName, err := db.SearchUsers(ctx, org.ID, "person 999", "", 50)
			if err != nil {
				t.Fatal(err)
			}
			if len(byName) != 11 { // 999 and 9990 to 9999
				t.Errorf("SearchUsers(person 999) found %d users, want 11", len(byName))
			}

			if db.Dialect() == "sqlite" {
				// Paging walks the (org_id, email) index: no sort of the
				// organization's users for each page.
				index := sqliteIndexOn(t, db, "users", "org_id", "email")
				plan := sqlitePlan(t, db, searchUsersQuery, org.ID, "user5@example.com", "%user12%", 50)
				if !strings.Contains(plan, "USING INDEX "+index+" (org_id=? AND email>?)") || strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("SearchUsers' plan:\n%s\nwant a search of %s on org_id and email, without a temporary b-tree", plan, index)
				}
			}
		})
	})

	t.Run("PatchUser", func(t *testing.T) { testPatchUser(t, fresh, open, newURL) })
	testKeyStore(t, newURL, open, fresh)
	t.Run("SAML browser binding and federated identities", func(t *testing.T) { testSAMLBinding(t, newURL, open) })
}

func newOrg(t *testing.T, db *DB, slug string) *gatehouse.Organization {
	t.Helper()
	org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: slug, Name: "Org " + slug,
		Settings: gatehouse.DefaultPasswordSettings(), CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateOrganization(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	return org
}

func newUser(t *testing.T, db *DB, orgID, email string) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{ID: gatehouse.NewID(), OrgID: orgID, Email: email, Role: gatehouse.RoleMember,
		PasswordHash: "$argon2id$" + email, CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func newSession(t *testing.T, db *DB, u *gatehouse.User, hash []byte) {
	t.Helper()
	s := &gatehouse.Session{TokenHash: bytes.Clone(hash), UserID: u.ID, OrgID: u.OrgID,
		TwoFactorState: gatehouse.TwoFactorVerified, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}
	if err := db.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// codeHash stands in for the keyed hash of a code or token: 32 bytes.
func codeHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newChallenge saves a live login challenge of u created at t0, changed
// first by edit if not nil.
func newChallenge(t *testing.T, db *DB, u *gatehouse.User, edit func(*gatehouse.Challenge)) *gatehouse.Challenge {
	t.Helper()
	c := &gatehouse.Challenge{ID: gatehouse.NewID(), TokenHash: codeHash(gatehouse.NewID()), Kind: gatehouse.ChallengeLogin,
		OrgID: u.OrgID, UserID: u.ID, Channel: gatehouse.OTPEmail, Destination: u.Email, Step: 1,
		ClientIP: netip.MustParseAddr("203.0.113.9"), UserAgent: "Mozilla/5.0",
		CreatedAt: t0, ExpiresAt: t0.Add(gatehouse.ChallengeLifetime)}
	if edit != nil {
		edit(c)
	}
	if err := db.CreateChallenge(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// addCode adds code to a challenge at at, for its lifetime, and returns its
// hash.
func addCode(t *testing.T, db *DB, challengeID, code string, at time.Time) []byte {
	t.Helper()
	h := codeHash(code)
	if err := db.AddCode(t.Context(), challengeID, h, at, at.Add(gatehouse.CodeLifetime)); err != nil {
		t.Fatal(err)
	}
	return h
}

func checkConsume(t *testing.T, db *DB, challengeID string, hash []byte, now time.Time, want string, wantFailures int) {
	t.Helper()
	got, failures, err := db.ConsumeCode(t.Context(), challengeID, hash, now, gatehouse.ChallengeMaxFailures)
	if err != nil || got != want || failures != wantFailures {
		t.Errorf("ConsumeCode at %v = %q, %d failures, %v; want %q, %d failures", now, got, failures, err, want, wantFailures)
	}
}

// newBrowser saves a remembered browser of u, created at created for 30 days,
// whose token hashes as codeHash(token).
func newBrowser(t *testing.T, db *DB, u *gatehouse.User, token string, created time.Time) *gatehouse.RememberedBrowser {
	t.Helper()
	b := &gatehouse.RememberedBrowser{ID: gatehouse.NewID(), TokenHash: codeHash(token), OrgID: u.OrgID, UserID: u.ID,
		ClientIP: netip.MustParseAddr("2001:db8::7"), UserAgent: "Mozilla/5.0 " + token,
		CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour)}
	if err := db.CreateRememberedBrowser(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newReset saves a password reset link of u created at t0, whose token
// hashes as codeHash(token).
func newReset(t *testing.T, db *DB, u *gatehouse.User, token string) *gatehouse.PasswordReset {
	t.Helper()
	r := &gatehouse.PasswordReset{TokenHash: codeHash(token), OrgID: u.OrgID, UserID: u.ID, Email: u.Email,
		CreatedAt: t0, ExpiresAt: t0.Add(gatehouse.PasswordResetLifetime)}
	if err := db.CreatePasswordReset(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func checkCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != want {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, want)
	}
}

// checkEqual compares with reflect.DeepEqual, which also tells a UTC time
// from the same instant elsewhere: the store returns times in UTC.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(got), dump(want))
	}
}

func dump(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		s := "["
		for i := range rv.Len() {
			s += "\n\t" + dump(rv.Index(i).Interface())
		}
		return s + "\n]"
	}
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return fmt.Sprintf("%+v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%+v", v)
}

// sqliteIndexOn returns the name of the index on exactly these columns of
// table, failing the test if there is none.
func sqliteIndexOn(t *testing.T, db *DB, table string, columns ...string) string {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), `SELECT name FROM pragma_index_list($1)`, table)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, name := range names {
		rows, err := db.read.QueryContext(t.Context(), `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, name)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for rows.Next() {
			var col string
			if err := rows.Scan(&col); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, col)
		}
		rows.Close()
		if slices.Equal(cols, columns) {
			return name
		}
	}
	t.Fatalf("no index on %s %v among %v", table, columns, names)
	return ""
}

// sqlitePlan returns SQLite's plan for query, one step a line.
func sqlitePlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var (
			id, parent, notUsed int
			detail              string
		)
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "\n")
}
