package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehousehq/gatehouse"
)

// A bulk import writes each batch in one transaction: the batch goes into a
// temporary staging table (COPY on PostgreSQL, one prepared INSERT per row on
// SQLite, where a statement costs microseconds), and a few set-based
// statements then end the sign-ins of users whose credentials change, update
// existing users and insert new ones. The same statements run on both
// databases; only filling the staging table differs.

// importColumns are the staging table's columns, in COPY's order.
var importColumns = []string{"id", "email", "name", "phone", "role", "password_hash"}

// importChanged selects the existing users of org $1 whose phone or password
// hash the staged rows change: their sessions, remembered browsers, pending
// sign-ins, unused links and known devices end, as when an admin changes a
// phone or sets a password one at a time.
const importChanged = `SELECT u.id FROM users u JOIN import_users i ON u.email = i.email
	WHERE u.org_id = $1 AND ((i.phone <> '' AND i.phone <> COALESCE(u.phone, ''))
		OR (i.password_hash <> '' AND i.password_hash <> COALESCE(u.password_hash, '')))`

var importEndCredentials = []string{
	`DELETE FROM sessions WHERE org_id = $1 AND user_id IN (` + importChanged + `)`,
	`DELETE FROM remembered_browsers WHERE org_id = $1 AND user_id IN (` + importChanged + `)`,
	`DELETE FROM challenges WHERE org_id = $1 AND user_id IN (` + importChanged + `)`,
	`DELETE FROM password_resets WHERE org_id = $1 AND used_at = 0 AND user_id IN (` + importChanged + `)`,
	`DELETE FROM known_devices WHERE org_id = $1 AND user_id IN (` + importChanged + `)`,
}

// importUpdate changes the non-empty fields of existing users that differ.
const importUpdate = `UPDATE users SET
		name = CASE WHEN i.name <> '' THEN i.name ELSE users.name END,
		phone = CASE WHEN i.phone <> '' THEN i.phone ELSE users.phone END,
		role = CASE WHEN i.role <> '' THEN i.role ELSE users.role END,
		password_hash = CASE WHEN i.password_hash <> '' THEN i.password_hash ELSE users.password_hash END,
		updated_at = CAST($2 AS BIGINT)
	FROM import_users i
	WHERE users.org_id = $1 AND users.email = i.email
		AND ((i.name <> '' AND i.name <> users.name)
			OR (i.phone <> '' AND i.phone <> COALESCE(users.phone, ''))
			OR (i.role <> '' AND i.role <> users.role)
			OR (i.password_hash <> '' AND i.password_hash <> COALESCE(users.password_hash, '')))`

// importInsert inserts the staged users whose e-mail is new ("WHERE true"
// tells SQLite's parser that ON CONFLICT belongs to the INSERT), and
// returns those without a password hash, the ones an invitation goes to.
const importInsert = `INSERT INTO users (id, org_id, email, name, phone, role, disabled, two_factor_exempt,
		password_hash, otp_failures, otp_last_failure_at, last_verified_at, locale, created_at, updated_at)
	SELECT i.id, CAST($1 AS TEXT), i.email, i.name, NULLIF(i.phone, ''),
		CASE WHEN i.role <> '' THEN i.role ELSE 'member' END, false, false,
		NULLIF(i.password_hash, ''), 0, 0, 0, '', CAST($2 AS BIGINT), CAST($2 AS BIGINT)
	FROM import_users i WHERE true
	ON CONFLICT (org_id, email) DO NOTHING
	RETURNING id, password_hash IS NULL`

// execer runs a statement of a batch and returns its rows affected; query
// runs one that returns rows.
type batchTx interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error
}

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
	run := func(ctx context.Context, tx batchTx) error {
		var err error
		counts, err = importStaged(ctx, tx, b)
		return err
	}
	if db.dialect.name == "postgres" {
		err = db.importPostgres(ctx, b, run)
	} else {
		err = db.importSQLite(ctx, b, run)
	}
	if err != nil {
		return gatehouse.ImportCounts{}, err
	}
	return counts, nil
}

// importStaged runs the set-based statements over the staged batch.
func importStaged(ctx context.Context, tx batchTx, b gatehouse.ImportBatch) (gatehouse.ImportCounts, error) {
	var c gatehouse.ImportCounts
	at := millis(b.At)
	if b.Update {
		for _, q := range importEndCredentials {
			if _, err := tx.exec(ctx, q, b.OrgID); err != nil {
				return c, fmt.Errorf("sqlstore: import users: end sign-ins: %w", err)
			}
		}
		n, err := tx.exec(ctx, importUpdate, b.OrgID, at)
		if err != nil {
			return c, fmt.Errorf("sqlstore: import users: update: %w", err)
		}
		c.Updated = int(n)
	}
	err := tx.query(ctx, importInsert, []any{b.OrgID, at}, func(scan func(...any) error) error {
		var id string
		var noHash bool
		if err := scan(&id, &noHash); err != nil {
			return err
		}
		c.Inserted++
		if noHash {
			c.Invitable = append(c.Invitable, id)
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("sqlstore: import users: insert: %w", err)
	}
	c.Existing = len(b.Users) - c.Inserted - c.Updated
	return c, nil
}

// sqlTx is a database/sql transaction as a batchTx.
type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t sqlTx) query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// importSQLite stages the batch with a prepared INSERT in a transaction on
// the writer.
func (db *DB) importSQLite(ctx context.Context, b gatehouse.ImportBatch, run func(context.Context, batchTx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	defer tx.Rollback()
	if err := stageSQL(ctx, tx, b.Users); err != nil {
		return err
	}
	if err := run(ctx, sqlTx{tx}); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE temp.import_users`); err != nil {
		return fmt.Errorf("sqlstore: import users: drop staging: %w", err)
	}
	if b.DryRun {
		return nil // the deferred Rollback undoes it all
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	return nil
}

// stageSQL creates the staging table in tx and fills it row by row.
func stageSQL(ctx context.Context, tx *sql.Tx, users []gatehouse.ImportedUser) error {
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE import_users (id TEXT NOT NULL, email TEXT NOT NULL PRIMARY KEY,
		name TEXT NOT NULL, phone TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlstore: import users: staging: %w", err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO import_users (id, email, name, phone, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6)`)
	if err != nil {
		return fmt.Errorf("sqlstore: import users: staging: %w", err)
	}
	defer st.Close()
	for _, u := range users {
		if _, err := st.ExecContext(ctx, u.ID, u.Email, u.Name, u.Phone, string(u.Role), u.PasswordHash); err != nil {
			return fmt.Errorf("sqlstore: import users: staging: %w", err)
		}
	}
	return nil
}

// pgxTx is a pgx transaction as a batchTx.
type pgxTx struct{ tx pgx.Tx }

func (t pgxTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (t pgxTx) query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// importPostgres stages the batch with COPY, on a pgx connection taken
// from the pool. A connection that is not pgx's (a wrapped driver) stages
// row by row instead.
func (db *DB) importPostgres(ctx context.Context, b gatehouse.ImportBatch, run func(context.Context, batchTx) error) error {
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
		if err := run(ctx, pgxTx{tx}); err != nil {
			return err
		}
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
	if err := stageSQL(ctx, tx, b.Users); err != nil {
		return err
	}
	if err := run(ctx, sqlTx{tx}); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE import_users`); err != nil {
		return fmt.Errorf("sqlstore: import users: drop staging: %w", err)
	}
	if b.DryRun {
		return nil
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: import users: %w", err)
	}
	return nil
}
