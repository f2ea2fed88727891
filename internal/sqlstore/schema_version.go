package sqlstore

import "fmt"

// LatestSchemaVersion returns the number of the highest migration embedded
// in this binary: the schema version Migrate brings a database to. Both
// dialects have the same numbers; a difference is an error.
func LatestSchemaVersion() (int, error) {
	sqlite, err := loadMigrations(sqliteDialect.name)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: latest schema version: %w", err)
	}
	postgres, err := loadMigrations(postgresDialect.name)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: latest schema version: %w", err)
	}
	if len(sqlite) != len(postgres) {
		return 0, fmt.Errorf("sqlstore: latest schema version: %d migrations for SQLite, %d for PostgreSQL", len(sqlite), len(postgres))
	}
	return len(sqlite), nil
}
