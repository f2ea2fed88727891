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
// orgID, ECONFLICT if the new e-mail is taken.
func (db *DB) PatchUser(ctx context.Context, orgID, userID string, p gatehouse.UserPatch, at time.Time) (*gatehouse.User, error) {
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
	u, err := scanUser(db.write.QueryRowContext(ctx, `
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
