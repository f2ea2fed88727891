package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// TestCheckSQLiteFindsDamage: the check the restore drill relies on fails on
// a damaged file, so a passing check means something.
func TestCheckSQLiteFindsDamage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "gatehouse.db")
	db, err := sqlstore.Open(ctx, "sqlite:"+src)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "copy.db")
	got, err := sqlstore.BackupSQLite(ctx, src, dst, false)
	db.Close()
	if err != nil || got != want {
		t.Fatalf("BackupSQLite = %d, %v; want version %d", got, err, want)
	}
	if _, err := sqlstore.BackupSQLite(ctx, src, dst, false); !errors.Is(err, sqlstore.ErrBackupExists) {
		t.Errorf("a second backup to the same file: %v, want ErrBackupExists", err)
	}
	if v, err := sqlstore.CheckSQLite(ctx, dst); err != nil || v != want {
		t.Fatalf("CheckSQLite of a good copy = %d, %v", v, err)
	}

	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if len(b) < 3*page {
		t.Fatalf("copy is only %d bytes", len(b))
	}
	// Scribble over the b-tree header of the second and third pages.
	for i := page; i < page+64; i++ {
		b[i], b[i+page] = 0xA5, 0x5A
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.CheckSQLite(ctx, dst); err == nil {
		t.Error("CheckSQLite passed a damaged file")
	}
}
