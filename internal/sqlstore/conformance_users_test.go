package sqlstore

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestUsers holds the user store to its contract, code failures included
// (PatchUser is TestPatchUser).
func TestUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a user round-trips through create, e-mail and id", func(t *testing.T) {
			db := d.fresh(t)
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

		t.Run("users are read by ids in batches, only the organization's and only those that exist", func(t *testing.T) {
			db := d.fresh(t)
			a, b := newOrg(t, db, "ids-a"), newOrg(t, db, "ids-b")
			var ids, want []string
			for i := range rememberedBatch + 5 { // more than one batch
				u := newUser(t, db, a.ID, fmt.Sprintf("u%03d@example.com", i))
				ids, want = append(ids, u.ID), append(want, u.ID)
			}
			other := newUser(t, db, b.ID, "other@example.com")
			ids = append(ids, other.ID, gatehouse.NewID())
			got, err := db.UsersByIDs(t.Context(), a.ID, ids)
			if err != nil {
				t.Fatal(err)
			}
			gotIDs := make([]string, len(got))
			for i, u := range got {
				gotIDs[i] = u.ID
			}
			slices.Sort(gotIDs)
			slices.Sort(want)
			if !slices.Equal(gotIDs, want) {
				t.Errorf("UsersByIDs gave %d users, want the %d of the organization", len(gotIDs), len(want))
			}
			if got, err := db.UsersByIDs(t.Context(), a.ID, nil); err != nil || len(got) != 0 {
				t.Errorf("UsersByIDs(nil) = %v, %v", got, err)
			}
		})

		t.Run("users list by e-mail a page at a time", func(t *testing.T) {
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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

		t.Run("creating a user in a missing organization is not found", func(t *testing.T) {
			db := d.fresh(t)
			err := db.CreateUser(t.Context(), &gatehouse.User{ID: gatehouse.NewID(), OrgID: gatehouse.NewID(), Email: "ann@example.com", Role: gatehouse.RoleMember})
			checkCode(t, "CreateUser", err, gatehouse.ENOTFOUND)
		})

		t.Run("code failures per user count up, reset and round-trip through every user query", func(t *testing.T) {
			db := d.fresh(t)
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
			db := d.fresh(t)
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
	})
}

// TestPatchUser holds PatchUser to its contract: only the fields set are
// written, in one statement, so concurrent changes of different fields (a
// disable and an edit, on one node or two) all stand.
func TestPatchUser(t *testing.T) { forEachDB(t, testPatchUser) }

func testPatchUser(t *testing.T, d engine) {
	ptr := func(s string) *string { return &s }
	yes := true

	t.Run("writes only the fields that are set and returns the saved user", func(t *testing.T) {
		db := d.fresh(t)
		ctx := t.Context()
		org := newOrg(t, db, "acme")
		u := newUser(t, db, org.ID, "a@example.com")
		at := t0.Add(time.Hour)
		got, err := db.PatchUser(ctx, org.ID, u.ID, gatehouse.UserPatch{Name: ptr("Alice"), Phone: ptr("+358401234567")}, at)
		if err != nil {
			t.Fatal(err)
		}
		want := *u
		want.Name, want.Phone, want.UpdatedAt = "Alice", "+358401234567", at
		checkEqual(t, "patched user", got, &want)
		if again, _ := db.UserByID(ctx, org.ID, u.ID); again.Name != "Alice" || again.Email != u.Email || again.Disabled {
			t.Errorf("read back %+v", again)
		}
		got, err = db.PatchUser(ctx, org.ID, u.ID, gatehouse.UserPatch{Phone: ptr("")}, at)
		if err != nil || got.Phone != "" || got.Name != "Alice" {
			t.Errorf("removing the phone: %+v, %v", got, err)
		}
	})

	t.Run("answers not found across organizations and conflict for a taken e-mail", func(t *testing.T) {
		db := d.fresh(t)
		ctx := t.Context()
		org, other := newOrg(t, db, "acme"), newOrg(t, db, "other")
		a := newUser(t, db, org.ID, "a@example.com")
		newUser(t, db, org.ID, "b@example.com")
		_, err := db.PatchUser(ctx, other.ID, a.ID, gatehouse.UserPatch{Disabled: &yes}, t0)
		checkCode(t, "another organization's user", err, gatehouse.ENOTFOUND)
		_, err = db.PatchUser(ctx, org.ID, a.ID, gatehouse.UserPatch{Email: ptr("b@example.com")}, t0)
		checkCode(t, "a taken e-mail", err, gatehouse.ECONFLICT)
		if got, _ := db.UserByID(ctx, org.ID, a.ID); got.Disabled || got.Email != "a@example.com" {
			t.Errorf("a refused patch changed the user: %+v", got)
		}
	})

	t.Run("a disable racing 40 edits on two nodes stands, and so does every edited field", func(t *testing.T) {
		dbs := d.nodes(t, 2)
		a, b := dbs[0], dbs[1]
		ctx := t.Context()
		org := newOrg(t, a, "acme")
		u := newUser(t, a, org.ID, "a@example.com")
		// Callers 0 to 39 edit; caller 40 disables.
		race(t, 41, func(i int) (bool, error) {
			if i == 40 {
				_, err := b.PatchUser(ctx, org.ID, u.ID, gatehouse.UserPatch{Disabled: &yes}, t0)
				return true, err
			}
			p := gatehouse.UserPatch{Name: ptr("Alice")}
			if i%3 == 0 {
				p = gatehouse.UserPatch{Phone: ptr("+358401234567")}
			}
			_, err := []*DB{a, b}[i%2].PatchUser(ctx, org.ID, u.ID, p, t0.Add(time.Duration(i)*time.Millisecond))
			return true, err
		})
		got, err := a.UserByID(ctx, org.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Disabled || got.Name != "Alice" || got.Phone != "+358401234567" {
			t.Errorf("after the race: disabled=%v name=%q phone=%q; want all three changes kept", got.Disabled, got.Name, got.Phone)
		}
	})
}
