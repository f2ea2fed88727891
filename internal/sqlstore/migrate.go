package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered from 0001 without gaps, one folder per dialect,
// and never edited once released: a change is a new file in both folders.
// Each is applied by its own number (a gap on a branch is renumbered when
// it lands).
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != len(ms)+1 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s is misnamed or out of sequence", dir, e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// Migrate applies the migrations the database has not seen yet, each in its
// own transaction. Nodes may call it at the same time: each migration is
// applied once.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.dialect.name)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for _, m := range ms {
		if err := db.apply(ctx, m); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", m.name, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, m migration) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.dialect.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, db.dialect.lockMigrations); err != nil {
			return err
		}
	}
	// Created under the lock: on PostgreSQL one of two concurrent CREATE
	// TABLE IF NOT EXISTS fails on a catalog unique index.
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		m.version, millis(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// LatestSchemaVersion is the version Migrate brings the database to: the
// number of the last migration this binary holds for the database's dialect.
func (db *DB) LatestSchemaVersion() int {
	ms, err := loadMigrations(db.dialect.name)
	if err != nil || len(ms) == 0 {
		return 0 // the embedded files are checked by the tests
	}
	return ms[len(ms)-1].version
}

// SchemaVersion returns the number of the last migration applied, 0 for a
// database never migrated.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, db.dialect.tableExists, "schema_migrations").Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return v, nil
}
