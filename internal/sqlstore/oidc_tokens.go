package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// grantColumns are the columns access and refresh tokens share.
const grantColumns = `client_id, user_id, org_id, session_id, auth_request_id, family_id, scopes, auth_time, amr,
	acr, two_factor_state`

func grantArgs(g *gatehouse.OAuthGrant) []any {
	return []any{g.ClientID, g.UserID, g.OrgID, g.SessionID, g.AuthRequestID, g.FamilyID, jsonList(g.Scopes),
		millis(g.AuthTime), jsonList(g.AMR), g.ACR, g.TwoFactorState}
}

// liveGrant joins a token (alias t) to its Gatehouse session and user: a
// token is live only while its session is not past its absolute timeout
// at $2 and its user is not disabled. Sign-out, a password change, an admin
// reset and disabling all delete or end the session, on every node.
const liveGrant = `
	JOIN sessions s ON s.public_id = t.session_id AND s.expires_at > $2
	JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id AND NOT u.disabled`

func insertAccessToken(ctx context.Context, tx *txn, t *gatehouse.OAuthToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oauth_tokens (id_hash, `+grantColumns+`, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		append(append([]any{t.IDHash}, grantArgs(&t.OAuthGrant)...), millis(t.CreatedAt), millis(t.ExpiresAt))...)
	return err
}

func insertRefreshToken(ctx context.Context, tx *txn, r *gatehouse.OAuthRefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oauth_refresh_tokens (token_hash, `+grantColumns+`, created_at, expires_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		append(append([]any{r.TokenHash}, grantArgs(&r.OAuthGrant)...), millis(r.CreatedAt), millis(r.ExpiresAt), optMillis(r.UsedAt))...)
	return err
}

// CreateOAuthToken saves an access token and, when refresh is not nil, the
// refresh token issued with it, together.
func (db *DB) CreateOAuthToken(ctx context.Context, t *gatehouse.OAuthToken, refresh *gatehouse.OAuthRefreshToken) error {
	return db.inTx(ctx, "create oauth token", func(tx *txn) error {
		if err := insertAccessToken(ctx, tx, t); err != nil {
			return tokenWriteError("create oauth token", err)
		}
		if refresh != nil {
			if err := insertRefreshToken(ctx, tx, refresh); err != nil {
				return tokenWriteError("create refresh token", err)
			}
		}
		return nil
	})
}

func tokenWriteError(op string, err error) error {
	switch violated(err) {
	case foreignKeyViolation:
		return notFound("Client")
	case uniqueViolation: // 256 random bits never collide: a caller bug
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The token already exists.")
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// grantDest is where grantColumns scan to; finishGrant decodes them.
func grantDest(g *gatehouse.OAuthGrant, scopes, amr *string, authTime *int64) []any {
	return []any{&g.ClientID, &g.UserID, &g.OrgID, &g.SessionID, &g.AuthRequestID, &g.FamilyID, scopes, authTime,
		amr, &g.ACR, &g.TwoFactorState}
}

func finishGrant(g *gatehouse.OAuthGrant, scopes, amr string, authTime int64) error {
	g.AuthTime = fromMillis(authTime)
	return fromJSONLists(scopes, &g.Scopes, amr, &g.AMR)
}

// prefixedGrant is grantColumns with the t. alias.
const prefixedGrant = `t.client_id, t.user_id, t.org_id, t.session_id, t.auth_request_id, t.family_id, t.scopes,
	t.auth_time, t.amr, t.acr, t.two_factor_state`

// OAuthTokenByIDHash returns a live access token; ENOTFOUND when there is
// none, it has expired at now, its session has ended or its user is
// disabled.
func (db *DB) OAuthTokenByIDHash(ctx context.Context, hash []byte, now time.Time) (*gatehouse.OAuthToken, error) {
	var (
		t                          = gatehouse.OAuthToken{IDHash: hash}
		scopes, amr                string
		authTime, created, expires int64
	)
	dest := append(grantDest(&t.OAuthGrant, &scopes, &amr, &authTime), &created, &expires)
	err := db.read.QueryRowContext(ctx, `SELECT `+prefixedGrant+`, t.created_at, t.expires_at
		FROM oauth_tokens t`+liveGrant+`
		WHERE t.id_hash = $1 AND t.expires_at > $2`, hash, millis(now)).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Token")
	}
	if err == nil {
		err = finishGrant(&t.OAuthGrant, scopes, amr, authTime)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: oauth token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &t, nil
}

// RefreshTokenByHash returns a refresh token, used or not. ENOTFOUND when
// there is none, it has expired at now, its session has ended or its user
// is disabled. It reads from the writer: a rotation on another node must
// be seen at once.
func (db *DB) RefreshTokenByHash(ctx context.Context, hash []byte, now time.Time) (*gatehouse.OAuthRefreshToken, error) {
	var (
		r                                = gatehouse.OAuthRefreshToken{TokenHash: hash}
		scopes, amr                      string
		authTime, created, expires, used int64
	)
	dest := append(grantDest(&r.OAuthGrant, &scopes, &amr, &authTime), &created, &expires, &used)
	err := db.write.QueryRowContext(ctx, `SELECT `+prefixedGrant+`, t.created_at, t.expires_at, t.used_at
		FROM oauth_refresh_tokens t`+liveGrant+`
		WHERE t.token_hash = $1 AND t.expires_at > $2`, hash, millis(now)).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Refresh token")
	}
	if err == nil {
		err = finishGrant(&r.OAuthGrant, scopes, amr, authTime)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: refresh token: %w", err)
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = fromMillis(created), fromMillis(expires), fromOptMillis(used)
	return &r, nil
}

// RotateRefreshToken marks the refresh token of oldHash used and saves its
// successor with a new access token, in one transaction. The conditional
// UPDATE lets exactly one of any number of callers through (the row lock
// on PostgreSQL, the single writer on SQLite); the others get ECONFLICT.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash []byte, at time.Time, t *gatehouse.OAuthToken, next *gatehouse.OAuthRefreshToken) error {
	return db.inTx(ctx, "rotate refresh token", func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE oauth_refresh_tokens SET used_at = $2
			WHERE token_hash = $1 AND used_at = 0 AND expires_at > $2`, oldHash, millis(at))
		if err != nil {
			return fmt.Errorf("sqlstore: rotate refresh token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: rotate refresh token: %w", err)
		} else if n == 0 {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "The refresh token was already used or has expired.")
		}
		if err := insertAccessToken(ctx, tx, t); err != nil {
			return tokenWriteError("rotate refresh token", err)
		}
		if err := insertRefreshToken(ctx, tx, next); err != nil {
			return tokenWriteError("rotate refresh token", err)
		}
		return nil
	})
}

// RevokeOAuthToken removes one access token; a missing one is not an error.
func (db *DB) RevokeOAuthToken(ctx context.Context, idHash []byte) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM oauth_tokens WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("sqlstore: revoke oauth token: %w", err)
	}
	return nil
}

// revokeWhere deletes the access and refresh tokens matching cond (with
// args) in one transaction and returns how many.
func (db *DB) revokeWhere(ctx context.Context, op, cond string, args ...any) (int64, error) {
	var total int64
	err := db.inTx(ctx, op, func(tx *txn) error {
		for _, table := range []string{"oauth_tokens", "oauth_refresh_tokens"} {
			res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+cond, args...)
			if err != nil {
				return fmt.Errorf("sqlstore: %s: %w", op, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlstore: %s: %w", op, err)
			}
			total += n
		}
		return nil
	})
	return total, err
}

// RevokeOAuthFamily removes every token of a refresh-token family.
func (db *DB) RevokeOAuthFamily(ctx context.Context, familyID string) error {
	if familyID == "" {
		return nil
	}
	_, err := db.revokeWhere(ctx, "revoke oauth family", `family_id = $1`, familyID)
	return err
}

// RevokeAuthRequestTokens removes every token an authorize request's code
// led to, refreshed ones included (they keep the request's ID).
func (db *DB) RevokeAuthRequestTokens(ctx context.Context, authRequestID string) error {
	_, err := db.revokeWhere(ctx, "revoke auth request tokens", `auth_request_id = $1`, authRequestID)
	return err
}

// RevokeSessionTokens removes the tokens of one Gatehouse session for one
// client ("" for every client) and returns how many.
func (db *DB) RevokeSessionTokens(ctx context.Context, sessionID, clientID string) (int64, error) {
	return db.revokeWhere(ctx, "revoke session tokens", `session_id = $1 AND ($2 = '' OR client_id = $2)`, sessionID, clientID)
}

// DeleteExpiredOAuth removes authorize requests and tokens past their
// expiry before before, and returns how many rows went. The tokens of an
// ended session are left to TakeEndedGrants, which queues their clients'
// back-channel logouts: deleted here, they would never be told.
func (db *DB) DeleteExpiredOAuth(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	err := db.inTx(ctx, "delete expired oauth", func(tx *txn) error {
		for _, q := range []string{
			`DELETE FROM oauth_auth_requests WHERE expires_at < $1`,
			// The newest access token of a client that wants a back-channel
			// logout stays while its session lives, expired or not (it is
			// dead to every read): it is what TakeEndedGrants finds when
			// the session ends, so a client is told hours after its last
			// token expired. One row per client and session at most.
			`DELETE FROM oauth_tokens WHERE expires_at < $1
				AND EXISTS (SELECT 1 FROM sessions s WHERE s.public_id = oauth_tokens.session_id)
				AND (NOT EXISTS (SELECT 1 FROM oauth_clients c WHERE c.id = oauth_tokens.client_id AND c.backchannel_logout_uri <> '')
					OR EXISTS (SELECT 1 FROM oauth_tokens n WHERE n.client_id = oauth_tokens.client_id
						AND n.session_id = oauth_tokens.session_id AND n.created_at > oauth_tokens.created_at))`,
			`DELETE FROM oauth_refresh_tokens WHERE expires_at < $1
				AND EXISTS (SELECT 1 FROM sessions s WHERE s.public_id = oauth_refresh_tokens.session_id)`,
		} {
			res, err := tx.ExecContext(ctx, q, millis(before))
			if err != nil {
				return fmt.Errorf("sqlstore: delete expired oauth: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlstore: delete expired oauth: %w", err)
			}
			total += n
		}
		return nil
	})
	return total, err
}
