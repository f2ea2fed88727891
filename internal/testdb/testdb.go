// Package testdb gives tests real databases: a migrated SQLite file of
// their own, or a fresh PostgreSQL schema on the server named by
// GATEHOUSE_TEST_POSTGRES_URL, dropped when the test ends, so runs never see
// each other's rows and may share one database. It is imported by tests
// only.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// EnvVar names the server the PostgreSQL tests use.
const EnvVar = "GATEHOUSE_TEST_POSTGRES_URL"

// SQLite returns a migrated store in a new file, closed when the test ends.
func SQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// PostgresURL returns the URL of a new empty schema, or skips the test with a
// message saying what to set when EnvVar is unset. When it is set, any
// failure is fatal: CI must never skip these tests quietly.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip("set " + EnvVar + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s is set but: %v", EnvVar, err)
	}
	defer db.Close()
	schema := "gh_" + strings.ToLower(rand.Text()) // letters and digits: safe unquoted
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("%s is set but creating a schema failed: %v", EnvVar, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String()
}
