//go:build unix

package sqlstore

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSQLiteFilesAreOwnerOnly: the database and its -wal and -shm files
// are created 0600 whatever the umask (here none at all, the worst case),
// because they hold password hashes and sessions.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
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

// TestSQLiteMissingFolderIsAnError: Open never creates a folder.
func TestSQLiteMissingFolderIsAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such")
	db, err := Open(t.Context(), "sqlite:"+filepath.Join(dir, "g.db"))
	if err == nil {
		db.Close()
		t.Fatal("Open made a database in a folder that does not exist")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open made the folder %s (stat: %v)", dir, err)
	}
}
