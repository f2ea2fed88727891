// Package pgschema gives a test a fresh PostgreSQL schema of its own on the
// server named by GATEHOUSE_TEST_POSTGRES_URL, dropped when the test ends,
// so runs never see each other's rows and may share one database.
//
// It is apart from package testdb because it must not import sqlstore:
// sqlstore's own tests use it, and testdb imports sqlstore. It is imported
// by tests only.
package pgschema

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvVar names the server the PostgreSQL tests use.
const EnvVar = "GATEHOUSE_TEST_POSTGRES_URL"

// Base returns the server URL from EnvVar, or skips the test with a message
// saying what to set when it is unset. A suite calls it once before its
// subtests so that an unset variable is one skip, not one per subtest.
func Base(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip("set " + EnvVar + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return base
}

// URL returns the URL of a new empty schema, dropped when the test ends, or
// skips the test as Base does. When EnvVar is set, any failure is fatal: CI
// must never skip these tests quietly.
func URL(t testing.TB) string {
	t.Helper()
	base := Base(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
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
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String()
}
