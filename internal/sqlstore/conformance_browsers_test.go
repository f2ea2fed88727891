package sqlstore

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestRememberedBrowsers holds the remembered browsers to their contract.
func TestRememberedBrowsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a remembered browser is found only for its user, in its organization, until it expires", func(t *testing.T) {
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
	})
}
