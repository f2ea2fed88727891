package sqlstore

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TestChallenges holds the challenges, their codes and their sends to
// their contract.
func TestChallenges(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("a challenge round-trips by token hash and by id, only for its user in its organization", func(t *testing.T) {
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			c := newChallenge(t, db, u, nil)
			h := addCode(t, db, c.ID, "123456", t0.Add(10*time.Minute))
			checkConsume(t, db, c.ID, codeHash("000000"), t0, gatehouse.CodeWrong, 1)
			checkConsume(t, db, c.ID, h, c.ExpiresAt, gatehouse.CodeOver, 1)
			checkConsume(t, db, gatehouse.NewID(), h, t0, gatehouse.CodeOver, 0)
		})

		t.Run("a code of another challenge never matches", func(t *testing.T) {
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
			ctx := t.Context()
			u := newUser(t, db, newOrg(t, db, "clinic").ID, "ann@example.com")
			now := t0.Add(5 * time.Minute)
			live := newChallenge(t, db, u, func(c *gatehouse.Challenge) { c.ExpiresAt = now.Add(time.Millisecond) })
			expired := newChallenge(t, db, u, func(c *gatehouse.Challenge) { c.ExpiresAt = now })
			addCode(t, db, live.ID, "111111", t0)
			addCode(t, db, expired.ID, "222222", t0)
			for _, at := range []time.Time{now.Add(-gatehouse.SendWindow - time.Millisecond), now.Add(-gatehouse.SendWindow)} {
				if err := db.RecordSend(ctx, gatehouse.SendRecord{UserID: u.ID, Destination: u.Email, At: at}); err != nil {
					t.Fatal(err)
				}
			}
			n, err := db.Purge(ctx, now, gatehouse.Retention{Sends: gatehouse.SendWindow, Throttle: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("Purge removed %d, want 2 (a challenge and a send record)", n)
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
			db := d.fresh(t)
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
	})
}
