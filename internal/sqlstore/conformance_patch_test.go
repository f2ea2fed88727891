package sqlstore

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// testPatchUser holds PatchUser to its contract: only the fields set are
// written, in one statement, so concurrent changes of different fields (a
// disable and an edit, on one node or two) all stand.
func testPatchUser(t *testing.T, fresh func(*testing.T) *DB, open func(*testing.T, string) *DB, newURL func(*testing.T) string) {
	ptr := func(s string) *string { return &s }
	yes := true

	t.Run("writes only the fields that are set and returns the saved user", func(t *testing.T) {
		db := fresh(t)
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
		db := fresh(t)
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
		url := newURL(t)
		a := open(t, url)
		if err := a.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		b := open(t, url)
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
