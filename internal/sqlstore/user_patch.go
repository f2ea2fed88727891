package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// PatchUser writes only the fields set in p, and updated_at = at, in one
// UPDATE … RETURNING, so a field nobody changed keeps whatever another
// writer saved meanwhile. Returns ENOTFOUND unless the user exists in
// orgID, ECONFLICT if the new e-mail is taken, and ErrLastAdmin (ECONFLICT),
// saving nothing, for a demotion or a disable that would leave the
// organization without an admin who can sign in: such a patch runs in a
// transaction that locks the organization's row first, as DeleteUser does,
// so two admins demoting each other from two nodes cannot both pass.
func (db *DB) PatchUser(ctx context.Context, orgID, userID string, p gatehouse.UserPatch, at time.Time) (*gatehouse.User, error) {
	demotes := p.Role != nil && *p.Role != gatehouse.RoleAdmin || p.Disabled != nil && *p.Disabled
	if !demotes {
		return db.patchUser(ctx, db.write, orgID, userID, p, at)
	}
	var u *gatehouse.User
	err := db.inTx(ctx, "patch user", func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE organizations SET updated_at = updated_at WHERE id = $1`, orgID)
		if err := updated(res, err, "Organization", "patch user: lock organization"); err != nil {
			return err
		}
		var wasAdmin bool
		err = tx.QueryRowContext(ctx, `SELECT role = $3 AND NOT disabled FROM users WHERE org_id = $1 AND id = $2`,
			orgID, userID, string(gatehouse.RoleAdmin)).Scan(&wasAdmin)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("User")
		} else if err != nil {
			return fmt.Errorf("sqlstore: patch user: %w", err)
		}
		if u, err = db.patchUser(ctx, tx, orgID, userID, p, at); err != nil {
			return err
		}
		if !wasAdmin {
			return nil
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE org_id = $1 AND role = $2 AND NOT disabled`,
			orgID, string(gatehouse.RoleAdmin)).Scan(&left); err != nil {
			return fmt.Errorf("sqlstore: patch user: count admins: %w", err)
		}
		if left == 0 {
			return gatehouse.ErrLastAdmin()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (db *DB) patchUser(ctx context.Context, q rowQuerier, orgID, userID string, p gatehouse.UserPatch, at time.Time) (*gatehouse.User, error) {
	args := []any{orgID, userID, millis(at)}
	sets := []string{"updated_at = $3"}
	set := func(column string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", column, len(args)))
	}
	if p.Email != nil {
		set("email", *p.Email)
	}
	if p.Name != nil {
		set("name", *p.Name)
	}
	if p.Phone != nil {
		set("phone", nullable(*p.Phone))
	}
	if p.Role != nil {
		set("role", string(*p.Role))
	}
	if p.Disabled != nil {
		set("disabled", *p.Disabled)
	}
	if p.TwoFactorExempt != nil {
		set("two_factor_exempt", *p.TwoFactorExempt)
	}
	if p.Locale != nil {
		set("locale", *p.Locale)
	}
	// The column names are this function's own constants; only values
	// travel as parameters.
	u, err := scanUser(q.QueryRowContext(ctx, `
		UPDATE users SET `+strings.Join(sets, ", ")+`
		WHERE org_id = $1 AND id = $2
		RETURNING `+userColumns, args...))
	switch {
	case violated(err) == uniqueViolation:
		return nil, emailTaken()
	case errors.Is(err, sql.ErrNoRows):
		return nil, notFound("User")
	case err != nil:
		return nil, fmt.Errorf("sqlstore: patch user: %w", err)
	}
	return u, nil
}
