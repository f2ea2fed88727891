package dbclock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/dbclock"
	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// skewed is a local clock running off by a settable amount.
type skewed struct {
	mu   sync.Mutex
	skew time.Duration
}

func (s *skewed) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.skew)
}

func (s *skewed) step(d time.Duration) {
	s.mu.Lock()
	s.skew += d
	s.mu.Unlock()
}

func openPostgres(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// near fails unless a and b are within d.
func near(t *testing.T, what string, a, b time.Time, d time.Duration) {
	t.Helper()
	if diff := a.Sub(b).Abs(); diff > d {
		t.Errorf("%s: %v and %v are %v apart, want at most %v", what, a, b, diff, d)
	}
}

// TestNodesWithDriftingClocksAgreeOnTheDatabaseTimePostgres: two nodes on
// one PostgreSQL (here on this machine, so its clock is the test's), one
// running two hours fast, tell the same time; a clock stepped later is
// corrected at the next measurement.
func TestNodesWithDriftingClocksAgreeOnTheDatabaseTimePostgres(t *testing.T) {
	ctx := context.Background()
	dbA, dbB := openPostgres(t), openPostgres(t)
	localB := &skewed{skew: 2 * time.Hour}
	a, err := dbclock.New(ctx, dbclock.Config{Source: dbA.DatabaseTime})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dbclock.New(ctx, dbclock.Config{Source: dbB.DatabaseTime, Local: localB.now})
	if err != nil {
		t.Fatal(err)
	}
	const tolerance = 250 * time.Millisecond
	near(t, "node A and node B", a.Now(), b.Now(), tolerance)
	near(t, "node B and the database's machine", b.Now(), time.Now(), tolerance)
	if off, rtt := b.Offset(); (off+2*time.Hour).Abs() > tolerance || rtt <= 0 || rtt > dbclock.DefaultMaxRoundTrip {
		t.Errorf("node B's offset %v (round trip %v), want about -2h", off, rtt)
	}

	localB.step(-3 * time.Hour) // NTP steps node B's clock an hour slow
	near(t, "node B stepped, before measuring", b.Now(), time.Now().Add(-3*time.Hour), tolerance)
	if err := b.Measure(ctx); err != nil {
		t.Fatal(err)
	}
	near(t, "node B stepped, after measuring", b.Now(), a.Now(), tolerance)
}

// TestAClockThatCannotMeasureFailsClosed: no clock without a first
// measurement; a later failed measurement keeps the last offset.
func TestAClockThatCannotMeasureFailsClosed(t *testing.T) {
	ctx := context.Background()
	db := openPostgres(t)
	gone := openPostgres(t)
	gone.Close()
	if _, err := dbclock.New(ctx, dbclock.Config{Source: gone.DatabaseTime}); err == nil {
		t.Error("a clock started on a database it cannot reach")
	}

	local := &skewed{skew: time.Hour}
	var broken bool
	var mu sync.Mutex
	source := func(ctx context.Context) (time.Time, error) {
		mu.Lock()
		defer mu.Unlock()
		if broken {
			return gone.DatabaseTime(ctx)
		}
		return db.DatabaseTime(ctx)
	}
	c, err := dbclock.New(ctx, dbclock.Config{Source: source, Local: local.now})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	broken = true
	mu.Unlock()
	before, _ := c.Offset()
	if err := c.Measure(ctx); err == nil {
		t.Error("a measurement against a closed database succeeded")
	}
	if after, _ := c.Offset(); after != before {
		t.Errorf("a failed measurement changed the offset from %v to %v", before, after)
	}
	near(t, "after a failed measurement", c.Now(), time.Now(), 250*time.Millisecond)
}

// TestSlowRoundTripsAreNotUsed: a round trip slower than MaxRoundTrip says
// too little about when the database read its clock; the quick ones decide.
func TestSlowRoundTripsAreNotUsed(t *testing.T) {
	db := testdb.SQLite(t)
	var mu sync.Mutex
	var calls int
	base := time.Now()
	local := base
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return local
	}
	// The database's clock is the real one; the local clock is frozen
	// and jumps by 10 s during the second and fourth round trips.
	source := func(ctx context.Context) (time.Time, error) {
		mu.Lock()
		calls++
		if calls == 2 || calls == 4 {
			local = local.Add(10 * time.Second)
		}
		mu.Unlock()
		return db.DatabaseTime(ctx)
	}
	c, err := dbclock.New(context.Background(), dbclock.Config{Source: source, Local: clock})
	if err != nil {
		t.Fatal(err)
	}
	off, rtt := c.Offset()
	if rtt != 0 {
		t.Errorf("the measurement in use has round trip %v: a slow one was used", rtt)
	}
	// The quick samples ran after the first jump or the second; the median
	// of the quickest three is one of them, never a slow sample's guess.
	got := base.Add(off)
	if d := time.Until(got).Abs(); d > 21*time.Second {
		t.Errorf("offset %v is far from any quick sample", off)
	}
	if calls != dbclock.DefaultSamples {
		t.Errorf("%d round trips, want %d", calls, dbclock.DefaultSamples)
	}
}

// TestAJumpIsLoggedInMilliseconds: a clock stepped between two measurements
// is logged with the offsets before and after as numbers of milliseconds
// (JSON has no duration type; a "2m0s" string or nanoseconds would be read
// wrong by whoever alerts on it).
func TestAJumpIsLoggedInMilliseconds(t *testing.T) {
	db := testdb.SQLite(t)
	local := &skewed{}
	var logs bytes.Buffer
	c, err := dbclock.New(context.Background(), dbclock.Config{Source: db.DatabaseTime, Local: local.now,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	local.step(2 * time.Minute)
	if err := c.Measure(context.Background()); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q: %v", logs.String(), err)
	}
	from, okFrom := line["from_ms"].(float64)
	to, okTo := line["to_ms"].(float64)
	if !okFrom || !okTo {
		t.Fatalf("the jump is logged as %v, want numbers from_ms and to_ms", line)
	}
	// The local clock went 2 minutes ahead, so the offset went 2 minutes
	// down (within the round trips of a database on this machine).
	if d := from - to; d < 119_000 || d > 121_000 {
		t.Errorf("from_ms %v, to_ms %v: a step of %v ms, want about 120000", from, to, d)
	}
	for _, old := range []string{"from", "to"} {
		if _, ok := line[old]; ok {
			t.Errorf("the jump still logs %q, a duration without its unit", old)
		}
	}
}
