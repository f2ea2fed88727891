package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehousehq/gatehouse/internal/dbclock"
)

// clockOptions is what tests inject into the clock: this machine's clock
// (skewed to play a drifting node) and how often the offset from the
// database's clock is measured again.
type clockOptions struct {
	local func() time.Time // nil: time.Now
	every time.Duration    // 0: dbclock.DefaultEvery
}

// startClock chooses the clock of every expiry and window. On PostgreSQL,
// several nodes share the rows those times are compared with, so each node
// tells the database's time: its own clock plus the offset measured from
// PostgreSQL's clock_timestamp() (docs/operations.md). SQLite is one
// machine: its own clock. A node that cannot measure the offset does not
// start.
func (a *app) startClock(ctx context.Context, c *Config, log *slog.Logger) error {
	local := c.clock.local
	if local == nil {
		local = time.Now
	}
	a.now = local
	if a.store.Dialect() == "postgres" {
		clk, err := dbclock.New(ctx, dbclock.Config{Source: a.store.DatabaseTime, Local: local, Every: c.clock.every, Logger: log})
		if err != nil {
			return err
		}
		a.clock, a.now = clk, clk.Now
	}
	a.store.SetClock(a.now)
	return nil
}

// runClock measures the database clock again now and then while serving,
// and says at start how far this node's clock is from it.
func (a *app) runClock(ctx context.Context, log *slog.Logger) {
	if a.clock == nil {
		return
	}
	off, rtt := a.clock.Offset()
	log.Info("database clock offset", "offset_ms", milliseconds(off), "round_trip_ms", milliseconds(rtt), "error_bound_ms", milliseconds(rtt/2))
	if off.Abs() > time.Second {
		log.Warn("this node's clock is more than a second off the database's: Gatehouse uses the database's time, but keep NTP running", "offset_ms", milliseconds(off))
	}
	go a.clock.Run(ctx)
}

// milliseconds states a duration for a log line as a number in its unit, to
// the microsecond: JSON has no duration type, and slog would write
// nanoseconds.
func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
