package sqlstore

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// The throttle and device conformance tests (issue 8 items 2 and 4) run on
// SQLite and on PostgreSQL, on one node and on two sharing one database.

func TestThrottle(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("one node", func(t *testing.T) {
			testThrottle(t, func(t *testing.T) (*DB, *DB) {
				db := d.fresh(t)
				return db, db
			})
		})
		t.Run("two nodes", func(t *testing.T) {
			testThrottle(t, func(t *testing.T) (*DB, *DB) {
				dbs := d.nodes(t, 2)
				return dbs[0], dbs[1]
			})
		})
	})
}

// testThrottle holds ReserveAttempt, ReleaseAttempt and the device store to
// their contract. nodes returns two stores on one fresh database: the same
// one twice, or two nodes.
func testThrottle(t *testing.T, nodes func(t *testing.T) (*DB, *DB)) {
	acct := gatehouse.ThrottleRule{Free: 5, FirstWait: 30 * time.Second, MaxWait: 15 * time.Minute}
	addr := gatehouse.ThrottleRule{Free: 20, FirstWait: 30 * time.Second, MaxWait: 15 * time.Minute}
	const window = 24 * time.Hour

	t.Run("of 40 parallel reservers on one account exactly 5 pass and the rest are told to wait", func(t *testing.T) {
		a, b := nodes(t)
		const n = 40
		passed := make([]bool, n)
		waits := make([]time.Duration, n)
		ok := race(t, n, func(i int) (bool, error) {
			r, wait, err := []*DB{a, b}[i%2].ReserveAttempt(t.Context(), t0, window,
				gatehouse.ThrottleKey{Key: "acct:clinic:ann@example.com", Rule: acct},
				gatehouse.ThrottleKey{Key: fmt.Sprintf("ip:192.0.2.%d", i), Rule: addr})
			passed[i], waits[i] = r != nil, wait
			if err == nil && (r != nil) == (wait > 0) {
				err = fmt.Errorf("reservation %v with wait %v: want exactly one", r, wait)
			}
			return passed[i], err
		})
		for i := range n {
			if !passed[i] && waits[i] != 30*time.Second {
				t.Errorf("caller %d waits %v, want 30s", i, waits[i])
			}
		}
		if ok != 5 {
			t.Errorf("%d of %d parallel reservations passed, want exactly 5", ok, n)
		}
		if th, err := a.Throttle(t.Context(), "acct:clinic:ann@example.com"); err != nil || th.Failures != 5 || !th.LastFailure.Equal(t0) {
			t.Errorf("account count = %+v, %v; want 5 failures at t0", th, err)
		}
		// A refused caller counted nothing under its own address either.
		for i := range n {
			th, err := b.Throttle(t.Context(), fmt.Sprintf("ip:192.0.2.%d", i))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[passed[i]]; th.Failures != want {
				t.Errorf("address %d counted %d, want %d", i, th.Failures, want)
			}
		}
	})

	t.Run("the wait runs from the last failure, doubles, and the count starts again after the window", func(t *testing.T) {
		db, _ := nodes(t)
		key := gatehouse.ThrottleKey{Key: "acct:clinic:ann@example.com", Rule: acct}
		reserve := func(at time.Time) (bool, time.Duration) {
			t.Helper()
			r, wait, err := db.ReserveAttempt(t.Context(), at, window, key)
			if err != nil {
				t.Fatal(err)
			}
			return r != nil, wait
		}
		for i := range 5 {
			if ok, _ := reserve(t0.Add(time.Duration(i) * time.Second)); !ok {
				t.Fatalf("free attempt %d refused", i+1)
			}
		}
		last := t0.Add(4 * time.Second)
		if ok, wait := reserve(last.Add(10 * time.Second)); ok || wait != 20*time.Second {
			t.Errorf("10 s after the fifth failure: passed %v, wait %v; want refused for 20s", ok, wait)
		}
		if ok, _ := reserve(last.Add(30 * time.Second)); !ok {
			t.Fatal("30 s after the fifth failure: refused")
		}
		last = last.Add(30 * time.Second)
		if ok, wait := reserve(last.Add(59 * time.Second)); ok || wait != time.Second {
			t.Errorf("59 s after the sixth failure: passed %v, wait %v; want refused for 1s (the wait doubled)", ok, wait)
		}
		if ok, _ := reserve(last.Add(window + time.Millisecond)); !ok {
			t.Fatal("after the window: refused")
		}
		if th, err := db.Throttle(t.Context(), key.Key); err != nil || th.Failures != 1 {
			t.Errorf("after the window the count is %+v, %v; want 1", th, err)
		}
	})

	t.Run("a waiting address refuses the attempt without counting it against the account", func(t *testing.T) {
		db, _ := nodes(t)
		ctx := t.Context()
		for i := range 20 {
			if r, _, err := db.ReserveAttempt(ctx, t0, window, gatehouse.ThrottleKey{Key: "ip:192.0.2.1", Rule: addr}); err != nil || r == nil {
				t.Fatalf("address attempt %d: %v, %v", i+1, r, err)
			}
		}
		r, wait, err := db.ReserveAttempt(ctx, t0.Add(time.Second), window,
			gatehouse.ThrottleKey{Key: "acct:clinic:ann@example.com", Rule: acct}, gatehouse.ThrottleKey{Key: "ip:192.0.2.1", Rule: addr})
		if err != nil || r != nil || wait != 29*time.Second {
			t.Fatalf("ReserveAttempt = %v, %v, %v; want refused for 29s", r, wait, err)
		}
		if th, err := db.Throttle(ctx, "acct:clinic:ann@example.com"); err != nil || th.Failures != 0 {
			t.Errorf("account count = %+v, %v; want none", th, err)
		}
		if th, err := db.Throttle(ctx, "ip:192.0.2.1"); err != nil || th.Failures != 20 || !th.LastFailure.Equal(t0) {
			t.Errorf("address count = %+v, %v; want 20 at t0", th, err)
		}
	})

	t.Run("a count within the free allowance never waits, even when its last attempt is later than now", func(t *testing.T) {
		db, other := nodes(t)
		ctx := t.Context()
		// Parallel sign-ins from one address: the later clock reserved
		// first, and its attempt is still in flight.
		if r, _, err := db.ReserveAttempt(ctx, t0.Add(time.Second), window, gatehouse.ThrottleKey{Key: "ip:192.0.2.9", Rule: addr}); err != nil || r == nil {
			t.Fatalf("first attempt: %v, %v", r, err)
		}
		r, wait, err := other.ReserveAttempt(ctx, t0, window,
			gatehouse.ThrottleKey{Key: "acct:clinic:bob@example.com", Rule: acct}, gatehouse.ThrottleKey{Key: "ip:192.0.2.9", Rule: addr})
		if err != nil || r == nil || wait != 0 {
			t.Fatalf("the earlier clock's attempt: %v, wait %v, %v; want it reserved (1 of 20 free counted)", r, wait, err)
		}
	})

	t.Run("releasing gives the attempt back and restores the last failure's time", func(t *testing.T) {
		db, other := nodes(t)
		ctx := t.Context()
		key := gatehouse.ThrottleKey{Key: "ip:192.0.2.1", Rule: addr}
		if _, err := db.RecordFailure(ctx, key.Key, t0, window); err != nil {
			t.Fatal(err)
		}
		r, _, err := db.ReserveAttempt(ctx, t0.Add(time.Minute), window, key)
		if err != nil || r == nil {
			t.Fatalf("ReserveAttempt = %v, %v", r, err)
		}
		if err := other.ReleaseAttempt(ctx, r); err != nil {
			t.Fatal(err)
		}
		if th, err := db.Throttle(ctx, key.Key); err != nil || th.Failures != 1 || !th.LastFailure.Equal(t0) {
			t.Errorf("after release: %+v, %v; want 1 failure at t0", th, err)
		}

		// When a later attempt was counted meanwhile, its time stays.
		r1, _, err := db.ReserveAttempt(ctx, t0.Add(2*time.Minute), window, key)
		if err != nil || r1 == nil {
			t.Fatal(r1, err)
		}
		if r2, _, err := db.ReserveAttempt(ctx, t0.Add(3*time.Minute), window, key); err != nil || r2 == nil {
			t.Fatal(r2, err)
		}
		if err := db.ReleaseAttempt(ctx, r1); err != nil {
			t.Fatal(err)
		}
		if th, err := db.Throttle(ctx, key.Key); err != nil || th.Failures != 2 || !th.LastFailure.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("after releasing the earlier of two: %+v, %v; want 2 failures at t0+3m", th, err)
		}

		// Releasing never goes below zero, even after the count was cleared.
		r3, _, err := db.ReserveAttempt(ctx, t0.Add(4*time.Minute), window, gatehouse.ThrottleKey{Key: "acct:x", Rule: acct})
		if err != nil || r3 == nil {
			t.Fatal(r3, err)
		}
		if err := db.ClearFailures(ctx, "acct:x"); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := db.ReleaseAttempt(ctx, r3); err != nil {
				t.Fatal(err)
			}
		}
		if th, err := db.Throttle(ctx, "acct:x"); err != nil || th.Failures != 0 {
			t.Errorf("after clear and release: %+v, %v; want none", th, err)
		}
	})

	t.Run("a reservation names one to four distinct keys", func(t *testing.T) {
		db, _ := nodes(t)
		k := func(s string) gatehouse.ThrottleKey { return gatehouse.ThrottleKey{Key: s, Rule: acct} }
		for _, keys := range [][]gatehouse.ThrottleKey{nil, {k("a"), k("a")}, {k("a"), k("b"), k("c"), k("d"), k("e")}} {
			_, _, err := db.ReserveAttempt(t.Context(), t0, window, keys...)
			checkCode(t, fmt.Sprintf("ReserveAttempt(%d keys)", len(keys)), err, gatehouse.EINVALID)
		}
		checkCode(t, "ReleaseAttempt(nil)", db.ReleaseAttempt(t.Context(), nil), gatehouse.EINVALID)
	})

	t.Run("a device is found by its token hash for its own user only, until it expires", func(t *testing.T) {
		db, other := nodes(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		ann, bob := newUser(t, db, org.ID, "ann@example.com"), newUser(t, db, org.ID, "bob@example.com")
		d := &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: codeHash("ann-device"), OrgID: org.ID, UserID: ann.ID,
			CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(gatehouse.DeviceLifetime)}
		if err := db.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := other.FindDevice(ctx, org.ID, ann.ID, [][]byte{codeHash("junk"), codeHash("ann-device")}, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "FindDevice", got, d)
		_, err = db.FindDevice(ctx, org.ID, bob.ID, [][]byte{codeHash("ann-device")}, t0)
		checkCode(t, "another user's device", err, gatehouse.ENOTFOUND)
		_, err = db.FindDevice(ctx, org.ID, ann.ID, nil, t0)
		checkCode(t, "no hashes", err, gatehouse.ENOTFOUND)
		_, err = db.FindDevice(ctx, org.ID, ann.ID, [][]byte{codeHash("ann-device")}, d.ExpiresAt)
		checkCode(t, "an expired device", err, gatehouse.ENOTFOUND)

		later := t0.Add(30 * 24 * time.Hour)
		if err := other.TouchDevice(ctx, d.ID, later, later.Add(gatehouse.DeviceLifetime)); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchDevice(ctx, d.ID, t0, t0); err != nil { // never backwards
			t.Fatal(err)
		}
		got, err = db.FindDevice(ctx, org.ID, ann.ID, [][]byte{codeHash("ann-device")}, d.ExpiresAt)
		if err != nil || !got.LastUsedAt.Equal(later) || !got.ExpiresAt.Equal(later.Add(gatehouse.DeviceLifetime)) {
			t.Errorf("after touch: %+v, %v; want last used %v", got, err, later)
		}
		checkCode(t, "TouchDevice(unknown)", db.TouchDevice(ctx, "nope", t0, t0), gatehouse.ENOTFOUND)
		checkCode(t, "CreateDevice(unknown user)", db.CreateDevice(ctx, &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: codeHash("x"),
			OrgID: org.ID, UserID: "nobody", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0}), gatehouse.ENOTFOUND)
		checkCode(t, "CreateDevice(same token)", db.CreateDevice(ctx, &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: codeHash("ann-device"),
			OrgID: org.ID, UserID: bob.ID, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0}), gatehouse.ECONFLICT)

		if n, err := db.DeleteUserDevices(ctx, org.ID, ann.ID); err != nil || n != 1 {
			t.Errorf("DeleteUserDevices = %d, %v; want 1", n, err)
		}
		_, err = db.FindDevice(ctx, org.ID, ann.ID, [][]byte{codeHash("ann-device")}, t0)
		checkCode(t, "a deleted device", err, gatehouse.ENOTFOUND)
	})

	t.Run("the periodic clean-up removes expired devices", func(t *testing.T) {
		db, _ := nodes(t)
		ctx := t.Context()
		org := newOrg(t, db, "clinic")
		ann := newUser(t, db, org.ID, "ann@example.com")
		for _, c := range []struct {
			token   string
			expires time.Time
		}{{"gone", t0}, {"kept", t0.Add(time.Millisecond)}} {
			if err := db.CreateDevice(ctx, &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: codeHash(c.token), OrgID: org.ID, UserID: ann.ID,
				CreatedAt: t0.Add(-time.Hour), LastUsedAt: t0.Add(-time.Hour), ExpiresAt: c.expires}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Purge(ctx, t0, keepDefault); err != nil {
			t.Fatal(err)
		}
		var left []string
		rows, err := db.read.QueryContext(ctx, `SELECT token_hash FROM known_devices`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			left = append(left, string(h))
		}
		if len(left) != 1 || left[0] != string(codeHash("kept")) {
			t.Errorf("after the clean-up %d devices are left, want only the unexpired one", len(left))
		}
	})

	t.Run("40 parallel new devices of one user leave the 20 most recently used", func(t *testing.T) {
		a, b := nodes(t)
		ctx := t.Context()
		org := newOrg(t, a, "clinic")
		ann := newUser(t, a, org.ID, "ann@example.com")
		bob := newUser(t, a, org.ID, "bob@example.com")
		if err := a.CreateDevice(ctx, &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: codeHash("bob"), OrgID: org.ID, UserID: bob.ID,
			CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(gatehouse.DeviceLifetime)}); err != nil {
			t.Fatal(err)
		}
		// One that expired is forgotten by the next creation.
		if err := a.CreateDevice(ctx, &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: codeHash("old"), OrgID: org.ID, UserID: ann.ID,
			CreatedAt: t0.Add(-gatehouse.DeviceLifetime), LastUsedAt: t0.Add(99 * time.Hour), ExpiresAt: t0}); err != nil {
			t.Fatal(err)
		}
		const n = 40
		race(t, n, func(i int) (bool, error) {
			at := t0.Add(time.Duration(i) * time.Second)
			return true, []*DB{a, b}[i%2].CreateDevice(ctx, &gatehouse.Device{ID: gatehouse.NewID(), TokenHash: codeHash(fmt.Sprint("ann-", i)),
				OrgID: org.ID, UserID: ann.ID, CreatedAt: at, LastUsedAt: at, ExpiresAt: at.Add(gatehouse.DeviceLifetime)})
		})
		var count int
		if err := a.read.QueryRowContext(ctx, `SELECT count(*) FROM known_devices WHERE user_id = $1`, ann.ID).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if count != gatehouse.MaxDevicesPerUser {
			t.Errorf("ann has %d devices, want %d", count, gatehouse.MaxDevicesPerUser)
		}
		var kept []int
		for i := range n {
			if _, err := a.FindDevice(ctx, org.ID, ann.ID, [][]byte{codeHash(fmt.Sprint("ann-", i))}, t0); err == nil {
				kept = append(kept, i)
			}
		}
		// Creation order across goroutines is not fixed, but the newest
		// (by last use) of those created so far are the ones kept: the
		// very newest always survives.
		if !slices.Contains(kept, n-1) || len(kept) != gatehouse.MaxDevicesPerUser {
			t.Errorf("kept devices %v; want %d including the newest", kept, gatehouse.MaxDevicesPerUser)
		}
		if _, err := a.FindDevice(ctx, org.ID, bob.ID, [][]byte{codeHash("bob")}, t0); err != nil {
			t.Errorf("bob's device went with ann's: %v", err)
		}
	})
}

// TestFailures holds the failure counts (RecordFailure, ClearFailures,
// Throttle) to their contract.
func TestFailures(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("failures count up within the window and start again after it", func(t *testing.T) {
			db := d.fresh(t)
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
			db := d.fresh(t)
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
			db := d.fresh(t)
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
	})
}
