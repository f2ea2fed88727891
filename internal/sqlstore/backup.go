package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrBackupExists is returned by BackupSQLite when the target exists and
// overwrite was not asked for.
var ErrBackupExists = errors.New("sqlstore: the backup file already exists")

// BackupSQLite writes a consistent copy of the SQLite database at src to
// dst while other processes (a serving node, the CLI) keep reading and
// writing it. The source is opened read-only and never created or
// migrated: a missing source is an error. The copy is made with VACUUM
// INTO, which reads the whole database in one read transaction (a snapshot:
// commits that land meanwhile are simply not in it) and writes a compacted
// file with no WAL beside it. It goes first to a new file next to dst,
// created readable by the owner only, then is checked (PRAGMA
// integrity_check) and only then moved to dst. Without overwrite an existing
// dst is refused, and the final step cannot replace a file that appeared in
// the meantime either.
//
// It returns the schema version held by the copy.
func BackupSQLite(ctx context.Context, src, dst string, overwrite bool) (int, error) {
	if err := checkSQLitePath(src); err != nil {
		return 0, err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("sqlstore: backup: %s is not a file", src)
	}
	if _, err := os.Lstat(dst); err == nil && !overwrite {
		return 0, ErrBackupExists
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	if same, err := samePath(src, dst); err != nil || same {
		if err == nil {
			err = errors.New("the backup file is the database itself")
		}
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}

	// An empty file of our own: VACUUM INTO accepts an existing empty file
	// and keeps its mode, so the copy is never readable by others, whatever
	// the umask.
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.partial")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	tmpPath := tmp.Name()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpPath)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}

	source, err := openReadOnly(src)
	if err != nil {
		return 0, err
	}
	defer source.Close()
	if err := sqliteHasSchema(ctx, source); err != nil {
		return 0, fmt.Errorf("sqlstore: backup %s: %w", src, err)
	}
	if _, err := source.ExecContext(ctx, `VACUUM INTO $1`, tmpPath); err != nil {
		return 0, fmt.Errorf("sqlstore: backup %s: %w", src, err)
	}
	if err := syncFile(tmpPath); err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	version, err := CheckSQLite(ctx, tmpPath)
	if err != nil {
		return 0, err
	}

	if overwrite {
		err = os.Rename(tmpPath, dst)
	} else {
		// A hard link fails when dst exists: no file that appeared
		// since the check above is ever replaced.
		if err = os.Link(tmpPath, dst); err == nil {
			os.Remove(tmpPath)
		} else if errors.Is(err, fs.ErrExist) {
			err = ErrBackupExists
		}
	}
	if err != nil {
		if errors.Is(err, ErrBackupExists) {
			return 0, err
		}
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	done = true
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return version, nil
}

// CheckSQLite opens the SQLite file at path read-only, runs PRAGMA
// integrity_check and returns the schema version it holds. It fails when
// the check reports anything but "ok" or the file holds no Gatehouse
// schema.
func CheckSQLite(ctx context.Context, path string) (int, error) {
	if err := checkSQLitePath(path); err != nil {
		return 0, err
	}
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("sqlstore: check: %w", err)
	}
	db, err := openReadOnly(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: check %s: %w", path, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore: check %s: %w", path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore: check %s: %w", path, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return 0, fmt.Errorf("sqlstore: check %s: integrity check failed: %s", path, strings.Join(problems, "; "))
	}
	if err := sqliteHasSchema(ctx, db); err != nil {
		return 0, fmt.Errorf("sqlstore: check %s: %w", path, err)
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: check %s: %w", path, err)
	}
	return v, nil
}

// sqliteHasSchema fails unless the database holds Gatehouse's migrations
// table: a backup of some other file (or of an empty one just created by
// mistake) is refused rather than written.
func sqliteHasSchema(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, sqliteDialect.tableExists, "schema_migrations").Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errors.New("not a Gatehouse database (no schema_migrations table)")
	}
	return nil
}

// openReadOnly opens a SQLite file that must exist, for reading only: mode=ro
// never creates the file, and query_only refuses any write.
func openReadOnly(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&" + sqliteBusyTimeout}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func checkSQLitePath(path string) error {
	switch {
	case path == "":
		return errors.New("sqlstore: no SQLite file named")
	case path == ":memory:" || strings.Contains(path, "?"):
		return fmt.Errorf("sqlstore: %q is not a SQLite file path", path)
	}
	return nil
}

// samePath reports whether a and b name the same file (dst may not exist).
func samePath(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
