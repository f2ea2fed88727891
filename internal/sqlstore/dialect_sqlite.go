package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var sqliteDialect = dialect{
	name: "sqlite",
	// The writer begins every transaction IMMEDIATE, which takes the
	// database's single write lock, so migrators in two processes already
	// take turns.
	lockMigrations: "",
	tableExists:    `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1`,
}

// Every connection waits up to 10 s for a lock rather than failing at once:
// a CLI command may write while the server runs.
const sqliteBusyTimeout = "_pragma=busy_timeout(10000)"

func openSQLite(ctx context.Context, path string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	switch {
	case path == "":
		return nil, errors.New("sqlstore: the SQLite database URL names no file: use sqlite:PATH")
	case path == ":memory:":
		// Each pooled connection would get a database of its own.
		return nil, errors.New("sqlstore: in-memory SQLite databases are not supported: use sqlite:PATH")
	case strings.Contains(path, "?"):
		// The driver would read what follows as its own options.
		return nil, fmt.Errorf("sqlstore: the SQLite path %q contains \"?\": options are not supported", path)
	}

	// IMMEDIATE takes the write lock when a transaction begins, not at its
	// first write, so a transaction that reads and then writes never fails
	// with SQLITE_BUSY halfway. WAL lets readers run beside the writer.
	// FULL syncs the WAL at every commit: NORMAL already survives a killed
	// process but may lose the last commits when the machine loses power.
	write, err := sqliteDB(wrap, path+"?_txlock=immediate&"+sqliteBusyTimeout+
		"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Ping the writer first: it creates the file and switches it to WAL
	// before any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}

	// query_only makes a write sent to a reader fail at once, instead of
	// competing with the writer for the lock.
	read, err := sqliteDB(wrap, path+"?"+sqliteBusyTimeout+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	return &DB{dialect: sqliteDialect, write: newPool(write, true), read: newPool(read, true)}, nil
}

// sqliteDB is sql.Open("sqlite", dsn) with the connector wrapped when wrap
// is not nil.
func sqliteDB(wrap func(driver.Connector) driver.Connector, dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		c = wrap(c)
	}
	return sql.OpenDB(c), nil
}

func sqliteViolation(err error) constraint {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return noConstraint
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return uniqueViolation
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return foreignKeyViolation
	}
	return noConstraint
}
