package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func emailTaken() error {
	return gatehouse.Errorf(gatehouse.ECONFLICT, "A user with that e-mail address already exists in this organization.")
}

// CreateUser saves a new user. Returns ECONFLICT if the e-mail is taken in
// that organization and ENOTFOUND if the organization does not exist.
func (db *DB) CreateUser(ctx context.Context, u *gatehouse.User) error {
	return createUserError(db.write.ExecContext(ctx, insertUser, insertUserArgs(u)...))
}

// CreateUsers saves new users in one transaction: all or none. It is for
// seeding many users at once (cmd/gatehouse-bench); the errors are
// CreateUser's, for the first user that fails.
func (db *DB) CreateUsers(ctx context.Context, users []*gatehouse.User) error {
	return db.inTx(ctx, "create users", func(tx *txn) error {
		stmt, err := tx.PrepareContext(ctx, insertUser)
		if err != nil {
			return fmt.Errorf("sqlstore: create users: %w", err)
		}
		defer stmt.Close()
		for _, u := range users {
			if err := createUserError(stmt.ExecContext(ctx, insertUserArgs(u)...)); err != nil {
				return err
			}
		}
		return nil
	})
}

const insertUser = `
	INSERT INTO users (id, org_id, email, name, phone, role, disabled, two_factor_exempt,
		password_hash, otp_failures, otp_last_failure_at, last_verified_at, locale, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

func insertUserArgs(u *gatehouse.User) []any {
	return []any{u.ID, u.OrgID, u.Email, u.Name, nullable(u.Phone), string(u.Role), u.Disabled, u.TwoFactorExempt,
		nullable(u.PasswordHash), u.OTPFailures, optMillis(u.OTPLastFailureAt), optMillis(u.LastVerifiedAt),
		u.Locale, millis(u.CreatedAt), millis(u.UpdatedAt)}
}

func createUserError(_ sql.Result, err error) error {
	switch violated(err) {
	case uniqueViolation:
		return emailTaken()
	case foreignKeyViolation:
		return notFound("Organization")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create user: %w", err)
	}
	return nil
}

// userColumns are the columns userRow scans, named with their table so
// that a join may select them beside another table's (SessionAccount).
const userColumns = `users.id, users.org_id, users.email, users.name, users.phone, users.role,
	users.disabled, users.two_factor_exempt, users.password_hash, users.otp_failures,
	users.otp_last_failure_at, users.last_verified_at, users.locale, users.created_at, users.updated_at`

// userRow is a user as userColumns hold it, before conversion.
type userRow struct {
	u                     gatehouse.User
	phone, hash           sql.NullString
	lastFailure, verified int64
	created, updated      int64
}

// dest is where a Scan of userColumns goes, in their order.
func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, &u.OrgID, &u.Email, &u.Name, &r.phone, &u.Role, &u.Disabled, &u.TwoFactorExempt,
		&r.hash, &u.OTPFailures, &r.lastFailure, &r.verified, &u.Locale, &r.created, &r.updated}
}

// value converts what was scanned.
func (r *userRow) value() *gatehouse.User {
	u := &r.u
	u.Phone, u.PasswordHash = r.phone.String, r.hash.String
	u.OTPLastFailureAt, u.LastVerifiedAt = fromOptMillis(r.lastFailure), fromOptMillis(r.verified)
	u.CreatedAt, u.UpdatedAt = fromMillis(r.created), fromMillis(r.updated)
	return u
}

func scanUser(row scanner) (*gatehouse.User, error) {
	var r userRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.value(), nil
}

// UserByID returns ENOTFOUND unless the user exists in orgID.
func (db *DB) UserByID(ctx context.Context, orgID, id string) (*gatehouse.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id = $2`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user by id: %w", err)
	}
	return u, nil
}

// UserByEmail takes a normalized e-mail and returns ENOTFOUND unless the
// user exists in orgID.
func (db *DB) UserByEmail(ctx context.Context, orgID, email string) (*gatehouse.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND email = $2`, orgID, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user by email: %w", err)
	}
	return u, nil
}

// ListUsers returns up to limit users of orgID ordered by e-mail, those after
// afterEmail ("" for the first page).
func (db *DB) ListUsers(ctx context.Context, orgID, afterEmail string, limit int) ([]*gatehouse.User, error) {
	if limit <= 0 {
		return []*gatehouse.User{}, nil // SQLite reads a negative LIMIT as no limit at all
	}
	return db.queryUsers(ctx, "list users", `
		SELECT `+userColumns+` FROM users
		WHERE org_id = $1 AND email > $2
		ORDER BY email LIMIT $3`, orgID, afterEmail, limit)
}

// UsersByIDs returns the users of orgID among ids (unknown ones are left
// out), in no order; ids are read in batches.
func (db *DB) UsersByIDs(ctx context.Context, orgID string, ids []string) ([]*gatehouse.User, error) {
	out := []*gatehouse.User{}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), rememberedBatch)]
		ids = ids[len(batch):]
		args := []any{orgID}
		marks := make([]string, len(batch))
		for i, id := range batch {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		users, err := db.queryUsers(ctx, "users by ids", `SELECT `+userColumns+` FROM users
			WHERE org_id = $1 AND id IN (`+strings.Join(marks, ", ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, users...)
	}
	return out, nil
}

// queryUsers runs a query that selects userColumns and scans every row.
func (db *DB) queryUsers(ctx context.Context, op, query string, args ...any) ([]*gatehouse.User, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	users := []*gatehouse.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return users, nil
}

// UpdateUser saves the user's e-mail, name, phone, role, disabled,
// exemption and locale, and u.UpdatedAt as the caller set it; not the
// password. Returns ENOTFOUND unless the user exists in u.OrgID, ECONFLICT
// if the new e-mail is taken.
func (db *DB) UpdateUser(ctx context.Context, u *gatehouse.User) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE users SET email = $3, name = $4, phone = $5, role = $6, disabled = $7,
			two_factor_exempt = $8, locale = $9, updated_at = $10
		WHERE org_id = $1 AND id = $2`,
		u.OrgID, u.ID, u.Email, u.Name, nullable(u.Phone), string(u.Role), u.Disabled,
		u.TwoFactorExempt, u.Locale, millis(u.UpdatedAt))
	if violated(err) == uniqueViolation {
		return emailTaken()
	}
	return updated(res, err, "User", "update user")
}

// SetPasswordHash replaces the user's password hash ("" removes it).
// Returns ENOTFOUND unless the user exists in orgID.
func (db *DB) SetPasswordHash(ctx context.Context, orgID, userID, hash string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE users SET password_hash = $3, updated_at = $4
		WHERE org_id = $1 AND id = $2`,
		orgID, userID, nullable(hash), millis(at))
	return updated(res, err, "User", "set password hash")
}

// RecordOTPFailure counts one more consecutive wrong code for the user at
// now and returns the new count. Returns ENOTFOUND unless the user exists in
// orgID.
func (db *DB) RecordOTPFailure(ctx context.Context, orgID, userID string, now time.Time) (int, error) {
	// One statement: nodes counting the same user at once neither lose a
	// failure nor see the same count twice.
	var n int
	err := db.write.QueryRowContext(ctx, `
		UPDATE users SET otp_failures = otp_failures + 1, otp_last_failure_at = $3
		WHERE org_id = $1 AND id = $2
		RETURNING otp_failures`, orgID, userID, millis(now)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("User")
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: record otp failure: %w", err)
	}
	return n, nil
}

// ResetOTPFailures sets the user's consecutive wrong codes to zero and, when
// verified is not zero, records it as the last verification. The time of
// the last failure is kept: with no failures it makes no one wait. Returns
// ENOTFOUND unless the user exists in orgID.
func (db *DB) ResetOTPFailures(ctx context.Context, orgID, userID string, verified time.Time) error {
	var (
		res sql.Result
		err error
	)
	if verified.IsZero() {
		res, err = db.write.ExecContext(ctx, `
			UPDATE users SET otp_failures = 0 WHERE org_id = $1 AND id = $2`, orgID, userID)
	} else {
		res, err = db.write.ExecContext(ctx, `
			UPDATE users SET otp_failures = 0, last_verified_at = $3 WHERE org_id = $1 AND id = $2`,
			orgID, userID, millis(verified))
	}
	return updated(res, err, "User", "reset otp failures")
}
