package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// live is the condition on a challenge's row that it is live at the time in
// placeholder now: not done, not expired and not out of tries
// (gatehouse.CodeOver names the three). ConsumeCode takes its limit of tries
// from the caller; ClaimSend and SetChallengeDestination, which have no such
// argument, use gatehouse.ChallengeMaxFailures, so that no code is sent for
// a challenge that can no longer be finished.
func live(now string) string {
	return "done_at = 0 AND expires_at > " + now + " AND failures < " + strconv.Itoa(gatehouse.ChallengeMaxFailures)
}

// CreateChallenge saves a new challenge. Returns ENOTFOUND unless the user
// exists in c.OrgID, ECONFLICT if the id or token hash is taken.
func (db *DB) CreateChallenge(ctx context.Context, c *gatehouse.Challenge) error {
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO challenges (id, token_hash, kind, org_id, user_id, channel, destination, new_value,
			step, failures, sends, last_sent_at, client_ip, user_agent, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		c.ID, nullableBytes(c.TokenHash), c.Kind, c.OrgID, c.UserID, string(c.Channel), c.Destination, c.NewValue,
		c.Step, c.Failures, c.Sends, optMillis(c.LastSentAt), addrText(c.ClientIP), c.UserAgent,
		millis(c.CreatedAt), millis(c.ExpiresAt))
	switch violated(err) {
	case foreignKeyViolation:
		return notFound("User")
	case uniqueViolation: // random ids and 256-bit tokens never collide: a caller bug
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The challenge already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create challenge: %w", err)
	}
	return nil
}

const challengeColumns = `id, token_hash, kind, org_id, user_id, channel, destination, new_value,
	step, failures, sends, last_sent_at, client_ip, user_agent, created_at, expires_at`

func scanChallenge(row scanner) (*gatehouse.Challenge, error) {
	var (
		c                     gatehouse.Challenge
		ip                    string
		sent, created, expire int64
	)
	err := row.Scan(&c.ID, &c.TokenHash, &c.Kind, &c.OrgID, &c.UserID, &c.Channel, &c.Destination, &c.NewValue,
		&c.Step, &c.Failures, &c.Sends, &sent, &ip, &c.UserAgent, &created, &expire)
	if err != nil {
		return nil, err
	}
	if c.ClientIP, err = parseAddr(ip); err != nil {
		return nil, fmt.Errorf("challenge %s: client_ip: %w", c.ID, err)
	}
	if len(c.TokenHash) == 0 {
		c.TokenHash = nil
	}
	c.LastSentAt = fromOptMillis(sent)
	c.CreatedAt, c.ExpiresAt = fromMillis(created), fromMillis(expire)
	return &c, nil
}

// ChallengeByTokenHash returns ENOTFOUND if there is no such challenge. A
// challenge whose code was accepted counts as gone: gatehouse.Challenge
// cannot say it is done, and it is never to be used again. Expired
// challenges and those out of tries are returned: the caller tells them by
// ExpiresAt and Failures.
func (db *DB) ChallengeByTokenHash(ctx context.Context, hash []byte) (*gatehouse.Challenge, error) {
	if len(hash) == 0 {
		return nil, notFound("Challenge") // a NULL token hash matches nothing anyway
	}
	c, err := scanChallenge(db.read.QueryRowContext(ctx,
		`SELECT `+challengeColumns+` FROM challenges WHERE token_hash = $1 AND done_at = 0`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Challenge")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: challenge by token hash: %w", err)
	}
	return c, nil
}

// ChallengeByID returns ENOTFOUND unless the challenge exists for that user
// in that organization; like ChallengeByTokenHash, a done challenge counts
// as gone.
func (db *DB) ChallengeByID(ctx context.Context, orgID, userID, id string) (*gatehouse.Challenge, error) {
	c, err := scanChallenge(db.read.QueryRowContext(ctx, `
		SELECT `+challengeColumns+` FROM challenges
		WHERE id = $1 AND org_id = $2 AND user_id = $3 AND done_at = 0`, id, orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Challenge")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: challenge by id: %w", err)
	}
	return c, nil
}

// DeleteChallenge removes a challenge and (by the foreign key) its codes; a
// missing one is not an error.
func (db *DB) DeleteChallenge(ctx context.Context, id string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM challenges WHERE id = $1`, id); err != nil {
		return fmt.Errorf("sqlstore: delete challenge: %w", err)
	}
	return nil
}

// SetChallengeDestination points a live challenge at a new channel and
// destination, drops its codes and lets the next send go at once. Its sends
// and failures stay. Returns ENOTFOUND if the challenge is not live at now.
func (db *DB) SetChallengeDestination(ctx context.Context, id string, ch gatehouse.OTPMethod, destination, newValue string, step int, now time.Time) error {
	return db.inTx(ctx, "set challenge destination", func(tx *txn) error {
		// prev_sent_at = -1: a ReleaseSend of a send claimed before must not
		// put back the old destination's last send.
		res, err := tx.ExecContext(ctx, `
			UPDATE challenges SET channel = $2, destination = $3, new_value = $4, step = $5,
				last_sent_at = 0, prev_sent_at = -1
			WHERE id = $1 AND `+live("$6"),
			id, string(ch), destination, newValue, step, millis(now))
		if err := updated(res, err, "Challenge", "set challenge destination"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM challenge_codes WHERE challenge_id = $1`, id); err != nil {
			return fmt.Errorf("sqlstore: set challenge destination: %w", err)
		}
		return nil
	})
}

// ClaimSend atomically records a send on a live challenge if the last one
// was at least gap before now, and returns the previous LastSentAt (the zero
// time before the first send). ok is false, with the time the next send is
// allowed, when it is too soon; ENOTFOUND if the challenge is not live.
func (db *DB) ClaimSend(ctx context.Context, id string, now time.Time, gap time.Duration) (ok bool, prev, next time.Time, err error) {
	// A ReleaseSend may land between the UPDATE and the read that explains
	// its refusal; then the claim is tried again, a bounded number of times.
	for range 3 {
		// The right-hand sides all see the row as it was, so prev_sent_at
		// takes the last send before this one, and RETURNING gives it back.
		var p int64
		err = db.write.QueryRowContext(ctx, `
			UPDATE challenges SET sends = sends + 1, prev_sent_at = last_sent_at, last_sent_at = $2
			WHERE id = $1 AND `+live("$2")+` AND last_sent_at <= $3
			RETURNING prev_sent_at`,
			id, millis(now), millis(now.Add(-gap))).Scan(&p)
		if err == nil {
			return true, fromOptMillis(p), time.Time{}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, time.Time{}, time.Time{}, fmt.Errorf("sqlstore: claim send: %w", err)
		}

		// Too soon, or not live: only a read tells which.
		var last, done, expires int64
		var failures int
		err = db.read.QueryRowContext(ctx, `
			SELECT last_sent_at, done_at, expires_at, failures FROM challenges WHERE id = $1`, id).
			Scan(&last, &done, &expires, &failures)
		if errors.Is(err, sql.ErrNoRows) {
			return false, time.Time{}, time.Time{}, notFound("Challenge")
		}
		if err != nil {
			return false, time.Time{}, time.Time{}, fmt.Errorf("sqlstore: claim send: %w", err)
		}
		if done != 0 || expires <= millis(now) || failures >= gatehouse.ChallengeMaxFailures {
			return false, time.Time{}, time.Time{}, notFound("Challenge")
		}
		if next = fromMillis(last).Add(gap); next.After(now) {
			return false, time.Time{}, next, nil
		}
	}
	return false, time.Time{}, now, nil
}

// ReleaseSend undoes a ClaimSend whose delivery failed: the last send is
// prev again and the send is not counted. It does nothing when another send
// was claimed since, the destination changed, or the send was already
// released, and a missing challenge is not an error.
func (db *DB) ReleaseSend(ctx context.Context, id string, prev time.Time) error {
	_, err := db.write.ExecContext(ctx, `
		UPDATE challenges SET last_sent_at = prev_sent_at, prev_sent_at = -1,
			sends = CASE WHEN sends > 0 THEN sends - 1 ELSE 0 END
		WHERE id = $1 AND prev_sent_at = $2`, id, optMillis(prev))
	if err != nil {
		return fmt.Errorf("sqlstore: release send: %w", err)
	}
	return nil
}

// AddCode saves a code hash for a challenge, first dropping its older codes
// so that at most gatehouse.MaxLiveCodes stay. Returns ENOTFOUND if there is
// no such challenge.
func (db *DB) AddCode(ctx context.Context, challengeID string, hash []byte, now, expires time.Time) error {
	return db.inTx(ctx, "add code", func(tx *txn) error {
		// Lock the challenge's row first, so that two AddCode racing on
		// PostgreSQL cannot both keep the same older code and leave three.
		// (On SQLite the writer is one connection: they already take turns.)
		res, err := tx.ExecContext(ctx, `UPDATE challenges SET sends = sends WHERE id = $1`, challengeID)
		if err := updated(res, err, "Challenge", "add code"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM challenge_codes
			WHERE challenge_id = $1 AND id NOT IN (
				SELECT id FROM challenge_codes WHERE challenge_id = $1 ORDER BY id DESC LIMIT $2)`,
			challengeID, gatehouse.MaxLiveCodes-1); err != nil {
			return fmt.Errorf("sqlstore: add code: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO challenge_codes (challenge_id, code_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4)`, challengeID, hash, millis(now), millis(expires)); err != nil {
			return fmt.Errorf("sqlstore: add code: %w", err)
		}
		return nil
	})
}

// DeleteCode drops one code of a challenge (its delivery failed); a missing
// one is not an error.
func (db *DB) DeleteCode(ctx context.Context, challengeID string, hash []byte) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM challenge_codes WHERE challenge_id = $1 AND code_hash = $2`,
		challengeID, hash)
	if err != nil {
		return fmt.Errorf("sqlstore: delete code: %w", err)
	}
	return nil
}

// consumeCode takes a code in one statement. Its WHERE admits only a live
// challenge; the CASEs decide from the challenge's codes, within the same
// statement, whether a live code matched (done), an expired one did
// (nothing changes) or none did (one more failure), and last_result carries
// that decision out through RETURNING. The database's row lock makes racing
// callers take turns, and each re-checks done_at = 0 after the one before
// it: exactly one can be accepted.
//
// The hash is compared by byte equality in SQL. That is safe because it is a
// keyed hash (HMAC) of the code: timing reveals nothing about the code.
const consumeCode = `
	UPDATE challenges SET
		done_at = CASE
			WHEN EXISTS (SELECT 1 FROM challenge_codes c
				WHERE c.challenge_id = $1 AND c.code_hash = $2 AND c.expires_at > $3) THEN $3
			ELSE done_at END,
		failures = CASE
			WHEN EXISTS (SELECT 1 FROM challenge_codes c
				WHERE c.challenge_id = $1 AND c.code_hash = $2) THEN failures
			ELSE failures + 1 END,
		last_result = CASE
			WHEN EXISTS (SELECT 1 FROM challenge_codes c
				WHERE c.challenge_id = $1 AND c.code_hash = $2 AND c.expires_at > $3) THEN '` + gatehouse.CodeAccepted + `'
			WHEN EXISTS (SELECT 1 FROM challenge_codes c
				WHERE c.challenge_id = $1 AND c.code_hash = $2) THEN '` + gatehouse.CodeExpired + `'
			ELSE '` + gatehouse.CodeWrong + `' END
	WHERE id = $1 AND done_at = 0 AND expires_at > $3 AND failures < $4
	RETURNING last_result, failures`

// ConsumeCode takes a code: on a live challenge with fewer than maxFailures
// failures, a hash matching an unexpired code ends the challenge
// (CodeAccepted, exactly once however many race), a hash matching an
// expired code changes nothing (CodeExpired), and anything else counts one
// failure (CodeWrong). CodeOver when the challenge is not live, with the
// failures it has (0 if it is gone). failures is the count after the call.
func (db *DB) ConsumeCode(ctx context.Context, challengeID string, hash []byte, now time.Time, maxFailures int) (result string, failures int, err error) {
	err = db.write.QueryRowContext(ctx, consumeCode, challengeID, hash, millis(now), maxFailures).
		Scan(&result, &failures)
	if err == nil {
		return result, failures, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", 0, fmt.Errorf("sqlstore: consume code: %w", err)
	}
	// Over. The count is only for the caller's message; the decision was made.
	err = db.read.QueryRowContext(ctx, `SELECT failures FROM challenges WHERE id = $1`, challengeID).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.CodeOver, 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("sqlstore: consume code: %w", err)
	}
	return gatehouse.CodeOver, failures, nil
}

// RecordSend logs a delivered message that is not a code (a password reset
// e-mail): CountSends counts it, ReserveSend's code caps do not.
func (db *DB) RecordSend(ctx context.Context, r gatehouse.SendRecord) error {
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO code_sends (user_id, destination, client_ip, client_net, kind, sent_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.UserID, r.Destination, addrText(r.ClientIP), clientNet(r), sendKindOther, millis(r.At))
	if err != nil {
		return fmt.Errorf("sqlstore: record send: %w", err)
	}
	return nil
}

// CountSends counts the sends, codes and others, at or after since: to the
// user, to destination and to clients at exactly ip. An empty destination or an invalid
// address counts 0 rather than lumping every unknown together.
func (db *DB) CountSends(ctx context.Context, userID, destination string, ip netip.Addr, since time.Time) (gatehouse.SendCounts, error) {
	var c gatehouse.SendCounts
	err := db.read.QueryRowContext(ctx, `
		SELECT
			(SELECT count(*) FROM code_sends WHERE user_id = $1 AND sent_at >= $4),
			(SELECT count(*) FROM code_sends WHERE destination = $2 AND destination <> '' AND sent_at >= $4),
			(SELECT count(*) FROM code_sends WHERE client_ip = $3 AND client_ip <> '' AND sent_at >= $4)`,
		userID, destination, addrText(ip), millis(since)).Scan(&c.User, &c.Destination, &c.Address)
	if err != nil {
		return gatehouse.SendCounts{}, fmt.Errorf("sqlstore: count sends: %w", err)
	}
	return c, nil
}

// cleanup is one DELETE of Purge; arg gives its $1 from now and the
// retention, or is nil for a query without one.
type cleanup struct {
	op, query string
	arg       func(now time.Time, keep gatehouse.Retention) time.Time
}

func atNow(now time.Time, _ gatehouse.Retention) time.Time { return now }

// cleanups are Purge's statements, in order. Each is served
// by an index on the column it tests (the conformance tests check SQLite's
// plans), so none walks a whole table.
var cleanups = []cleanup{
	{"delete expired challenges", `DELETE FROM challenges WHERE expires_at <= $1`, atNow},
	{"delete old send records", `DELETE FROM code_sends WHERE sent_at < $1`,
		func(now time.Time, keep gatehouse.Retention) time.Time { return now.Add(-keep.Sends) }},
	{"delete old reset send records", `DELETE FROM reset_sends WHERE sent_at < $1`,
		func(now time.Time, _ gatehouse.Retention) time.Time { return now.Add(-gatehouse.ResetSendWindow) }},
	{"delete expired saml requests", `DELETE FROM saml_requests WHERE expires_at <= $1`, atNow},
	{"delete expired saml assertions", `DELETE FROM saml_assertions WHERE expires_at <= $1`, atNow},
	{"delete expired remembered browsers", `DELETE FROM remembered_browsers WHERE expires_at <= $1`, atNow},
	{"delete expired known devices", `DELETE FROM known_devices WHERE expires_at <= $1`, atNow},
	// Expired links, used or not, then the used links not yet expired: two
	// statements, each on an index of its own (an OR of the two would scan).
	{"delete expired password resets", `DELETE FROM password_resets WHERE expires_at <= $1`, atNow},
	{"delete used password resets", `DELETE FROM password_resets WHERE used_at <> 0`, nil},
	{"delete old throttle counts", `DELETE FROM login_throttle WHERE last_failure_at < $1`,
		func(now time.Time, keep gatehouse.Retention) time.Time { return now.Add(-keep.Throttle) }},
}

// Purge removes what gatehouse.ChallengeStore's Purge says, each kind of row
// with its own statement on an index of its own. The statements run one by
// one, not in one transaction: on an error, the rows already removed stay
// removed, and are counted in the total returned with it.
func (db *DB) Purge(ctx context.Context, now time.Time, keep gatehouse.Retention) (int64, error) {
	if err := keep.Check(); err != nil {
		return 0, err
	}
	var total int64
	for _, d := range cleanups {
		var args []any
		if d.arg != nil {
			args = append(args, millis(d.arg(now, keep)))
		}
		n, err := deleted(db.write.ExecContext(ctx, d.query, args...))
		if err != nil {
			return total, fmt.Errorf("sqlstore: %s: %w", d.op, err)
		}
		total += n
	}
	return total, nil
}

// deleted returns how many rows a DELETE removed.
func deleted(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
