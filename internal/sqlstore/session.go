package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreateSession saves a new session, giving it a public id when it has
// none. Returns ENOTFOUND unless the user exists in s.OrgID.
func (db *DB) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	if s.PublicID == "" {
		s.PublicID = gatehouse.NewID()
	}
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO sessions (token_hash, user_id, org_id, two_factor_state, client_ip, user_agent,
			created_at, last_seen_at, expires_at, reauth_at, public_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.TokenHash, s.UserID, s.OrgID, s.TwoFactorState, addrText(s.ClientIP), s.UserAgent,
		millis(s.CreatedAt), millis(s.LastSeenAt), millis(s.ExpiresAt), optMillis(s.ReauthAt), s.PublicID)
	switch violated(err) {
	case foreignKeyViolation:
		return notFound("User")
	case uniqueViolation: // two random 256-bit tokens never collide: a caller bug
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The session already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

// SessionByTokenHash returns ENOTFOUND if there is no such session. It
// returns expired sessions too: the caller decides with Session.Expired.
func (db *DB) SessionByTokenHash(ctx context.Context, hash []byte) (*gatehouse.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash), "session by token hash")
}

// SessionByPublicID returns the session whose public id is id (what OAuth
// tokens and the list of sessions name it by); ENOTFOUND if there is none.
// It returns expired sessions too.
func (db *DB) SessionByPublicID(ctx context.Context, id string) (*gatehouse.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE public_id = $1`, id), "session by public id")
}

// sessionColumns are what scanSession reads.
const sessionColumns = `token_hash, user_id, org_id, two_factor_state, client_ip, user_agent, created_at, last_seen_at, expires_at,
	reauth_at, public_id`

func scanSession(row *sql.Row, op string) (*gatehouse.Session, error) {
	var (
		s                                gatehouse.Session
		ip                               string
		created, seen, expiresAt, reauth int64
	)
	err := row.Scan(&s.TokenHash, &s.UserID, &s.OrgID, &s.TwoFactorState, &ip, &s.UserAgent, &created, &seen, &expiresAt, &reauth, &s.PublicID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Session")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if s.ClientIP, err = parseAddr(ip); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: client_ip: %w", op, err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expiresAt)
	s.ReauthAt = fromOptMillis(reauth)
	return &s, nil
}

// TouchSession records activity on a session at at. Returns ENOTFOUND if the
// session is gone (ended meanwhile, perhaps on another node).
func (db *DB) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	// Never move last_seen_at back: two nodes touching one session at once
	// may arrive out of order.
	res, err := db.write.ExecContext(ctx, `
		UPDATE sessions SET last_seen_at = CASE WHEN last_seen_at < $2 THEN $2 ELSE last_seen_at END
		WHERE token_hash = $1`, hash, millis(at))
	return updated(res, err, "Session", "touch session")
}

// DeleteSession ends one session; ending a missing one is not an error.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("sqlstore: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of the user in orgID.
func (db *DB) DeleteUserSessions(ctx context.Context, orgID, userID string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2`, orgID, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: delete user sessions: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that Session.Expired reports
// over at now: past their absolute timeout, or last seen at or before
// idleBefore (now minus the idle timeout). It returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
		millis(now), millis(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete expired sessions: %w", err)
	}
	return n, nil
}
