package sqlstore

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func TestLinks(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		now := t0.Add(time.Minute)
		works := func(t *testing.T, db *DB, r *gatehouse.PasswordReset) bool {
			t.Helper()
			_, err := db.PasswordResetByTokenHash(t.Context(), r.TokenHash, now)
			if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Fatal(err)
			}
			return err == nil
		}

		t.Run("a new link voids the user's older one, and no one else's", func(t *testing.T) {
			db := d.nodes(t, 1)[0]
			org := newOrg(t, db, "clinic")
			ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
			old, theirs := newReset(t, db, ann, "ann-1"), newReset(t, db, bob, "bob-1")
			newer := newReset(t, db, ann, "ann-2")
			if works(t, db, old) {
				t.Error("the older link still works after a newer one was issued")
			}
			if _, err := db.ConsumePasswordReset(t.Context(), old.TokenHash, now); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("consuming the older link: %v, want not_found", err)
			}
			if !works(t, db, newer) || !works(t, db, theirs) {
				t.Error("the newest link, or another user's, stopped working")
			}
		})

		t.Run("a link is dead once the user's e-mail is no longer the address it was sent to", func(t *testing.T) {
			db := d.nodes(t, 1)[0]
			ann := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			r := newReset(t, db, ann, "ann-1")
			ann.Email, ann.UpdatedAt = "ann@elsewhere.test", now
			if err := db.UpdateUser(t.Context(), ann); err != nil {
				t.Fatal(err)
			}
			if works(t, db, r) {
				t.Error("a link sent to the old address still works after the e-mail changed")
			}
			if _, err := db.ConsumePasswordReset(t.Context(), r.TokenHash, now); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("consuming it: %v, want not_found", err)
			}
			fresh := newReset(t, db, ann, "ann-2")
			if !works(t, db, fresh) {
				t.Error("a link sent to the new address does not work")
			}
		})

		t.Run("voiding a user's links spends them all", func(t *testing.T) {
			db := d.nodes(t, 1)[0]
			org := newOrg(t, db, "clinic")
			ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
			r, theirs := newReset(t, db, ann, "ann-1"), newReset(t, db, bob, "bob-1")
			if n, err := db.VoidPasswordResets(t.Context(), org.ID, ann.ID, now); err != nil || n != 1 {
				t.Fatalf("VoidPasswordResets = %d, %v; want 1, nil", n, err)
			}
			if works(t, db, r) || !works(t, db, theirs) {
				t.Error("a voided link works, or another user's was voided")
			}
			if !works(t, db, newReset(t, db, ann, "ann-2")) {
				t.Error("a link issued after voiding does not work")
			}
		})

		t.Run("forty links issued at once on two nodes leave exactly one working", func(t *testing.T) {
			dbs := d.nodes(t, 2)
			ann := newUser(t, dbs[0], newOrg(t, dbs[0], "clinic").ID, "ann@example.com")
			const n = 40
			rs := make([]*gatehouse.PasswordReset, n)
			race(t, n, func(i int) (bool, error) {
				rs[i] = &gatehouse.PasswordReset{TokenHash: codeHash(gatehouse.NewID()), OrgID: ann.OrgID, UserID: ann.ID,
					Email: ann.Email, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
				return true, dbs[i%2].CreatePasswordReset(t.Context(), rs[i])
			})
			live := 0
			for _, r := range rs {
				if works(t, dbs[0], r) {
					live++
				}
			}
			if live != 1 {
				t.Errorf("%d links work, want 1", live)
			}
		})

		t.Run("ending a user's challenges ends their sign-ins and changes, not others'", func(t *testing.T) {
			db := d.nodes(t, 1)[0]
			org := newOrg(t, db, "clinic")
			ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
			login := newChallenge(t, db, ann, nil)
			addCode(t, db, login.ID, "123456", t0)
			change := newChallenge(t, db, ann, func(c *gatehouse.Challenge) {
				c.Kind, c.TokenHash, c.NewValue = gatehouse.ChallengeChangeEmail, nil, "ann@new.test"
			})
			theirs := newChallenge(t, db, bob, nil)
			if n, err := db.DeleteUserChallenges(t.Context(), org.ID, ann.ID); err != nil || n != 2 {
				t.Fatalf("DeleteUserChallenges = %d, %v; want 2, nil", n, err)
			}
			for _, c := range []*gatehouse.Challenge{login, change} {
				if _, err := db.ChallengeByID(t.Context(), org.ID, ann.ID, c.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("challenge %s (%s) survived: %v", c.ID, c.Kind, err)
				}
			}
			if _, err := db.ChallengeByID(t.Context(), org.ID, bob.ID, theirs.ID); err != nil {
				t.Errorf("another user's challenge ended: %v", err)
			}
		})

		t.Run("a rehash replaces only the hash it was made from", func(t *testing.T) {
			db := d.nodes(t, 1)[0]
			ann := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			if ok, err := db.RehashPassword(t.Context(), ann.OrgID, ann.ID, ann.PasswordHash, "$argon2id$rehashed", now); err != nil || !ok {
				t.Fatalf("RehashPassword over the current hash = %v, %v; want true", ok, err)
			}
			if err := db.SetPasswordHash(t.Context(), ann.OrgID, ann.ID, "$argon2id$new-password", now); err != nil {
				t.Fatal(err)
			}
			if ok, err := db.RehashPassword(t.Context(), ann.OrgID, ann.ID, "$argon2id$rehashed", "$argon2id$old-password", now); err != nil || ok {
				t.Errorf("RehashPassword over a changed hash = %v, %v; want false", ok, err)
			}
			if u, err := db.UserByID(t.Context(), ann.OrgID, ann.ID); err != nil || u.PasswordHash != "$argon2id$new-password" {
				t.Errorf("the hash is %q (%v), want the new password's", u.PasswordHash, err)
			}
		})

		t.Run("forty reset sends at once on two nodes pass the user cap exactly", func(t *testing.T) {
			dbs := d.nodes(t, 2)
			const n, perUser = 40, 3
			got := race(t, n, func(i int) (bool, error) {
				// Each from another network: only the user cap binds.
				net := gatehouse.ResetSendNetwork(netipFrom(i))
				return dbs[i%2].ReserveResetSend(t.Context(), "ann", net, now, now.Add(-time.Hour), perUser, 1000)
			})
			if got != perUser {
				t.Errorf("%d reset sends passed, want %d", got, perUser)
			}
			var sends int
			if err := dbs[0].read.QueryRowContext(t.Context(), `SELECT count(*) FROM code_sends`).Scan(&sends); err != nil || sends != 0 {
				t.Errorf("code_sends has %d rows (%v): reset sends must not count as code sends", sends, err)
			}
		})

		t.Run("forty reset sends from one network pass the network cap exactly, and the window moves on", func(t *testing.T) {
			dbs := d.nodes(t, 2)
			const n, perNet = 40, 10
			got := race(t, n, func(i int) (bool, error) {
				return dbs[i%2].ReserveResetSend(t.Context(), gatehouse.NewID(), "2001:db8:1:2::/64", now, now.Add(-time.Hour), 3, perNet)
			})
			if got != perNet {
				t.Errorf("%d reset sends passed, want %d", got, perNet)
			}
			later := now.Add(time.Hour + time.Millisecond)
			if ok, err := dbs[0].ReserveResetSend(t.Context(), "zed", "2001:db8:1:2::/64", later, later.Add(-time.Hour), 3, perNet); err != nil || !ok {
				t.Errorf("an hour later: %v, %v; want a send", ok, err)
			}
			if n, err := dbs[0].Purge(t.Context(), later, keepDefault); err != nil || n != perNet {
				t.Errorf("the clean-up removed %d (%v), want the %d old reset sends", n, err, perNet)
			}
		})
	})
}

func netipFrom(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }

// TestPasswordResets holds a password reset link to being used once.
func TestPasswordResets(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a password reset link works once, and only before it expires", func(t *testing.T) {
			db := d.fresh(t)
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
			db := d.fresh(t)
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
	})
}
