package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// cmdBackup writes a consistent copy of a SQLite database while the server
// keeps running. It only reads the database: it never creates or migrates
// one. PostgreSQL has its own tools, which it names.
func cmdBackup(ctx context.Context, e *env, args []string) error {
	var c Config
	var to string
	var force bool
	fs := newFlagSet(e, "backup", "backup --to FILE [--force] [--database-url sqlite:PATH]")
	fs.StringVar(&to, "to", "", "file to write the backup to (created readable by its owner only)")
	fs.BoolVar(&force, "force", false, "replace the file named by --to when it exists")
	if err := parse(fs, &c, dataSettings, args, e); err != nil {
		return err
	}
	path, ok := sqlitePath(c.DatabaseURL)
	if !ok {
		if isPostgresURL(c.DatabaseURL) {
			return usageError("backup copies SQLite databases only; for PostgreSQL use its own tools: pg_dump -Fc -f gatehouse.dump DATABASE, restored with pg_restore (see docs/operations.md)")
		}
		return usageError("--database-url %q: use sqlite:PATH", redactURL(c.DatabaseURL))
	}
	if to == "" {
		return usageError("backup needs --to FILE")
	}
	if _, err := os.Stat(path); err != nil {
		return usageError("--database-url: no database at %s: %v", path, errors.Unwrap(err))
	}
	v, err := sqlstore.BackupSQLite(ctx, path, to, force)
	if errors.Is(err, sqlstore.ErrBackupExists) {
		return usageError("%s already exists: choose another --to or add --force to replace it", to)
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(to)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s (%d bytes, schema version %d, integrity ok)\n", path, to, fi.Size(), v)
	return nil
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}
