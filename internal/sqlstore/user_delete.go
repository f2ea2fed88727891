package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

// DeleteUser removes a user of orgID and what is theirs, with its audit
// event, in one transaction (gatehouse.UserStore). The organization's row
// is written first: that locks it on PostgreSQL (SQLite's BEGIN IMMEDIATE
// already serializes writers), so two deletions of the last two admins,
// from two nodes, cannot both pass the check.
//
// The sessions go by name; the applications' tokens of those sessions are
// left to TakeEndedGrants, which ends them and sends the back-channel
// logouts (a token is live only while its session is). Counts of what
// ended go into audit.Detail.
func (db *DB) DeleteUser(ctx context.Context, orgID, userID string, audit *gatehouse.AuditEvent) error {
	return db.inTx(ctx, "delete user", func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE organizations SET updated_at = updated_at WHERE id = $1`, orgID)
		if err := updated(res, err, "Organization", "delete user: lock organization"); err != nil {
			return err
		}
		var role string
		var disabled bool
		err = tx.QueryRowContext(ctx, `SELECT role, disabled FROM users WHERE org_id = $1 AND id = $2`, orgID, userID).Scan(&role, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("User")
		}
		if err != nil {
			return fmt.Errorf("sqlstore: delete user: %w", err)
		}
		if gatehouse.Role(role) == gatehouse.RoleAdmin {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE org_id = $1 AND id <> $2 AND role = $3 AND NOT disabled`,
				orgID, userID, string(gatehouse.RoleAdmin)).Scan(&others); err != nil {
				return fmt.Errorf("sqlstore: delete user: count admins: %w", err)
			}
			if others == 0 {
				return gatehouse.ErrLastAdmin()
			}
		}
		user := []any{orgID, userID}
		for _, st := range []struct{ q, detail string }{
			{`DELETE FROM sessions WHERE org_id = $1 AND user_id = $2`, "sessions_ended"},
			{`DELETE FROM remembered_browsers WHERE org_id = $1 AND user_id = $2`, "remembered_browsers_revoked"},
			{`DELETE FROM challenges WHERE org_id = $1 AND user_id = $2`, "pending_sign_ins_ended"},
			{`DELETE FROM password_resets WHERE org_id = $1 AND user_id = $2`, ""},
			{`DELETE FROM known_devices WHERE org_id = $1 AND user_id = $2`, ""},
			{`DELETE FROM federated_identities WHERE org_id = $1 AND user_id = $2`, "federated_links_removed"},
			// A pending authorization whose code was not yet exchanged.
			{`DELETE FROM oauth_auth_requests WHERE org_id = $1 AND user_id = $2`, ""},
		} {
			res, err := tx.ExecContext(ctx, st.q, user...)
			if err != nil {
				return fmt.Errorf("sqlstore: delete user: %w", err)
			}
			if st.detail == "" || audit == nil {
				continue
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlstore: delete user: %w", err)
			}
			if audit.Detail == nil {
				audit.Detail = map[string]string{}
			}
			audit.Detail[st.detail] = strconv.FormatInt(n, 10)
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM users WHERE org_id = $1 AND id = $2`, user...)
		if err := updated(res, err, "User", "delete user"); err != nil {
			return err
		}
		if audit != nil {
			if err := appendAudit(ctx, tx, audit); err != nil {
				return fmt.Errorf("sqlstore: delete user: audit: %w", err)
			}
		}
		return nil
	})
}
