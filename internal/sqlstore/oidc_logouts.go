package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// TakeEndedGrants deletes the tokens whose session is gone with DELETE …
// RETURNING, so each row goes to one caller, and queues in the same
// transaction one back-channel logout per client and session for the
// clients that have a logout URI. INSERT … ON CONFLICT DO NOTHING on the
// (client, session) key keeps a logout queued once, whichever node took
// which token. The count and the trim to max run under an advisory lock on
// PostgreSQL (SQLite's single writer serializes them anyway), so parallel
// takers cannot grow the queue past max; the oldest rows go first, since
// those are the clients that have failed the longest.
func (db *DB) TakeEndedGrants(ctx context.Context, now time.Time, max int) (queued, dropped int, err error) {
	err = db.inTx(ctx, "take ended grants", func(tx *txn) error {
		queued, dropped = 0, 0
		// The lock comes first, before any row lock: two takers that each
		// held rows of the other would deadlock.
		if err := db.lockKey(ctx, tx, lockLogoutQueue, "size"); err != nil {
			return fmt.Errorf("sqlstore: take ended grants: %w", err)
		}
		type key struct{ client, session string }
		users := map[key]string{}
		var order []key
		for _, table := range []string{"oauth_tokens", "oauth_refresh_tokens"} {
			rows, err := tx.QueryContext(ctx, `DELETE FROM `+table+`
				WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.public_id = `+table+`.session_id)
				RETURNING client_id, user_id, session_id`)
			if err != nil {
				return fmt.Errorf("sqlstore: take ended grants: %w", err)
			}
			for rows.Next() {
				var k key
				var user string
				if err := rows.Scan(&k.client, &user, &k.session); err != nil {
					rows.Close()
					return fmt.Errorf("sqlstore: take ended grants: %w", err)
				}
				if _, ok := users[k]; !ok {
					users[k] = user
					order = append(order, k)
				}
			}
			if err := rows.Close(); err != nil {
				return fmt.Errorf("sqlstore: take ended grants: %w", err)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlstore: take ended grants: %w", err)
			}
		}
		told := map[string]bool{} // client ID: has a back-channel logout URI
		for _, k := range order {
			has, ok := told[k.client]
			if !ok {
				var uri string
				err := tx.QueryRowContext(ctx, `SELECT backchannel_logout_uri FROM oauth_clients WHERE id = $1`, k.client).Scan(&uri)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("sqlstore: take ended grants: %w", err)
				}
				has = uri != ""
				told[k.client] = has
			}
			if !has {
				continue
			}
			res, err := tx.ExecContext(ctx, `
				INSERT INTO oauth_logout_queue (client_id, user_id, session_id, attempts, next_attempt_at, claimed_until, created_at)
				VALUES ($1, $2, $3, 0, $4, 0, $4)
				ON CONFLICT (client_id, session_id) DO NOTHING`, k.client, users[k], k.session, millis(now))
			if err != nil {
				return fmt.Errorf("sqlstore: take ended grants: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlstore: take ended grants: %w", err)
			}
			queued += int(n)
		}
		if queued == 0 {
			return nil
		}
		var size int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM oauth_logout_queue`).Scan(&size); err != nil {
			return fmt.Errorf("sqlstore: take ended grants: %w", err)
		}
		if size <= max {
			return nil
		}
		n, err := deleted(tx.ExecContext(ctx, `DELETE FROM oauth_logout_queue WHERE id IN (
			SELECT id FROM oauth_logout_queue ORDER BY created_at, id LIMIT $1)`, size-max))
		if err != nil {
			return fmt.Errorf("sqlstore: take ended grants: %w", err)
		}
		dropped = int(n)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return queued, dropped, nil
}

// ClaimLogouts claims due, unclaimed logouts in one UPDATE … RETURNING.
// The outer WHERE repeats the subquery's conditions: on PostgreSQL an
// UPDATE that waited on a row another node claimed re-checks them on the
// claimed row, finds the claim and skips it.
func (db *DB) ClaimLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*gatehouse.QueuedLogout, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.write.QueryContext(ctx, `
		UPDATE oauth_logout_queue SET claimed_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM oauth_logout_queue WHERE next_attempt_at <= $1 AND claimed_until <= $1
		             ORDER BY next_attempt_at, id LIMIT $3)
		  AND next_attempt_at <= $1 AND claimed_until <= $1
		RETURNING id, client_id, user_id, session_id, attempts, created_at`,
		millis(now), millis(now.Add(lease)), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim logouts: %w", err)
	}
	defer rows.Close()
	var out []*gatehouse.QueuedLogout
	for rows.Next() {
		var (
			l       gatehouse.QueuedLogout
			created int64
		)
		if err := rows.Scan(&l.ID, &l.ClientID, &l.UserID, &l.SessionID, &l.Attempts, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: claim logouts: %w", err)
		}
		l.CreatedAt = fromMillis(created)
		out = append(out, &l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: claim logouts: %w", err)
	}
	return out, nil
}

// DeleteLogout removes a queued logout; a missing one is not an error.
func (db *DB) DeleteLogout(ctx context.Context, id int64) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM oauth_logout_queue WHERE id = $1`, id); err != nil {
		return fmt.Errorf("sqlstore: delete logout: %w", err)
	}
	return nil
}

// RetryLogout releases a claim; the logout is due again at next.
func (db *DB) RetryLogout(ctx context.Context, id int64, next time.Time) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE oauth_logout_queue SET claimed_until = 0, next_attempt_at = $2 WHERE id = $1`,
		id, millis(next)); err != nil {
		return fmt.Errorf("sqlstore: retry logout: %w", err)
	}
	return nil
}

// CountLogouts returns how many logouts are queued. It reads from the
// writer, as the queue's own callers need what they just wrote.
func (db *DB) CountLogouts(ctx context.Context) (int, error) {
	var n int
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM oauth_logout_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count logouts: %w", err)
	}
	return n, nil
}
