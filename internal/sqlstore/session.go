package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreateSession saves a new session, giving it a public id when it has
// none. Returns ENOTFOUND unless the user exists in s.OrgID.
func (db *DB) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	return insertSession(ctx, db.write, s)
}

// execer is a pool or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertSession(ctx context.Context, q execer, s *gatehouse.Session) error {
	if s.PublicID == "" {
		s.PublicID = gatehouse.NewID()
	}
	_, err := q.ExecContext(ctx, `
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

// StartSession saves a sign-in's session, its audit event, the end of its
// pending sign-in and its remembered browser in one transaction.
func (db *DB) StartSession(ctx context.Context, s *gatehouse.Session, audit *gatehouse.AuditEvent, st gatehouse.SessionStart) error {
	return db.inTx(ctx, "start session", func(tx *txn) error {
		if st.EndChallenge != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM challenges WHERE id = $1`, st.EndChallenge); err != nil {
				return fmt.Errorf("sqlstore: start session: end challenge: %w", err)
			}
		}
		if err := insertSession(ctx, tx, s); err != nil {
			return err
		}
		if st.Browser != nil {
			if err := insertBrowser(ctx, tx, st.Browser); err != nil {
				return err
			}
		}
		if err := appendAudit(ctx, tx, audit); err != nil {
			return fmt.Errorf("sqlstore: start session: audit: %w", err)
		}
		return nil
	})
}

// SessionByTokenHash returns ENOTFOUND if there is no such session. It
// returns expired sessions too: the caller decides with Session.Expired.
func (db *DB) SessionByTokenHash(ctx context.Context, hash []byte) (*gatehouse.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash), "session by token hash")
}

// SessionByPublicID returns the session whose public id is id (what OAuth
// tokens and the list of sessions name it by); ENOTFOUND if there is none.
// It returns expired sessions too. No service calls it (signin reads the
// session with its account, SessionAccountByPublicID); tests do.
func (db *DB) SessionByPublicID(ctx context.Context, id string) (*gatehouse.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE public_id = $1`, id), "session by public id")
}

// sessionColumns are the columns sessionRow scans, named with their table
// so that a join may select them beside another table's (SessionAccount).
const sessionColumns = `sessions.token_hash, sessions.user_id, sessions.org_id, sessions.two_factor_state,
	sessions.client_ip, sessions.user_agent, sessions.created_at, sessions.last_seen_at, sessions.expires_at,
	sessions.reauth_at, sessions.public_id`

// sessionRow is a session as sessionColumns hold it, before conversion.
type sessionRow struct {
	s                                gatehouse.Session
	ip                               string
	created, seen, expiresAt, reauth int64
}

// dest is where a Scan of sessionColumns goes, in their order.
func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.TokenHash, &s.UserID, &s.OrgID, &s.TwoFactorState, &r.ip, &s.UserAgent, &r.created, &r.seen, &r.expiresAt, &r.reauth, &s.PublicID}
}

// value converts what was scanned.
func (r *sessionRow) value() (*gatehouse.Session, error) {
	s := &r.s
	var err error
	if s.ClientIP, err = parseAddr(r.ip); err != nil {
		return nil, fmt.Errorf("client_ip: %w", err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(r.created), fromMillis(r.seen), fromMillis(r.expiresAt)
	s.ReauthAt = fromOptMillis(r.reauth)
	return s, nil
}

func scanSession(row scanner, op string) (*gatehouse.Session, error) {
	var r sessionRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Session")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	s, err := r.value()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return s, nil
}

// sessionAccountQuery reads a session with its organization and user in
// one statement, a session check's three reads in one round trip; the
// session is chosen by the condition after it.
const sessionAccountQuery = `SELECT ` + sessionColumns + `, ` + orgColumns + `, ` + userColumns + `
	FROM sessions
	JOIN organizations ON organizations.id = sessions.org_id
	JOIN users ON users.org_id = sessions.org_id AND users.id = sessions.user_id
	WHERE `

// SessionAccount returns the session of hash with its organization and
// user, as SessionByTokenHash, OrganizationByID and UserByID would, in one
// query. A disabled user is returned like any other (the caller ends the
// sessions), and so is an expired session. Returns ENOTFOUND if there is
// no such session.
func (db *DB) SessionAccount(ctx context.Context, hash []byte) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User, error) {
	return db.sessionAccount(ctx, "session account", sessionAccountQuery+`sessions.token_hash = $1`, hash)
}

// SessionAccountByPublicID is SessionAccount for the session of a public
// id (SessionByPublicID).
func (db *DB) SessionAccountByPublicID(ctx context.Context, id string) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User, error) {
	return db.sessionAccount(ctx, "session account by public id", sessionAccountQuery+`sessions.public_id = $1`, id)
}

func (db *DB) sessionAccount(ctx context.Context, op, query string, arg any) (*gatehouse.Session, *gatehouse.Organization, *gatehouse.User, error) {
	var (
		srow sessionRow
		orow orgRow
		urow userRow
	)
	err := db.read.QueryRowContext(ctx, query, arg).Scan(slices.Concat(srow.dest(), orow.dest(), urow.dest())...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, notFound("Session")
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	s, err := srow.value()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	o, err := orow.value()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return s, o, urow.value(), nil
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
