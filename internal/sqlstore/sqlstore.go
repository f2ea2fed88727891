// Package sqlstore keeps Gatehouse's state in SQLite (the default: one file,
// no set-up) or PostgreSQL (several nodes sharing one database). It
// implements gatehouse.Store with hand-written SQL over database/sql.
//
// The SQL text is shared: both drivers take $1 placeholders, times are unix
// milliseconds in integer columns and booleans scan the same way. What truly
// differs (opening, error codes, locking migrations) lives in
// dialect_sqlite.go and dialect_postgres.go, and each dialect has its own
// embedded migrations.
package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

var (
	_ gatehouse.Store      = (*DB)(nil)
	_ gatehouse.OAuthStore = (*DB)(nil)
)

// DB is an open Gatehouse database. It is safe for concurrent use.
type DB struct {
	dialect dialect
	// On SQLite, write is the one connection allowed to write, so writers
	// queue in Go instead of failing with SQLITE_BUSY, and read is a pool of
	// read-only connections that WAL lets run beside it. On PostgreSQL both
	// are the same pool.
	write *pool
	read  *pool
	// now is the clock of RememberAssertion, the one method whose contract
	// takes no time from its caller; nil means time.Now. Tests set it.
	now func() time.Time
}

func (db *DB) clock() time.Time {
	if db.now != nil {
		return db.now()
	}
	return time.Now()
}

// dialect is what differs between the two databases beyond opening them and
// reading their error codes.
type dialect struct {
	name string
	// lockMigrations runs first in every migration's transaction, so that
	// two nodes starting at once apply each migration exactly once. Empty
	// when beginning the transaction already locks.
	lockMigrations string
	// tableExists counts the tables named $1 in the current schema.
	tableExists string
}

// ErrNoDatabase is returned, wrapped, when the database named does not
// exist: a SQLite file that OpenExisting will not create, or a PostgreSQL
// database that the server does not have (PostgreSQL databases are never
// created here).
var ErrNoDatabase = errors.New("the database does not exist")

// Open opens and pings the database at databaseURL: "sqlite:PATH" (or
// "sqlite://PATH"), or "postgres://…" / "postgresql://…". A missing SQLite
// file is created readable and writable by its owner only (its -wal and -shm
// files take the same mode); its folder must exist, and is never created.
// The database is not migrated: call Migrate.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	return open(ctx, databaseURL, nil, true)
}

// OpenExisting is Open for a database that must already exist: a missing
// SQLite file is an error wrapping ErrNoDatabase, not a new empty file.
// Commands that only read or administer a database open it this way.
func OpenExisting(ctx context.Context, databaseURL string) (*DB, error) {
	return open(ctx, databaseURL, nil, false)
}

// OpenWrapped is Open with every connection made through wrap (when not
// nil). It exists for tests that put a fault-injecting driver between the
// store and the database; the server never wraps.
func OpenWrapped(ctx context.Context, databaseURL string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	return open(ctx, databaseURL, wrap, true)
}

func open(ctx context.Context, databaseURL string, wrap func(driver.Connector) driver.Connector, create bool) (*DB, error) {
	scheme, rest, ok := strings.Cut(databaseURL, ":")
	switch strings.ToLower(scheme) {
	case "sqlite":
		if ok {
			return openSQLite(ctx, strings.TrimPrefix(rest, "//"), wrap, create)
		}
	case "postgres", "postgresql":
		return openPostgres(ctx, databaseURL, wrap)
	}
	// Never echo the URL itself: it may carry a password.
	what := "a database URL without a scheme"
	if ok && scheme != "" && !strings.ContainsAny(scheme, "/\\@") {
		what = fmt.Sprintf("database URL scheme %q", scheme)
	}
	return nil, fmt.Errorf("sqlstore: unsupported %s: use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE", what)
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping: %w", err)
		}
	}
	return nil
}

// Close closes the database's connections.
func (db *DB) Close() error {
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// constraint is the kind of constraint a failed write broke, read from the
// driver's error code.
type constraint int

const (
	noConstraint constraint = iota
	uniqueViolation
	foreignKeyViolation
)

func violated(err error) constraint {
	if c := sqliteViolation(err); c != noConstraint {
		return c
	}
	return postgresViolation(err)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// optMillis and fromOptMillis are for times that may be "never": the zero
// time.Time is stored as 0 and 0 reads back as the zero time.Time.
func optMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromOptMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

// nullableBytes stores an empty byte slice as NULL, so that a nullable
// UNIQUE column holds any number of them.
func nullableBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// inTx runs f in a transaction on the writer and commits if f succeeds. f
// returns its errors ready for the caller; those of beginning and committing
// are wrapped with op.
func (db *DB) inTx(ctx context.Context, op string, f func(tx *txn) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer tx.Rollback()
	t := &txn{Tx: tx, pool: db.write}
	if err := f(t); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	t.prepareMissed(ctx)
	return nil
}

// nullable stores "" as NULL, for columns where "" means "none".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	return netip.ParseAddr(s)
}

func notFound(what string) error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, "%s not found.", what)
}
