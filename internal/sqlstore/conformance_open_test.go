package sqlstore

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenExisting holds Open and OpenExisting to their contract on both databases:
// a database that does not exist is ErrNoDatabase for OpenExisting and is
// never made by it, and LatestSchemaVersion is where Migrate stops.
func TestOpenExisting(t *testing.T) {
	forEachDB(t, func(t *testing.T, d engine) {
		t.Run("OpenExisting refuses a database that does not exist, and makes none", func(t *testing.T) {
			missing := missingDatabase(t, d.url(t))
			db, err := OpenExisting(t.Context(), missing)
			if err == nil {
				db.Close()
				t.Fatal("OpenExisting opened a database that does not exist")
			}
			if !errors.Is(err, ErrNoDatabase) {
				t.Errorf("OpenExisting: %v, want ErrNoDatabase", err)
			}
			if path, ok := strings.CutPrefix(missing, "sqlite:"); ok {
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("OpenExisting left a file at %s (stat: %v)", path, err)
				}
			}
		})

		t.Run("OpenExisting opens a database that exists, at the version Migrate left", func(t *testing.T) {
			u := d.url(t)
			db := d.open(t, u)
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			again, err := OpenExisting(t.Context(), u)
			if err != nil {
				t.Fatalf("OpenExisting: %v", err)
			}
			defer again.Close()
			v, err := again.SchemaVersion(t.Context())
			if want := again.LatestSchemaVersion(); err != nil || v != want || want != latest(t, again.Dialect()) {
				t.Errorf("SchemaVersion() = %d, %v; LatestSchemaVersion() = %d; want both %d", v, err, want, latest(t, again.Dialect()))
			}
		})

		t.Run("a fresh database is behind LatestSchemaVersion until migrated", func(t *testing.T) {
			db := d.open(t, d.url(t))
			if v, _ := db.SchemaVersion(t.Context()); v >= db.LatestSchemaVersion() {
				t.Errorf("fresh: SchemaVersion() = %d, LatestSchemaVersion() = %d; want behind", v, db.LatestSchemaVersion())
			}
		})
	})
}

// missingDatabase returns a URL like u naming a database that does not
// exist: a file in a new folder, or a PostgreSQL database name nobody made.
func missingDatabase(t *testing.T, u string) string {
	t.Helper()
	if strings.HasPrefix(u, "sqlite:") {
		return "sqlite:" + filepath.Join(t.TempDir(), "absent.db")
	}
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Path = "/gatehouse_absent_database"
	return p.String()
}
