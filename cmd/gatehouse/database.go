package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// Only serve, migrate and demo make or migrate a database (migrateStore);
// every other command opens one that exists and is at this binary's schema
// version (openStore), so a mistyped --database-url or a forgotten migrate
// is an error that says what to do, not a new empty database.

// openStore opens the database of a command that reads or administers it.
// It never creates a SQLite file and never migrates: a database that does
// not exist, holds no Gatehouse schema or is at another schema version is a
// usage error naming gatehouse migrate.
func openStore(ctx context.Context, databaseURL string, dev bool) (*sqlstore.DB, error) {
	if err := checkDatabaseURL(databaseURL, dev); err != nil {
		return nil, err
	}
	where := databaseLocation(databaseURL)
	db, err := sqlstore.OpenExisting(ctx, databaseURL)
	if errors.Is(err, sqlstore.ErrNoDatabase) {
		if _, ok := sqlitePath(databaseURL); ok {
			return nil, usageError("the database %s does not exist: create it with gatehouse migrate (with the same --database-url)", where)
		}
		return nil, usageError("the PostgreSQL database %s does not exist: create it (createdb), then run gatehouse migrate", where)
	}
	if err != nil {
		return nil, err
	}
	if err := checkSchemaCurrent(ctx, db, where); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// checkSchemaCurrent refuses a database whose schema is not the one this
// binary was built for: older, the commands would fail halfway on a missing
// column; newer, they could write what the newer code does not expect.
func checkSchemaCurrent(ctx context.Context, db *sqlstore.DB, where string) error {
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	want := db.LatestSchemaVersion()
	switch {
	case have == 0:
		return usageError("the database %s holds no Gatehouse schema yet: run gatehouse migrate first", where)
	case have < want:
		return usageError("the database %s is at schema version %d and this gatehouse needs %d: run gatehouse migrate", where, have, want)
	case have > want:
		return usageError("the database %s is at schema version %d, newer than this gatehouse knows (%d): use the gatehouse version that migrated it", where, have, want)
	}
	return nil
}

// dbReport is what serve and migrate log about the database they opened.
type dbReport struct {
	where         string
	dialect       string
	before, after int // schema versions
	organizations int
}

// log logs the report as one line with fixed keys.
func (r dbReport) log(log *slog.Logger) {
	log.Info("database", "database", r.where, "dialect", r.dialect,
		"schema_version_before", r.before, "schema_version_after", r.after, "organizations", r.organizations)
}

// migrateStore opens the database of serve, migrate and demo: a missing
// SQLite file is created (0600; its folder must exist) and pending
// migrations are applied, unless c.NoMigrate. A migration is logged at once
// (it happened even if the start fails later); the report says where the
// database is, its schema version before and after and the number of
// organizations, for the caller to log when it is up. PostgreSQL's
// maintenance database "postgres" is refused unless
// --allow-postgres-database: tables made there by mistake are easy to miss
// and mix with whatever else uses it.
func migrateStore(ctx context.Context, c *Config, log *slog.Logger) (*sqlstore.DB, dbReport, error) {
	var r dbReport
	if err := checkDatabaseURL(c.DatabaseURL, c.Dev); err != nil {
		return nil, r, err
	}
	where := databaseLocation(c.DatabaseURL)
	if name, ok := postgresDatabase(c.DatabaseURL); ok && name == "postgres" && !c.AllowPostgresDatabase {
		return nil, r, usageError("--database-url %s names PostgreSQL's maintenance database \"postgres\": make a database for Gatehouse (createdb gatehouse) and name it, or add --allow-postgres-database (GATEHOUSE_ALLOW_POSTGRES_DATABASE=true) to use this one", where)
	}
	open := sqlstore.Open
	if c.NoMigrate {
		open = sqlstore.OpenExisting
	}
	db, err := open(ctx, c.DatabaseURL)
	if errors.Is(err, sqlstore.ErrNoDatabase) {
		if _, ok := sqlitePath(c.DatabaseURL); ok {
			return nil, r, usageError("the database %s does not exist and --no-migrate creates none: run gatehouse migrate first", where)
		}
		return nil, r, usageError("the PostgreSQL database %s does not exist: create it (createdb, or CREATE DATABASE), then run gatehouse migrate", where)
	}
	if err != nil {
		return nil, r, fmt.Errorf("open the database %s: %w", where, err)
	}
	before, err := db.SchemaVersion(ctx)
	if err != nil {
		db.Close()
		return nil, r, err
	}
	if c.NoMigrate {
		if err := checkSchemaCurrent(ctx, db, where); err != nil {
			db.Close()
			return nil, r, err
		}
	} else if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, r, err
	}
	after, err := db.SchemaVersion(ctx)
	if err != nil {
		db.Close()
		return nil, r, err
	}
	orgs, err := db.ListOrganizations(ctx)
	if err != nil {
		db.Close()
		return nil, r, err
	}
	r = dbReport{where: where, dialect: db.Dialect(), before: before, after: after, organizations: len(orgs)}
	if latest := db.LatestSchemaVersion(); after > latest {
		log.Warn("the database's schema is newer than this gatehouse knows: a newer version migrated it; run that version", "database", where,
			"schema_version", after, "known_schema_version", latest)
	}
	if path, ok := sqlitePath(c.DatabaseURL); ok {
		warnLooseMode(log, path)
	}
	if before != after {
		log.Info("database migrated", "database", where, "schema_version_before", before, "schema_version_after", after)
	}
	return db, r, nil
}

// warnLooseMode warns about SQLite files made before Gatehouse set their
// mode, or widened since, that others may read: they hold password hashes
// and sessions.
func warnLooseMode(log *slog.Logger, path string) {
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("a database file is open to other users: make it readable by its owner only", "file", f,
				"mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "fix", "chmod 600 "+f)
		}
	}
}

// checkDatabaseURL refuses a URL of another kind of database, and a
// PostgreSQL URL that could cross the network without TLS.
func checkDatabaseURL(databaseURL string, dev bool) error {
	if _, ok := sqlitePath(databaseURL); !ok && !isPostgresURL(databaseURL) {
		return usageError("--database-url %q: use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE", redactURL(databaseURL))
	}
	return checkDatabaseTLS(databaseURL, dev)
}

// databaseLocation names a database for messages and logs: the absolute
// path of a SQLite file, or postgres://HOST:PORT/DATABASE (never the user
// or the password).
func databaseLocation(databaseURL string) string {
	if path, ok := sqlitePath(databaseURL); ok {
		if abs, err := filepath.Abs(path); err == nil {
			return abs
		}
		return path
	}
	cfg, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		return redactURL(databaseURL)
	}
	host := cfg.Host
	if len(host) == 0 || host[0] != '/' {
		host = net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	}
	name, _ := postgresDatabase(databaseURL)
	return "postgres://" + host + "/" + name
}

// postgresDatabase returns the database a PostgreSQL URL connects to: the
// one named, or, as PostgreSQL does, the user's name when none is.
func postgresDatabase(databaseURL string) (string, bool) {
	if !isPostgresURL(databaseURL) {
		return "", false
	}
	cfg, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		return "", false
	}
	if cfg.Database == "" {
		return cfg.User, true
	}
	return cfg.Database, true
}
