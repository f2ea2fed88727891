package sqlstore

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
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
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != want {
			t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, want)
		}
	})

	t.Run("two nodes migrating a fresh database at once both succeed", func(t *testing.T) {
		url := newURL(t)
		a, b := open(t, url), open(t, url)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, db := range []*DB{a, b} {
			wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate on node %d: %v", i+1, err)
			}
		}
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
			CreatedAt:    t0, UpdatedAt: t0.Add(time.Minute),
		}
		bare := &gatehouse.User{ // no phone, no password: NULLs come back as ""
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
			if ip != "" {
				s.ClientIP = netip.MustParseAddr(ip)
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
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				th, err := db.RecordFailure(ctx, "acct:ann", t0.Add(time.Duration(i)*time.Millisecond), time.Hour)
				counts[i], errs[i] = th.Failures, err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
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
