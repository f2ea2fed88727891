//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesGatehouseWritesAreOwnerOnly: with no umask at all (the worst
// case), the SQLite files that migrate and serve create and the key file
// that dev mode generates, and backups, are 0600: they hold password hashes, sessions and
// the secret that signs them.
func TestFilesGatehouseWritesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	te := newTestEnv(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	te.vars["GATEHOUSE_DATABASE_URL"] = "sqlite:" + db
	delete(te.vars, "GATEHOUSE_SECRET_KEY_FILE")
	te.mustCLI("", "migrate")
	te.serve("--dev")
	backup := filepath.Join(dir, "backup.db")
	te.mustCLI("", "backup", "--to", backup)
	for _, f := range []string{db, db + "-wal", db + "-shm", filepath.Join(dir, "gatehouse.key"), backup} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(f), got)
		}
	}
}
