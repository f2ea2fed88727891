package sqlstore

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// The counters that bound an attacker (issue 8, items 3 and 5), held to
// their contract on SQLite, on PostgreSQL, and on two PostgreSQL nodes
// sharing one schema.

func TestCounters(t *testing.T) { forEachDB(t, testCounters) }

// racers is how many parallel callers each race test runs.
const racers = 40

func testCounters(t *testing.T, d engine) {
	// nodes returns one migrated database and, on PostgreSQL, a second
	// node on the same schema (on SQLite, the same one again).
	nodes := func(t *testing.T) (*DB, *DB) {
		t.Helper()
		url := d.url(t)
		a := d.open(t, url)
		if err := a.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		if a.Dialect() != "postgres" {
			return a, a
		}
		return a, d.open(t, url)
	}
	caps := gatehouse.DefaultSendCaps()
	since := t0.Add(-gatehouse.SendWindow)
	reserve := func(t *testing.T, db *DB, user, dest, ip string) (int64, gatehouse.SendCounts, bool) {
		t.Helper()
		var addr netip.Addr
		if ip != "" {
			addr = netip.MustParseAddr(ip)
		}
		id, c, ok, err := db.ReserveSend(t.Context(), gatehouse.SendRecord{UserID: user, Destination: dest, ClientIP: addr, At: t0}, since, caps)
		if err != nil {
			t.Fatalf("ReserveSend(%s, %s, %s): %v", user, dest, ip, err)
		}
		return id, c, ok
	}

	t.Run("a send is reserved while the user, destination and network are under their caps", func(t *testing.T) {
		db, _ := nodes(t)
		for i := range gatehouse.MaxSendsPerUser {
			id, c, ok := reserve(t, db, "u1", fmt.Sprintf("d%d@x.test", i), fmt.Sprintf("198.51.%d.1", i))
			if !ok || id == 0 || c.User != i {
				t.Fatalf("send %d: id %d, counts %+v, ok %v; want reserved after %d", i+1, id, c, ok, i)
			}
		}
		if _, c, ok := reserve(t, db, "u1", "other@x.test", "192.0.2.1"); ok || c.User != gatehouse.MaxSendsPerUser {
			t.Errorf("a 6th send to the user: counts %+v, ok %v; want refused", c, ok)
		}
		// Another user is not held back by u1's cap.
		if _, _, ok := reserve(t, db, "u2", "other@x.test", "192.0.2.1"); !ok {
			t.Error("another user's send was refused")
		}
		// A send outside the window no longer counts.
		id, c, ok, err := db.ReserveSend(t.Context(), gatehouse.SendRecord{UserID: "u1", Destination: "late@x.test", At: t0.Add(time.Hour)},
			t0.Add(time.Hour-gatehouse.SendWindow), caps)
		if err != nil || !ok || id == 0 || c.User != 0 {
			t.Errorf("after the window: %d %+v %v %v", id, c, ok, err)
		}
	})

	t.Run("the destination cap holds across users", func(t *testing.T) {
		db, _ := nodes(t)
		for i := range gatehouse.MaxSendsPerDest {
			if _, _, ok := reserve(t, db, fmt.Sprintf("u%d", i), "+358401234567", fmt.Sprintf("198.51.%d.1", i)); !ok {
				t.Fatalf("send %d refused", i+1)
			}
		}
		if _, c, ok := reserve(t, db, "fresh", "+358401234567", "192.0.2.1"); ok || c.Destination != gatehouse.MaxSendsPerDest {
			t.Errorf("a 6th send to one number: %+v %v; want refused", c, ok)
		}
		if _, _, ok := reserve(t, db, "fresh", "+358401234568", "192.0.2.1"); !ok {
			t.Error("a send to another number was refused")
		}
	})

	t.Run("the network cap keys IPv6 by /64 and IPv4 by /24", func(t *testing.T) {
		db, _ := nodes(t)
		for _, c := range []struct{ fill, same, other string }{
			{"2001:db8:1:2::%x", "2001:db8:1:2:ffff::1", "2001:db8:1:3::1"},
			{"203.0.113.%d", "203.0.113.250", "203.0.114.1"},
		} {
			for i := range gatehouse.MaxSendsPerAddress {
				if _, _, ok := reserve(t, db, fmt.Sprintf("%s-u%d", c.fill, i), fmt.Sprintf("%s-d%d", c.fill, i), fmt.Sprintf(c.fill, i+1)); !ok {
					t.Fatalf("%s: send %d refused", c.fill, i+1)
				}
			}
			if _, n, ok := reserve(t, db, c.same+"-u", c.same+"-d", c.same); ok || n.Address != gatehouse.MaxSendsPerAddress {
				t.Errorf("another address of the same network %s: %+v %v; want refused", c.same, n, ok)
			}
			if _, _, ok := reserve(t, db, c.other+"-u", c.other+"-d", c.other); !ok {
				t.Errorf("the next network %s was refused", c.other)
			}
		}
	})

	t.Run("an unknown client or destination is lumped with no other", func(t *testing.T) {
		db, _ := nodes(t)
		for i := range gatehouse.MaxSendsPerAddress + 1 {
			if _, _, ok := reserve(t, db, fmt.Sprintf("u%d", i), "", ""); !ok {
				t.Fatalf("send %d with no destination and no address refused", i+1)
			}
		}
	})

	t.Run("a cancelled reservation counts for nothing", func(t *testing.T) {
		db, _ := nodes(t)
		var ids []int64
		for range gatehouse.MaxSendsPerUser {
			id, _, _ := reserve(t, db, "u1", "a@x.test", "192.0.2.1")
			ids = append(ids, id)
		}
		if err := db.CancelSend(t.Context(), ids[2]); err != nil {
			t.Fatal(err)
		}
		if err := db.CancelSend(t.Context(), ids[2]); err != nil {
			t.Errorf("cancelling twice: %v", err)
		}
		if _, c, ok := reserve(t, db, "u1", "a@x.test", "192.0.2.1"); !ok || c.User != gatehouse.MaxSendsPerUser-1 {
			t.Errorf("after a cancel: %+v %v; want one more send allowed", c, ok)
		}
	})

	t.Run("other messages (RecordSend) never count against the code caps, but CountSends sees both", func(t *testing.T) {
		db, _ := nodes(t)
		ip := netip.MustParseAddr("192.0.2.1")
		for range 10 {
			if err := db.RecordSend(t.Context(), gatehouse.SendRecord{UserID: "u1", Destination: "a@x.test", ClientIP: ip, At: t0}); err != nil {
				t.Fatal(err)
			}
		}
		if _, c, ok := reserve(t, db, "u1", "a@x.test", "192.0.2.1"); !ok || c != (gatehouse.SendCounts{}) {
			t.Errorf("after 10 reset e-mails: %+v %v; want a code send allowed, counting none", c, ok)
		}
		if c, err := db.CountSends(t.Context(), "u1", "a@x.test", ip, since); err != nil || c.User != 11 || c.Address != 11 {
			t.Errorf("CountSends = %+v, %v; want 11", c, err)
		}
	})

	t.Run("sends logged before the upgrade still count as codes, IPv4 ones by their /24", func(t *testing.T) {
		db := d.open(t, d.url(t))
		ms, err := loadMigrations(db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.version == 6 {
				for i, ip := range []string{"203.0.113.7", "203.0.113.8", "2001:db8::1"} {
					if _, err := db.write.ExecContext(t.Context(), `
						INSERT INTO code_sends (user_id, destination, client_ip, sent_at) VALUES ($1, $2, $3, $4)`,
						"u1", fmt.Sprintf("d%d", i), ip, millis(t0)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := db.apply(t.Context(), m); err != nil {
				t.Fatalf("%s: %v", m.name, err)
			}
		}
		if _, c, ok := reserve(t, db, "u1", "d0", "203.0.113.200"); !ok || c != (gatehouse.SendCounts{User: 3, Destination: 1, Address: 2}) {
			t.Errorf("after the upgrade: %+v %v; want the old sends counted (IPv6 ones by no network)", c, ok)
		}
	})

	t.Run("the caps' counts each read an index, never the whole send log", func(t *testing.T) {
		db, _ := nodes(t)
		args := []any{"u1", "d", "192.0.2.0/24", millis(since)}
		indexes := []string{"code_sends_user", "code_sends_destination", "code_sends_client_net"}
		if db.Dialect() == "sqlite" {
			plan := sqlitePlan(t, db, countCodeSends, args...)
			for _, index := range indexes {
				if !strings.Contains(plan, "USING INDEX "+index+" ") {
					t.Errorf("the plan does not use %s:\n%s", index, plan)
				}
			}
			if strings.Contains(plan, "SCAN code_sends") {
				t.Errorf("the plan scans the send log:\n%s", plan)
			}
			return
		}
		// PostgreSQL plans a tiny table as a sequential scan whatever
		// its indexes; with sequential scans priced out, a plan that
		// still scans the log has no index to read instead.
		plan := postgresPlan(t, db, countCodeSends, args...)
		for _, index := range indexes {
			if !strings.Contains(plan, "using "+index+" on code_sends") {
				t.Errorf("the plan does not use %s:\n%s", index, plan)
			}
		}
		if strings.Contains(plan, "Seq Scan on code_sends") {
			t.Errorf("the plan scans the send log:\n%s", plan)
		}
	})

	t.Run("40 parallel reservations on two nodes pass each cap exactly", func(t *testing.T) {
		for _, c := range []struct {
			name string
			rec  func(i int) (user, dest, ip string)
			want int
		}{
			{"one user", func(i int) (string, string, string) {
				return "u1", fmt.Sprintf("d%d", i), fmt.Sprintf("198.51.%d.1", i)
			}, gatehouse.MaxSendsPerUser},
			{"one destination", func(i int) (string, string, string) {
				return fmt.Sprintf("u%d", i), "+358401234567", fmt.Sprintf("198.51.%d.1", i)
			}, gatehouse.MaxSendsPerDest},
			{"one IPv6 /64", func(i int) (string, string, string) {
				return fmt.Sprintf("u%d", i), fmt.Sprintf("d%d", i), fmt.Sprintf("2001:db8::%x", i+1)
			}, gatehouse.MaxSendsPerAddress},
		} {
			t.Run(c.name, func(t *testing.T) {
				a, b := nodes(t)
				won := race(t, racers, func(i int) (bool, error) {
					user, dest, ip := c.rec(i)
					_, _, ok, err := []*DB{a, b}[i%2].ReserveSend(context.Background(),
						gatehouse.SendRecord{UserID: user, Destination: dest, ClientIP: netip.MustParseAddr(ip), At: t0}, since, caps)
					return ok, err
				})
				if won != c.want {
					t.Errorf("%d of %d parallel sends reserved, want exactly %d", won, racers, c.want)
				}
			})
		}
	})

	// userAt gives a user n consecutive wrong codes, the last at last.
	userAt := func(t *testing.T, db *DB, n int, last time.Time) *gatehouse.User {
		t.Helper()
		org := newOrg(t, db, "org"+gatehouse.NewID()[:6])
		u := newUser(t, db, org.ID, "nurse@x.test")
		for range n {
			if _, err := db.RecordOTPFailure(t.Context(), org.ID, u.ID, last); err != nil {
				t.Fatal(err)
			}
		}
		return u
	}
	take := func(t *testing.T, db *DB, u *gatehouse.User, c *gatehouse.Challenge, hash []byte, now time.Time) gatehouse.CodeAttempt {
		t.Helper()
		a, err := db.TakeCode(t.Context(), u.OrgID, u.ID, c.ID, hash, now, gatehouse.ChallengeMaxFailures)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	t.Run("TakeCode counts a wrong code for the challenge and the user, and a right one resets the user", func(t *testing.T) {
		db, _ := nodes(t)
		u := userAt(t, db, 3, t0)
		c := newChallenge(t, db, u, nil)
		h := addCode(t, db, c.ID, "123456", t0)
		now := t0.Add(time.Minute)
		if a := take(t, db, u, c, codeHash("000000"), now); a.Result != gatehouse.CodeWrong || a.Failures != 1 || a.UserFailures != 4 {
			t.Errorf("wrong code: %+v", a)
		}
		got, _ := db.UserByID(t.Context(), u.OrgID, u.ID)
		if got.OTPFailures != 4 || !got.OTPLastFailureAt.Equal(now) {
			t.Errorf("user after a wrong code: %d failures, last %v", got.OTPFailures, got.OTPLastFailureAt)
		}
		if a := take(t, db, u, c, h, now); a.Result != gatehouse.CodeAccepted || a.UserFailures != 0 {
			t.Errorf("right code: %+v", a)
		}
		got, _ = db.UserByID(t.Context(), u.OrgID, u.ID)
		if got.OTPFailures != 0 || !got.LastVerifiedAt.Equal(now) {
			t.Errorf("user after the right code: %d failures, verified %v", got.OTPFailures, got.LastVerifiedAt)
		}
		if a := take(t, db, u, c, h, now); a.Result != gatehouse.CodeOver {
			t.Errorf("the code again: %+v, want over", a)
		}
		if _, err := db.TakeCode(t.Context(), u.OrgID, "nobody", c.ID, h, now, gatehouse.ChallengeMaxFailures); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("unknown user: %v", err)
		}
	})

	t.Run("TakeCode refuses, counting nothing, while the user backs off or is locked", func(t *testing.T) {
		db, _ := nodes(t)
		u := userAt(t, db, gatehouse.OTPFreeFailures, t0)
		c := newChallenge(t, db, u, nil)
		h := addCode(t, db, c.ID, "123456", t0)
		if a := take(t, db, u, c, h, t0.Add(time.Second)); a.Result != gatehouse.CodeLocked || a.Locked || a.Wait != gatehouse.OTPFirstWait-time.Second {
			t.Errorf("backing off: %+v", a)
		}
		if a := take(t, db, u, c, codeHash("000000"), t0.Add(time.Second)); a.Result != gatehouse.CodeLocked || a.UserFailures != gatehouse.OTPFreeFailures {
			t.Errorf("a wrong code while backing off: %+v", a)
		}
		if got, _ := db.UserByID(t.Context(), u.OrgID, u.ID); got.OTPFailures != gatehouse.OTPFreeFailures {
			t.Errorf("%d failures, want %d: a refused attempt was counted", got.OTPFailures, gatehouse.OTPFreeFailures)
		}
		if a := take(t, db, u, c, h, t0.Add(gatehouse.OTPFirstWait)); a.Result != gatehouse.CodeAccepted {
			t.Errorf("after the wait: %+v", a)
		}

		locked := userAt(t, db, gatehouse.OTPLockFailures, t0.Add(-48*time.Hour))
		c = newChallenge(t, db, locked, nil)
		h = addCode(t, db, c.ID, "123456", t0)
		if a := take(t, db, locked, c, h, t0); a.Result != gatehouse.CodeLocked || !a.Locked {
			t.Errorf("locked user, right code: %+v", a)
		}
	})

	t.Run("40 parallel wrong codes on two nodes never take a user past the bound", func(t *testing.T) {
		a, b := nodes(t)
		// 99 failures, the last long enough ago that no back-off holds.
		u := userAt(t, a, gatehouse.OTPLockFailures-1, t0.Add(-2*gatehouse.OTPMaxWait))
		// Eight live sign-ins of five tries each: forty tries the
		// challenges' own bound would allow.
		var cs []*gatehouse.Challenge
		for range racers / gatehouse.ChallengeMaxFailures {
			c := newChallenge(t, a, u, nil)
			addCode(t, a, c.ID, "123456", t0)
			cs = append(cs, c)
		}
		each := make([]string, racers)
		race(t, racers, func(i int) (bool, error) {
			r, err := []*DB{a, b}[i%2].TakeCode(context.Background(), u.OrgID, u.ID, cs[i%len(cs)].ID, codeHash(fmt.Sprintf("w%d", i)), t0, gatehouse.ChallengeMaxFailures)
			if err != nil {
				return false, err
			}
			each[i] = r.Result
			return true, nil
		})
		results := map[string]int{}
		for _, r := range each {
			results[r]++
		}
		got, err := a.UserByID(t.Context(), u.OrgID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.OTPFailures != gatehouse.OTPLockFailures || results[gatehouse.CodeWrong] != 1 || results[gatehouse.CodeLocked] != racers-1 {
			t.Errorf("user at %d failures after %d parallel wrong codes (%v); want exactly %d, one counted",
				got.OTPFailures, racers, results, gatehouse.OTPLockFailures)
		}
	})
}

// postgresPlan is PostgreSQL's EXPLAIN of query with sequential scans
// switched off for the one transaction it runs in.
func postgresPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	tx, err := db.write.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(t.Context(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
