package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// CreatePasswordReset saves a link bound to r.Email and makes it the user's
// only live one: one INSERT … ON CONFLICT on the unique index of live links
// (password_resets_one_live) replaces an unused older link in place, so
// however many race, one link per user works. Returns ENOTFOUND unless the
// user exists in r.OrgID, ECONFLICT if the token hash is taken.
func (db *DB) CreatePasswordReset(ctx context.Context, r *gatehouse.PasswordReset) error {
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO password_resets (token_hash, org_id, user_id, email, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org_id, user_id) WHERE used_at = 0 DO UPDATE SET
			token_hash = excluded.token_hash, email = excluded.email,
			created_at = excluded.created_at, expires_at = excluded.expires_at`,
		r.TokenHash, r.OrgID, r.UserID, r.Email, millis(r.CreatedAt), millis(r.ExpiresAt))
	switch violated(err) {
	case foreignKeyViolation:
		return notFound("User")
	case uniqueViolation: // 256-bit tokens never collide: a caller bug
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The password reset already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create password reset: %w", err)
	}
	return nil
}

func scanReset(row scanner, hash []byte) (*gatehouse.PasswordReset, error) {
	r := gatehouse.PasswordReset{TokenHash: bytes.Clone(hash)}
	var created, expires int64
	if err := row.Scan(&r.OrgID, &r.UserID, &r.Email, &created, &expires); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &r, nil
}

// linkAddressHolds is true while a link's address is still its user's
// e-mail: a link sent to an old address is dead.
const linkAddressHolds = `email = (SELECT u.email FROM users u
	WHERE u.org_id = password_resets.org_id AND u.id = password_resets.user_id)`

// PasswordResetByTokenHash returns an unused, unexpired link whose address
// is still the user's, or ENOTFOUND.
func (db *DB) PasswordResetByTokenHash(ctx context.Context, hash []byte, now time.Time) (*gatehouse.PasswordReset, error) {
	r, err := scanReset(db.read.QueryRowContext(ctx, `
		SELECT org_id, user_id, email, created_at, expires_at FROM password_resets
		WHERE token_hash = $1 AND used_at = 0 AND expires_at > $2 AND `+linkAddressHolds, hash, millis(now)), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Password reset")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: password reset by token hash: %w", err)
	}
	return r, nil
}

// ConsumePasswordReset marks the link used if it is unused, unexpired and
// its address still the user's, in one conditional UPDATE so that two
// requests racing on one link cannot both use it, and returns it; else
// ENOTFOUND.
func (db *DB) ConsumePasswordReset(ctx context.Context, hash []byte, now time.Time) (*gatehouse.PasswordReset, error) {
	r, err := scanReset(db.write.QueryRowContext(ctx, `
		UPDATE password_resets SET used_at = $2
		WHERE token_hash = $1 AND used_at = 0 AND expires_at > $2 AND `+linkAddressHolds+`
		RETURNING org_id, user_id, email, created_at, expires_at`, hash, millis(now)), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Password reset")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: consume password reset: %w", err)
	}
	return r, nil
}
