package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// ListUserSessions returns up to limit live sessions of the user in orgID,
// the most recently used first: not past their absolute timeout at now and
// last seen after idleBefore.
func (db *DB) ListUserSessions(ctx context.Context, orgID, userID string, now, idleBefore time.Time, limit int) ([]*gatehouse.Session, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT token_hash, public_id, two_factor_state, client_ip, user_agent, created_at, last_seen_at, expires_at, reauth_at
		FROM sessions
		WHERE org_id = $1 AND user_id = $2 AND expires_at > $3 AND last_seen_at > $4
		ORDER BY last_seen_at DESC, created_at DESC, public_id
		LIMIT $5`, orgID, userID, millis(now), millis(idleBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list user sessions: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.Session
	for rows.Next() {
		s := &gatehouse.Session{UserID: userID, OrgID: orgID}
		var (
			ip                               string
			created, seen, expiresAt, reauth int64
		)
		if err := rows.Scan(&s.TokenHash, &s.PublicID, &s.TwoFactorState, &ip, &s.UserAgent, &created, &seen, &expiresAt, &reauth); err != nil {
			return nil, fmt.Errorf("sqlstore: list user sessions: %w", err)
		}
		if s.ClientIP, err = parseAddr(ip); err != nil {
			return nil, fmt.Errorf("sqlstore: list user sessions: client_ip: %w", err)
		}
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expiresAt)
		s.ReauthAt = fromOptMillis(reauth)
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list user sessions: %w", err)
	}
	return list, nil
}

// DeleteUserSession ends the session of the user in orgID that publicID
// names. Returns ENOTFOUND when the user has no such session: another
// user's id ends nothing.
func (db *DB) DeleteUserSession(ctx context.Context, orgID, userID, publicID string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND public_id = $3`,
		orgID, userID, publicID)
	return updated(res, err, "Session", "delete user session")
}

// DeleteOtherUserSessions ends every session of the user in orgID but the
// one whose token hash is keep (nil: every one), and returns how many.
func (db *DB) DeleteOtherUserSessions(ctx context.Context, orgID, userID string, keep []byte) (int64, error) {
	if keep == nil {
		keep = []byte{} // no token hash is empty
	}
	res, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND token_hash <> $3`,
		orgID, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete other user sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete other user sessions: %w", err)
	}
	return n, nil
}

// DeleteOrgSessionsWithoutTwoFactor ends every session of orgID that
// gatehouse.PassedTwoFactorPolicy does not accept, and returns how many.
func (db *DB) DeleteOrgSessionsWithoutTwoFactor(ctx context.Context, orgID string) (int64, error) {
	args := []any{orgID}
	marks := make([]string, len(gatehouse.TwoFactorPolicyStates))
	for i, st := range gatehouse.TwoFactorPolicyStates {
		args = append(args, st)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	res, err := db.write.ExecContext(ctx, `
		DELETE FROM sessions WHERE org_id = $1 AND two_factor_state NOT IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete sessions without two-factor: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete sessions without two-factor: %w", err)
	}
	return n, nil
}
