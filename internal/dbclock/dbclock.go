// Package dbclock gives the nodes that share one database one clock: the
// database server's. A Clock measures the offset between the local clock
// and the database's (a few round trips, the median of the quickest) when
// it starts and then periodically, and tells the time as the local clock
// plus that offset. Reading the local clock keeps Now cheap (no query per
// call) and keeps time moving smoothly between measurements; the offset
// keeps every node within about half a round trip of the database, however
// far its own clock has drifted.
package dbclock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultSamples      = 5
	DefaultTimeout      = 2 * time.Second
	DefaultMaxRoundTrip = time.Second
	DefaultEvery        = 30 * time.Second
	// DefaultJump is the change of offset between two measurements that is
	// logged as a warning: a clock stepped on this machine or the database.
	DefaultJump = time.Minute
)

// Config configures a Clock. Source is required.
type Config struct {
	// Source reads the database's clock (sqlstore.DB.DatabaseTime).
	Source func(ctx context.Context) (time.Time, error)
	// Local is this machine's clock; nil means time.Now. Tests skew it.
	Local func() time.Time
	// Samples is the number of round trips per measurement (at most 20).
	Samples int
	// Timeout bounds each round trip.
	Timeout time.Duration
	// MaxRoundTrip: a slower round trip is not used (its error bound,
	// half the round trip, is too large).
	MaxRoundTrip time.Duration
	// Every is the time between two measurements in Run.
	Every time.Duration
	// Logger is told of failed measurements and jumps; nil discards.
	Logger *slog.Logger
}

// Clock tells the database's time. It is safe for concurrent use.
type Clock struct {
	cfg    Config
	offset atomic.Int64 // nanoseconds to add to the local clock
	rtt    atomic.Int64 // round trip of the measurement in use
}

// New returns a Clock after a first measurement; it fails when no round
// trip succeeds, so a node never starts on a clock it could not check.
func New(ctx context.Context, cfg Config) (*Clock, error) {
	if cfg.Source == nil {
		return nil, errors.New("dbclock: Source is required")
	}
	if cfg.Local == nil {
		cfg.Local = time.Now
	}
	if cfg.Samples <= 0 {
		cfg.Samples = DefaultSamples
	}
	cfg.Samples = min(cfg.Samples, 20)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRoundTrip <= 0 {
		cfg.MaxRoundTrip = DefaultMaxRoundTrip
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Clock{cfg: cfg}
	offset, rtt, err := c.measure(ctx)
	if err != nil {
		return nil, err
	}
	c.offset.Store(int64(offset))
	c.rtt.Store(int64(rtt))
	return c, nil
}

// Now returns the local time plus the measured offset: the database's time,
// within half the round trip of the last measurement.
func (c *Clock) Now() time.Time {
	return c.cfg.Local().Add(time.Duration(c.offset.Load()))
}

// Offset returns what is added to the local clock and the round trip of the
// measurement it came from (the error bound is half of it).
func (c *Clock) Offset() (offset, roundTrip time.Duration) {
	return time.Duration(c.offset.Load()), time.Duration(c.rtt.Load())
}

// Measure measures the offset again and uses it. On failure the previous
// offset stays in use.
func (c *Clock) Measure(ctx context.Context) error {
	offset, rtt, err := c.measure(ctx)
	if err != nil {
		return err
	}
	old := time.Duration(c.offset.Swap(int64(offset)))
	c.rtt.Store(int64(rtt))
	if d := (offset - old).Abs(); d > DefaultJump {
		c.cfg.Logger.Warn("the offset between this node's clock and the database's jumped: a clock was stepped",
			"from_ms", milliseconds(old), "to_ms", milliseconds(offset))
	}
	return nil
}

// Run measures every Config.Every until ctx ends, logging failures (the
// last good offset stays in use).
func (c *Clock) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Measure(ctx); err != nil && ctx.Err() == nil {
				c.cfg.Logger.Warn("measuring the database clock failed; the last offset stays in use", "error", err)
			}
		}
	}
}

type sample struct {
	offset, rtt time.Duration
}

// measure makes Samples round trips and returns the median offset of the
// quickest three (or of all, when fewer succeeded within MaxRoundTrip).
// Each offset assumes the database read its clock half-way through the
// round trip, so its error is at most half the round trip.
func (c *Clock) measure(ctx context.Context) (time.Duration, time.Duration, error) {
	var samples []sample
	var lastErr error
	for range c.cfg.Samples {
		s, err := c.roundTrip(ctx)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if s.rtt > c.cfg.MaxRoundTrip {
			lastErr = fmt.Errorf("round trip %v is longer than %v", s.rtt, c.cfg.MaxRoundTrip)
			continue
		}
		samples = append(samples, s)
	}
	if len(samples) == 0 {
		if lastErr == nil {
			lastErr = errors.New("no round trip")
		}
		return 0, 0, fmt.Errorf("dbclock: measuring the database clock: %w", lastErr)
	}
	slices.SortFunc(samples, func(a, b sample) int { return int(a.rtt - b.rtt) })
	best := samples[:min(3, len(samples))]
	slices.SortFunc(best, func(a, b sample) int { return int(a.offset - b.offset) })
	m := best[len(best)/2]
	return m.offset, m.rtt, nil
}

func (c *Clock) roundTrip(ctx context.Context) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	t0 := c.cfg.Local()
	db, err := c.cfg.Source(ctx)
	t1 := c.cfg.Local()
	if err != nil {
		return sample{}, err
	}
	rtt := t1.Sub(t0)
	if rtt < 0 {
		// The local clock went backwards (a fake or stepped clock):
		// this sample says nothing.
		return sample{}, errors.New("the local clock went backwards")
	}
	mid := t0.Add(rtt / 2)
	return sample{offset: db.Sub(mid), rtt: rtt}, nil
}

// milliseconds states an offset for a log line as a number in its unit, to
// the microsecond: JSON has no duration type.
func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
