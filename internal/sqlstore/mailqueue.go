package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// EnqueueMail saves m unless the queue holds max messages already. The
// count and the insert are one transaction (on PostgreSQL under an advisory
// lock), so parallel callers cannot grow the queue past max.
func (db *DB) EnqueueMail(ctx context.Context, m *gatehouse.QueuedMail, now time.Time, max int) (bool, error) {
	ok := false
	err := db.inTx(ctx, "enqueue mail", func(tx *txn) error {
		if err := db.lockKey(ctx, tx, lockMailQueue, "size"); err != nil {
			return fmt.Errorf("sqlstore: enqueue mail: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mail_queue`).Scan(&n); err != nil {
			return fmt.Errorf("sqlstore: enqueue mail: %w", err)
		}
		if n >= max {
			return nil
		}
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO mail_queue (kind, recipient, payload, attempts, next_attempt_at, claimed_until, created_at)
			VALUES ($1, $2, $3, 0, $4, 0, $4)
			RETURNING id`, m.Kind, m.To, m.Payload, millis(now)).Scan(&m.ID); err != nil {
			return fmt.Errorf("sqlstore: enqueue mail: %w", err)
		}
		m.Attempts, m.CreatedAt = 0, fromMillis(millis(now))
		ok = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}

// ClaimMail claims due, unclaimed messages in one UPDATE … RETURNING. The
// outer WHERE repeats the conditions of the subquery: on PostgreSQL a
// second node's UPDATE that waited on a row the first node claimed
// re-checks them on the claimed row, finds the claim and skips it.
func (db *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*gatehouse.QueuedMail, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.write.QueryContext(ctx, `
		UPDATE mail_queue SET claimed_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM mail_queue WHERE next_attempt_at <= $1 AND claimed_until <= $1
		             ORDER BY next_attempt_at, id LIMIT $3)
		  AND next_attempt_at <= $1 AND claimed_until <= $1
		RETURNING id, kind, recipient, payload, attempts, created_at`,
		millis(now), millis(now.Add(lease)), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim mail: %w", err)
	}
	defer rows.Close()
	var ms []*gatehouse.QueuedMail
	for rows.Next() {
		var (
			m       gatehouse.QueuedMail
			created int64
		)
		if err := rows.Scan(&m.ID, &m.Kind, &m.To, &m.Payload, &m.Attempts, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: claim mail: %w", err)
		}
		m.CreatedAt = fromMillis(created)
		ms = append(ms, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: claim mail: %w", err)
	}
	return ms, nil
}

// DeleteMail removes a message; a missing one is not an error.
func (db *DB) DeleteMail(ctx context.Context, id int64) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM mail_queue WHERE id = $1`, id); err != nil {
		return fmt.Errorf("sqlstore: delete mail: %w", err)
	}
	return nil
}

// RetryMail releases a claim; the message is due again at next.
func (db *DB) RetryMail(ctx context.Context, id int64, next time.Time) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE mail_queue SET claimed_until = 0, next_attempt_at = $2 WHERE id = $1`,
		id, millis(next)); err != nil {
		return fmt.Errorf("sqlstore: retry mail: %w", err)
	}
	return nil
}

// CountMail returns how many messages are queued.
func (db *DB) CountMail(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM mail_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count mail: %w", err)
	}
	return n, nil
}
