package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

// ChangeCredentials saves a change of password, e-mail or phone with
// everything that ends with it, in one transaction.
func (db *DB) ChangeCredentials(ctx context.Context, c gatehouse.CredentialChange) error {
	return db.inTx(ctx, "change credentials", func(tx *txn) error {
		at := millis(c.At)
		if c.SpendReset != nil {
			var userID string
			err := tx.QueryRowContext(ctx, `
				UPDATE password_resets SET used_at = $4
				WHERE token_hash = $1 AND org_id = $2 AND user_id = $3 AND used_at = 0 AND expires_at > $4 AND `+linkAddressHolds+`
				RETURNING user_id`, c.SpendReset, c.OrgID, c.UserID, at).Scan(&userID)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("Password reset")
			}
			if err != nil {
				return fmt.Errorf("sqlstore: change credentials: spend reset: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = $3 WHERE org_id = $1 AND id = $2`, c.OrgID, c.UserID, at)
		if err := updated(res, err, "User", "change credentials"); err != nil {
			return err
		}
		if c.SetPassword {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $3 WHERE org_id = $1 AND id = $2`,
				c.OrgID, c.UserID, nullable(c.PasswordHash)); err != nil {
				return fmt.Errorf("sqlstore: change credentials: password: %w", err)
			}
		}
		if c.Email != nil {
			_, err := tx.ExecContext(ctx, `UPDATE users SET email = $3 WHERE org_id = $1 AND id = $2`, c.OrgID, c.UserID, *c.Email)
			if violated(err) == uniqueViolation {
				return emailTaken()
			}
			if err != nil {
				return fmt.Errorf("sqlstore: change credentials: e-mail: %w", err)
			}
		}
		if c.Phone != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET phone = $3 WHERE org_id = $1 AND id = $2`,
				c.OrgID, c.UserID, nullable(*c.Phone)); err != nil {
				return fmt.Errorf("sqlstore: change credentials: phone: %w", err)
			}
		}
		keep := c.KeepSession
		if keep == nil {
			keep = []byte{} // no session's token hash is empty
		}
		type stmt struct {
			on     bool
			q      string
			args   []any
			detail string // when set, the audit event's Detail key of its count
		}
		user := []any{c.OrgID, c.UserID}
		for _, st := range []stmt{
			{c.EndSessions, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND token_hash <> $3`, append(user, keep), "sessions_ended"},
			{c.EndRememberedBrowsers, `DELETE FROM remembered_browsers WHERE org_id = $1 AND user_id = $2`, user, "remembered_browsers_revoked"},
			{c.EndPending, `DELETE FROM challenges WHERE org_id = $1 AND user_id = $2`, user, ""},
			{c.VoidResetLinks, `DELETE FROM password_resets WHERE org_id = $1 AND user_id = $2 AND used_at = 0`, user, ""},
			{c.ClearCodeLock, `UPDATE users SET otp_failures = 0 WHERE org_id = $1 AND id = $2`, user, ""},
			{c.ForgetDevices, `DELETE FROM known_devices WHERE org_id = $1 AND user_id = $2`, user, ""},
		} {
			if !st.on {
				continue
			}
			res, err := tx.ExecContext(ctx, st.q, st.args...)
			if err != nil {
				return fmt.Errorf("sqlstore: change credentials: %w", err)
			}
			if st.detail != "" && c.Audit != nil {
				n, err := res.RowsAffected()
				if err != nil {
					return fmt.Errorf("sqlstore: change credentials: %w", err)
				}
				if c.Audit.Detail == nil {
					c.Audit.Detail = map[string]string{}
				}
				c.Audit.Detail[st.detail] = strconv.FormatInt(n, 10)
			}
		}
		for _, k := range c.ClearThrottle {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, k); err != nil {
				return fmt.Errorf("sqlstore: change credentials: clear throttle: %w", err)
			}
		}
		if c.Audit != nil {
			if err := appendAudit(ctx, tx, c.Audit); err != nil {
				return fmt.Errorf("sqlstore: change credentials: audit: %w", err)
			}
		}
		return nil
	})
}
