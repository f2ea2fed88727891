package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

func openSQLite(ctx context.Context, path string, wrap func(driver.Connector) driver.Connector, create bool) (*DB, error) {
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

	if err := prepareSQLiteFile(path, create); err != nil {
		return nil, err
	}

	// IMMEDIATE takes the write lock when a transaction begins, not at its
	// first write, so a transaction that reads and then writes never fails
	// with SQLITE_BUSY halfway. WAL lets readers run beside the writer.
	// FULL syncs the WAL at every commit: NORMAL already survives a killed
	// process but may lose the last commits when the machine loses power.
	write, err := sqliteDB(wrap, path+"?_txlock=immediate&"+sqliteBusyTimeout+
		"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
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

// prepareSQLiteFile makes sure the database file exists before the driver
// opens it. The driver would create a missing file with the umask's mode
// (often readable by everyone) and a missing folder is its own error; we
// create the file ourselves, empty (an empty file is an empty database),
// with mode 0600 set explicitly whatever the umask. SQLite gives the -wal and
// -shm files the mode of the database file, so they are 0600 too. Without
// create, a missing file is ErrNoDatabase.
func prepareSQLiteFile(path string, create bool) error {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlstore: open %s: %w", path, err)
	case !create:
		return fmt.Errorf("sqlstore: open %s: %w", path, ErrNoDatabase)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("sqlstore: open %s: the folder %s does not exist (it is not created for you): %w", path, dir, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("sqlstore: open %s: %s is not a folder", path, dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // another process created it first
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("sqlstore: create %s: %w", path, err)
	}
	return f.Close()
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
