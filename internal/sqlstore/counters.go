package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Kinds of code_sends rows: the sign-in and contact-change codes reserved
// by ReserveSend, which the code caps count, and the other messages logged
// by RecordSend (password reset e-mails), which they do not.
const (
	sendKindCode  = "code"
	sendKindOther = "other"
)

// clientNet is the code_sends.client_net of an address: its network as
// gatehouse.ClientNetwork gives it, "" when the client is unknown.
func clientNet(r gatehouse.SendRecord) string {
	if p, ok := gatehouse.ClientNetwork(r.ClientIP); ok {
		return p.String()
	}
	return ""
}

// sendLockKeys are the PostgreSQL advisory lock keys of the counters a send
// is counted under, sorted so that every transaction takes them in the same
// order and two never wait for each other. Two counters whose keys collide
// merely take turns.
func sendLockKeys(userID, destination, network string) []int64 {
	key := func(what, v string) int64 {
		h := fnv.New64a()
		h.Write([]byte("gatehouse code send\x00" + what + "\x00" + v))
		return int64(h.Sum64())
	}
	keys := []int64{key("user", userID)}
	if destination != "" {
		keys = append(keys, key("destination", destination))
	}
	if network != "" {
		keys = append(keys, key("network", network))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// countCodeSends counts the code sends at or after $4 to user $1, to
// destination $2 and from network $3; an empty destination or network
// counts 0.
const countCodeSends = `
	SELECT
		(SELECT count(*) FROM code_sends WHERE user_id = $1 AND kind = 'code' AND sent_at >= $4),
		(SELECT count(*) FROM code_sends WHERE destination = $2 AND destination <> '' AND kind = 'code' AND sent_at >= $4),
		(SELECT count(*) FROM code_sends WHERE client_net = $3 AND client_net <> '' AND kind = 'code' AND sent_at >= $4)`

// ReserveSend checks the send caps and records the send in one
// transaction. On PostgreSQL the transaction first takes an advisory lock
// on each counter the send is counted under (user, destination, network),
// so that of the callers on every node counting one of them only one at a
// time counts and inserts; each sees the rows of those before it, which
// committed before their locks were released. On SQLite the writer's
// BEGIN IMMEDIATE already makes every writer take turns. c counts the
// sends before this one; c.Address is the count of the client's network.
func (db *DB) ReserveSend(ctx context.Context, r gatehouse.SendRecord, since time.Time, caps gatehouse.SendCaps) (id int64, c gatehouse.SendCounts, ok bool, err error) {
	network := clientNet(r)
	err = db.inTx(ctx, "reserve send", func(tx *txn) error {
		if db.dialect.name == postgresDialect.name {
			for _, k := range sendLockKeys(r.UserID, r.Destination, network) {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, k); err != nil {
					return fmt.Errorf("sqlstore: reserve send: lock: %w", err)
				}
			}
		}
		if err := tx.QueryRowContext(ctx, countCodeSends, r.UserID, r.Destination, network, millis(since)).
			Scan(&c.User, &c.Destination, &c.Address); err != nil {
			return fmt.Errorf("sqlstore: reserve send: count: %w", err)
		}
		if c.User >= caps.User || (r.Destination != "" && c.Destination >= caps.Destination) ||
			(network != "" && c.Address >= caps.Network) {
			return nil
		}
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO code_sends (user_id, destination, client_ip, client_net, kind, sent_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			r.UserID, r.Destination, addrText(r.ClientIP), network, sendKindCode, millis(r.At)).Scan(&id); err != nil {
			return fmt.Errorf("sqlstore: reserve send: %w", err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return 0, gatehouse.SendCounts{}, false, err
	}
	return id, c, ok, nil
}

// CancelSend removes a reserved send; a missing one is not an error.
func (db *DB) CancelSend(ctx context.Context, id int64) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM code_sends WHERE id = $1 AND kind = 'code'`, id); err != nil {
		return fmt.Errorf("sqlstore: cancel send: %w", err)
	}
	return nil
}

// TakeCode takes a code within the user's bound, in one transaction. It
// first locks the user's row (a no-op UPDATE: PostgreSQL then makes every
// other TakeCode of that user, on any node, wait for this transaction; on
// SQLite the one writer already serializes), so the user's count it reads
// is the one it writes: racing wrong codes take turns and each sees the
// failures of those before it, and none is counted past OTPLockFailures.
// The challenge's own bound is consumeCode's, as in ConsumeCode.
func (db *DB) TakeCode(ctx context.Context, orgID, userID, challengeID string, hash []byte, now time.Time, maxFailures int) (gatehouse.CodeAttempt, error) {
	var a gatehouse.CodeAttempt
	err := db.inTx(ctx, "take code", func(tx *txn) error {
		var last int64
		err := tx.QueryRowContext(ctx, `
			UPDATE users SET otp_failures = otp_failures WHERE org_id = $1 AND id = $2
			RETURNING otp_failures, otp_last_failure_at`, orgID, userID).Scan(&a.UserFailures, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("User")
		}
		if err != nil {
			return fmt.Errorf("sqlstore: take code: lock user: %w", err)
		}
		if wait, locked := gatehouse.OTPWait(a.UserFailures, fromOptMillis(last), now); locked || wait > 0 {
			a.Result, a.Wait, a.Locked = gatehouse.CodeLocked, wait, locked
			return nil
		}
		err = tx.QueryRowContext(ctx, consumeCode, challengeID, hash, millis(now), maxFailures).Scan(&a.Result, &a.Failures)
		if errors.Is(err, sql.ErrNoRows) {
			a.Result = gatehouse.CodeOver
			err = tx.QueryRowContext(ctx, `SELECT failures FROM challenges WHERE id = $1`, challengeID).Scan(&a.Failures)
			if errors.Is(err, sql.ErrNoRows) {
				a.Failures, err = 0, nil
			}
		}
		if err != nil {
			return fmt.Errorf("sqlstore: take code: %w", err)
		}
		switch a.Result {
		case gatehouse.CodeWrong:
			err = tx.QueryRowContext(ctx, `
				UPDATE users SET otp_failures = otp_failures + 1, otp_last_failure_at = $3
				WHERE org_id = $1 AND id = $2 RETURNING otp_failures`,
				orgID, userID, millis(now)).Scan(&a.UserFailures)
		case gatehouse.CodeAccepted:
			a.UserFailures = 0
			_, err = tx.ExecContext(ctx, `
				UPDATE users SET otp_failures = 0, last_verified_at = $3 WHERE org_id = $1 AND id = $2`,
				orgID, userID, millis(now))
		}
		if err != nil {
			return fmt.Errorf("sqlstore: take code: count: %w", err)
		}
		return nil
	})
	if err != nil {
		return gatehouse.CodeAttempt{}, err
	}
	return a, nil
}
