package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// RecordFailure atomically counts one failure under key at now and returns
// the new count. A failure more than window after the last one starts the
// count again at 1.
func (db *DB) RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (gatehouse.Throttle, error) {
	// One statement, so that nodes counting the same key at once neither
	// lose a failure nor see the same count twice.
	var (
		th   gatehouse.Throttle
		last int64
	)
	err := db.write.QueryRowContext(ctx, `
		INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1
				ELSE login_throttle.failures + 1 END,
			last_failure_at = $2
		RETURNING failures, last_failure_at`,
		key, millis(now), millis(now.Add(-window))).Scan(&th.Failures, &last)
	if err != nil {
		return gatehouse.Throttle{}, fmt.Errorf("sqlstore: record failure: %w", err)
	}
	th.LastFailure = fromMillis(last)
	return th, nil
}

// Throttle returns the count under key; the zero Throttle if none.
func (db *DB) Throttle(ctx context.Context, key string) (gatehouse.Throttle, error) {
	var (
		th   gatehouse.Throttle
		last int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT failures, last_failure_at FROM login_throttle WHERE key = $1`, key).
		Scan(&th.Failures, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.Throttle{}, nil
	}
	if err != nil {
		return gatehouse.Throttle{}, fmt.Errorf("sqlstore: throttle: %w", err)
	}
	th.LastFailure = fromMillis(last)
	return th, nil
}

// ClearFailures forgets the count under key.
func (db *DB) ClearFailures(ctx context.Context, key string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, key); err != nil {
		return fmt.Errorf("sqlstore: clear failures: %w", err)
	}
	return nil
}

// errWaiting ends ReserveAttempt's transaction without counting anything.
var errWaiting = errors.New("sqlstore: waiting")

// ReserveAttempt checks and counts one attempt under every key in one
// transaction. Each key's row is locked (created when missing) in key
// order, so parallel reservers on any number of nodes take turns without
// deadlocking, and each one sees the counts the previous ones left.
func (db *DB) ReserveAttempt(ctx context.Context, now time.Time, window time.Duration, keys ...gatehouse.ThrottleKey) (*gatehouse.Reservation, time.Duration, error) {
	if len(keys) == 0 || len(keys) > gatehouse.MaxThrottleKeys {
		return nil, 0, gatehouse.Errorf(gatehouse.EINVALID, "An attempt is reserved under 1 to %d keys.", gatehouse.MaxThrottleKeys)
	}
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b gatehouse.ThrottleKey) int { return strings.Compare(a.Key, b.Key) })
	for i := 1; i < len(keys); i++ {
		if keys[i].Key == keys[i-1].Key {
			return nil, 0, gatehouse.Errorf(gatehouse.EINVALID, "An attempt names the key %q twice.", keys[i].Key)
		}
	}
	r := &gatehouse.Reservation{At: now, Keys: make([]string, len(keys)), Previous: make([]time.Time, len(keys))}
	var wait time.Duration
	err := db.inTx(ctx, "reserve attempt", func(tx *txn) error {
		counts := make([]int, len(keys))
		for i, k := range keys {
			var last int64
			// The no-op update takes the row's lock (PostgreSQL) and
			// returns its latest committed count; SQLite's one writer
			// already runs transactions one at a time.
			err := tx.QueryRowContext(ctx, `
				INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 0, 0)
				ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures
				RETURNING failures, last_failure_at`, k.Key).Scan(&counts[i], &last)
			if err != nil {
				return fmt.Errorf("sqlstore: reserve attempt: %w", err)
			}
			if counts[i] > 0 && now.Sub(fromMillis(last)) > window {
				counts[i], last = 0, 0
			}
			r.Keys[i], r.Previous[i] = k.Key, fromOptMillis(last)
			// Only a count past the free allowance waits. A count within it
			// may carry a last failure later than now: a parallel attempt
			// that took its clock after this one reserved first.
			w := k.Rule.Wait(counts[i])
			if counts[i] == 0 || w == 0 {
				continue
			}
			if d := fromMillis(last).Add(w).Sub(now); d > wait {
				wait = d
			}
		}
		if wait > 0 {
			return errWaiting
		}
		for i, k := range keys {
			if _, err := tx.ExecContext(ctx, `
				UPDATE login_throttle SET failures = $2,
					last_failure_at = CASE WHEN last_failure_at < $3 THEN $3 ELSE last_failure_at END
				WHERE key = $1`, k.Key, counts[i]+1, millis(now)); err != nil {
				return fmt.Errorf("sqlstore: reserve attempt: %w", err)
			}
		}
		return nil
	})
	if errors.Is(err, errWaiting) {
		return nil, wait, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return r, 0, nil
}

// ReleaseAttempt gives a reserved attempt back.
func (db *DB) ReleaseAttempt(ctx context.Context, r *gatehouse.Reservation) error {
	if r == nil || len(r.Keys) != len(r.Previous) {
		return gatehouse.Errorf(gatehouse.EINVALID, "No reservation to release.")
	}
	return db.inTx(ctx, "release attempt", func(tx *txn) error {
		for i, k := range r.Keys {
			if _, err := tx.ExecContext(ctx, `
				UPDATE login_throttle SET
					failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
					last_failure_at = CASE WHEN last_failure_at = $2 THEN $3 ELSE last_failure_at END
				WHERE key = $1`, k, millis(r.At), optMillis(r.Previous[i])); err != nil {
				return fmt.Errorf("sqlstore: release attempt: %w", err)
			}
		}
		return nil
	})
}
