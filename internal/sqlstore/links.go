package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Classes of the transaction-scoped advisory locks taken on PostgreSQL (the
// first key of pg_advisory_xact_lock(int, int)); the second key is a hash of
// the locked name. Any constants of our own would do.
const (
	lockResetSendUser    = 0x67680001
	lockResetSendNetwork = 0x67680002
	lockMailQueue        = 0x67680003
	lockLogoutQueue      = 0x67680004
)

// lockKey serializes the transactions that lock the same class and name, on
// PostgreSQL, until tx ends. SQLite needs none: its writer begins every
// transaction IMMEDIATE, holding the database's one write lock.
func (db *DB) lockKey(ctx context.Context, tx *txn, class int32, name string) error {
	if db.dialect.name != "postgres" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, class, name)
	return err
}

// DeleteUserChallenges ends every pending sign-in and pending contact change
// of a user; their codes go with them (ON DELETE CASCADE).
func (db *DB) DeleteUserChallenges(ctx context.Context, orgID, userID string) (int64, error) {
	n, err := deleted(db.write.ExecContext(ctx, `DELETE FROM challenges WHERE org_id = $1 AND user_id = $2`, orgID, userID))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete user challenges: %w", err)
	}
	return n, nil
}

// VoidPasswordResets spends every unused link of a user at now.
func (db *DB) VoidPasswordResets(ctx context.Context, orgID, userID string, now time.Time) (int64, error) {
	n, err := deleted(db.write.ExecContext(ctx, `
		UPDATE password_resets SET used_at = $3 WHERE org_id = $1 AND user_id = $2 AND used_at = 0`,
		orgID, userID, max(millis(now), 1)))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: void password resets: %w", err)
	}
	return n, nil
}

// ReserveResetSend counts the user's and the network's reset e-mails since
// since and records one more if both are under their caps, in one
// transaction: SQLite's single writer, or on PostgreSQL advisory locks on
// the user and then the network (always in that order, so two reservations
// never wait on each other in a circle), so that parallel requests cannot
// all read a count under the cap.
func (db *DB) ReserveResetSend(ctx context.Context, userID, network string, now, since time.Time, perUser, perNetwork int) (bool, error) {
	ok := false
	err := db.inTx(ctx, "reserve reset send", func(tx *txn) error {
		if err := db.lockKey(ctx, tx, lockResetSendUser, userID); err != nil {
			return fmt.Errorf("sqlstore: reserve reset send: %w", err)
		}
		if err := db.lockKey(ctx, tx, lockResetSendNetwork, network); err != nil {
			return fmt.Errorf("sqlstore: reserve reset send: %w", err)
		}
		var byUser, byNetwork int
		if err := tx.QueryRowContext(ctx, `
			SELECT
				(SELECT count(*) FROM reset_sends WHERE user_id = $1 AND sent_at >= $3),
				(SELECT count(*) FROM reset_sends WHERE client_net = $2 AND sent_at >= $3)`,
			userID, network, millis(since)).Scan(&byUser, &byNetwork); err != nil {
			return fmt.Errorf("sqlstore: reserve reset send: %w", err)
		}
		if byUser >= perUser || byNetwork >= perNetwork {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO reset_sends (user_id, client_net, sent_at) VALUES ($1, $2, $3)`,
			userID, network, millis(now)); err != nil {
			return fmt.Errorf("sqlstore: reserve reset send: %w", err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}

// RehashPassword swaps the hash only while it is still old.
func (db *DB) RehashPassword(ctx context.Context, orgID, userID, old, hash string, at time.Time) (bool, error) {
	n, err := deleted(db.write.ExecContext(ctx, `
		UPDATE users SET password_hash = $4, updated_at = $5
		WHERE org_id = $1 AND id = $2 AND password_hash = $3`,
		orgID, userID, old, hash, millis(at)))
	if err != nil {
		return false, fmt.Errorf("sqlstore: rehash password: %w", err)
	}
	return n == 1, nil
}
