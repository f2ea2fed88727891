// Package testdb gives tests real databases: a migrated SQLite file of
// their own, or a fresh PostgreSQL schema on the server named by
// GATEHOUSE_TEST_POSTGRES_URL, dropped when the test ends, so runs never see
// each other's rows and may share one database. It is imported by tests
// only.
package testdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
	"github.com/gatehousehq/gatehouse/internal/testdb/pgschema"
)

// EnvVar names the server the PostgreSQL tests use.
const EnvVar = pgschema.EnvVar

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

// PostgresURL returns the URL of a new empty schema, dropped when the test
// ends, or skips the test when EnvVar is unset; see pgschema.URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return pgschema.URL(t)
}
