package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
