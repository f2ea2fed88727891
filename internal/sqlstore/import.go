package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehousehq/gatehouse"
)

// A bulk import writes each batch in one transaction. On PostgreSQL the
// batch goes into a temporary staging table with COPY, and a few set-based
// statements then end the sign-ins of users whose credentials change, update
// existing users and insert new ones: one round trip per row would cost more
// than the rows. On SQLite, in process, prepared statements row by row are
// the fast way (importRows); both follow the same rules, held by the
// conformance tests.

// importColumns are the staging table's columns, in COPY's order.
var importColumns = []string{"id", "email", "name", "phone", "role", "password_hash"}

// The staged rows find their users by (org_id, email) through LATERAL, so
// that each statement is one index look-up per staged row whatever the
// planner believes of the users table (right after a bulk load its
// statistics are stale, and a hash join scanned every user of the
// organization per batch: 5 s a batch at 1M users).

// importChanged selects the existing users of org $1 whose phone or password
// hash the staged rows change: their sessions, remembered browsers, pending
// sign-ins, unused links and known devices end, as when an admin changes a
// phone or sets a password one at a time.
const importChanged = `SELECT u.id FROM import_users i
	CROSS JOIN LATERAL (SELECT id, phone, password_hash FROM users WHERE org_id = $1 AND email = i.email) u
	WHERE (i.phone <> '' AND i.phone <> COALESCE(u.phone, ''))
		OR (i.password_hash <> '' AND i.password_hash <> COALESCE(u.password_hash, ''))`

var importEndCredentials = []string{
	`DELETE FROM sessions WHERE org_id = $1 AND user_id = ANY($2)`,
	`DELETE FROM remembered_browsers WHERE org_id = $1 AND user_id = ANY($2)`,
	`DELETE FROM challenges WHERE org_id = $1 AND user_id = ANY($2)`,
	`DELETE FROM password_resets WHERE org_id = $1 AND used_at = 0 AND user_id = ANY($2)`,
	`DELETE FROM known_devices WHERE org_id = $1 AND user_id = ANY($2)`,
}

// importUpdate changes the non-empty fields of existing users that differ.
const importUpdate = `UPDATE users SET
		name = CASE WHEN i.name <> '' THEN i.name ELSE users.name END,
		phone = CASE WHEN i.phone <> '' THEN i.phone ELSE users.phone END,
		role = CASE WHEN i.role <> '' THEN i.role ELSE users.role END,
		password_hash = CASE WHEN i.password_hash <> '' THEN i.password_hash ELSE users.password_hash END,
		updated_at = $2::bigint
	FROM (SELECT u.id, i.name, i.phone, i.role, i.password_hash FROM import_users i
		CROSS JOIN LATERAL (SELECT id FROM users WHERE org_id = $1 AND email = i.email) u) i
	WHERE users.id = i.id
		AND ((i.name <> '' AND i.name <> users.name)
			OR (i.phone <> '' AND i.phone <> COALESCE(users.phone, ''))
			OR (i.role <> '' AND i.role <> users.role)
			OR (i.password_hash <> '' AND i.password_hash <> COALESCE(users.password_hash, '')))`

// importInsert inserts the staged users whose e-mail is new, and returns
// those without a password hash, the ones an invitation goes to.
const importInsert = `INSERT INTO users (id, org_id, email, name, phone, role, disabled, two_factor_exempt,
		password_hash, otp_failures, otp_last_failure_at, last_verified_at, locale, created_at, updated_at)
	SELECT i.id, $1::text, i.email, i.name, NULLIF(i.phone, ''),
		CASE WHEN i.role <> '' THEN i.role ELSE 'member' END, false, false,
		NULLIF(i.password_hash, ''), 0, 0, 0, '', $2::bigint, $2::bigint
	FROM import_users i
	ON CONFLICT (org_id, email) DO NOTHING
	RETURNING id, password_hash IS NULL`

// ImportUsers writes one batch of an import in one transaction (rolled
// back in a dry run) and counts what it did. Returns ENOTFOUND if the
// organization does not exist.
func (db *DB) ImportUsers(ctx context.Context, b gatehouse.ImportBatch) (gatehouse.ImportCounts, error) {
	var counts gatehouse.ImportCounts
	if len(b.Users) == 0 {
		return counts, nil
	}
	var exists bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)`, b.OrgID).Scan(&exists)
	if err != nil {
		return counts, fmt.Errorf("sqlstore: import users: %w", err)
	}
	if !exists {
		return counts, notFound("Organization")
	}
	if db.dialect.name == "postgres" {
		err = db.importPostgres(ctx, b, &counts)
	} else {
		err = db.importSQLite(ctx, b, &counts)
	}
	if err != nil {
		return gatehouse.ImportCounts{}, err
	}
	return counts, nil
}

// importStaged runs the set-based statements over the staged batch.
func importStaged(ctx context.Context, tx pgx.Tx, b gatehouse.ImportBatch) (gatehouse.ImportCounts, error) {
	var c gatehouse.ImportCounts
	at := millis(b.At)
	if b.Update {
		// The last join, users by id, must be the primary key's index too.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`); err != nil {
			return c, fmt.Errorf("sqlstore: import users: %w", err)
		}
		var changed []string
		if err := tx.QueryRow(ctx, `SELECT COALESCE(array_agg(id), '{}') FROM (`+importChanged+`) c`, b.OrgID).Scan(&changed); err != nil {
			return c, fmt.Errorf("sqlstore: import users: changed credentials: %w", err)
		}
		for _, q := range importEndCredentials {
			if len(changed) == 0 {
				break
			}
			if _, err := tx.Exec(ctx, q, b.OrgID, changed); err != nil {
				return c, fmt.Errorf("sqlstore: import users: end sign-ins: %w", err)
			}
		}
		tag, err := tx.Exec(ctx, importUpdate, b.OrgID, at)
		if err != nil {
			return c, fmt.Errorf("sqlstore: import users: update: %w", err)
		}
		c.Updated = int(tag.RowsAffected())
	}
	rows, err := tx.Query(ctx, importInsert, b.OrgID, at)
	if err != nil {
		return c, fmt.Errorf("sqlstore: import users: insert: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var noHash bool
		if err := rows.Scan(&id, &noHash); err != nil {
			return c, fmt.Errorf("sqlstore: import users: insert: %w", err)
		}
		c.Inserted++
		if noHash {
			c.Invitable = append(c.Invitable, id)
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("sqlstore: import users: insert: %w", err)
	}
	c.Existing = len(b.Users) - c.Inserted - c.Updated
	return c, nil
}

// importSQLite writes the batch row by row with prepared statements in a
// transaction on the writer: on SQLite a statement costs microseconds, and
// a set-based UPDATE … FROM over a staging table scans the organization's
// users once per batch.
func (db *DB) importSQLite(ctx context.Context, b gatehouse.ImportBatch, counts *gatehouse.ImportCounts) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	defer tx.Rollback()
	// The indexes on the users' random ids take writes all over the file;
	// 64 MiB of page cache (on the one writer connection, 2 MiB otherwise)
	// keeps most of them in memory.
	if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -65536`); err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	if err := importRows(ctx, tx, b, counts); err != nil {
		return err
	}
	if b.DryRun {
		return nil // the deferred Rollback undoes it all
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	return nil
}

// importRows writes a batch one row at a time: the existing user is read
// by e-mail, then inserted, left alone, or updated (ending its sign-ins
// when the phone or hash changes), as importStaged does for a whole batch.
func importRows(ctx context.Context, tx *sql.Tx, b gatehouse.ImportBatch, c *gatehouse.ImportCounts) error {
	queries := []string{
		`SELECT id, name, COALESCE(phone, ''), role, COALESCE(password_hash, '') FROM users WHERE org_id = $1 AND email = $2`,
		`INSERT INTO users (id, org_id, email, name, phone, role, disabled, two_factor_exempt,
			password_hash, otp_failures, otp_last_failure_at, last_verified_at, locale, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, false, false, $7, 0, 0, 0, '', $8, $8)
			ON CONFLICT (org_id, email) DO NOTHING`,
		`UPDATE users SET name = $3, phone = $4, role = $5, password_hash = $6, updated_at = $7 WHERE org_id = $1 AND id = $2`,
		`DELETE FROM sessions WHERE org_id = $1 AND user_id = $2`,
		`DELETE FROM remembered_browsers WHERE org_id = $1 AND user_id = $2`,
		`DELETE FROM challenges WHERE org_id = $1 AND user_id = $2`,
		`DELETE FROM password_resets WHERE org_id = $1 AND user_id = $2 AND used_at = 0`,
		`DELETE FROM known_devices WHERE org_id = $1 AND user_id = $2`,
	}
	st := make([]*sql.Stmt, len(queries))
	for i, q := range queries {
		var err error
		if st[i], err = tx.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("sqlstore: import users: prepare: %w", err)
		}
		defer st[i].Close()
	}
	find, insert, update, end := st[0], st[1], st[2], st[3:]
	at := millis(b.At)
	for _, u := range b.Users {
		var id, name, phone, role, hash string
		err := sql.ErrNoRows
		if b.Update {
			// Without Update the insert's ON CONFLICT is the look-up.
			err = find.QueryRowContext(ctx, b.OrgID, u.Email).Scan(&id, &name, &phone, &role, &hash)
		}
		if errors.Is(err, sql.ErrNoRows) {
			r := u.Role
			if r == "" {
				r = gatehouse.RoleMember
			}
			res, err := insert.ExecContext(ctx, u.ID, b.OrgID, u.Email, u.Name, nullable(u.Phone), string(r), nullable(u.PasswordHash), at)
			if err != nil {
				return fmt.Errorf("sqlstore: import users: insert: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlstore: import users: insert: %w", err)
			}
			if n == 0 {
				c.Existing++
				continue
			}
			c.Inserted++
			if u.PasswordHash == "" {
				c.Invitable = append(c.Invitable, u.ID)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlstore: import users: find: %w", err)
		}
		credentials := u.Phone != "" && u.Phone != phone || u.PasswordHash != "" && u.PasswordHash != hash
		changed := credentials || u.Name != "" && u.Name != name || u.Role != "" && string(u.Role) != role
		if !b.Update || !changed {
			c.Existing++
			continue
		}
		if credentials {
			for _, e := range end {
				if _, err := e.ExecContext(ctx, b.OrgID, id); err != nil {
					return fmt.Errorf("sqlstore: import users: end sign-ins: %w", err)
				}
			}
		}
		if _, err := update.ExecContext(ctx, b.OrgID, id, or(u.Name, name), nullable(or(u.Phone, phone)),
			or(string(u.Role), role), nullable(or(u.PasswordHash, hash)), at); err != nil {
			return fmt.Errorf("sqlstore: import users: update: %w", err)
		}
		c.Updated++
	}
	return nil
}

// or is s, or else when s is empty.
func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// importPostgres stages the batch with COPY, on a pgx connection taken
// from the pool, and writes it with the set-based statements. A connection
// that is not pgx's (a wrapped driver) writes row by row instead.
func (db *DB) importPostgres(ctx context.Context, b gatehouse.ImportBatch, counts *gatehouse.ImportCounts) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	defer conn.Close()
	copied := false
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return nil
		}
		copied = true
		tx, err := pc.Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("sqlstore: import users: %w", err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_users (id text NOT NULL, email text COLLATE "C" NOT NULL PRIMARY KEY,
			name text NOT NULL, phone text NOT NULL, role text NOT NULL, password_hash text NOT NULL) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("sqlstore: import users: staging: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"import_users"}, importColumns, pgx.CopyFromSlice(len(b.Users), func(i int) ([]any, error) {
			u := &b.Users[i]
			return []any{u.ID, u.Email, u.Name, u.Phone, string(u.Role), u.PasswordHash}, nil
		}))
		if err != nil {
			return fmt.Errorf("sqlstore: import users: copy: %w", err)
		}
		// Without statistics the planner guesses the staging table large
		// and scans every user of the database to join it.
		if _, err := tx.Exec(ctx, `ANALYZE import_users`); err != nil {
			return fmt.Errorf("sqlstore: import users: analyze: %w", err)
		}
		c, err := importStaged(ctx, tx, b)
		if err != nil {
			return err
		}
		*counts = c
		if b.DryRun {
			return nil
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("sqlstore: import users: %w", err)
		}
		return nil
	})
	if err != nil || copied {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	defer tx.Rollback()
	if err := importRows(ctx, tx, b, counts); err != nil {
		return err
	}
	if b.DryRun {
		return nil
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	return nil
}
