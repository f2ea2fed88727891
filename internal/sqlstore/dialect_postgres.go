package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

var postgresDialect = dialect{
	name: "postgres",
	// A transaction-scoped advisory lock is released by COMMIT or ROLLBACK,
	// so a node that dies mid-migration never leaves it held. The key is
	// "gatehous" in ASCII: any constant of our own would do.
	lockMigrations: `SELECT pg_advisory_xact_lock(7449363237540164979)`,
	tableExists:    `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`,
}

func openPostgres(ctx context.Context, databaseURL string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	// pgx redacts the password from its parse errors.
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: postgres: %w", err)
	}
	// Without a timeout a dead host holds a sign-in until the kernel gives
	// up on the TCP connection, minutes later; we would rather fail closed
	// fast.
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	c := stdlib.GetConnector(*cfg)
	if wrap != nil {
		c = wrap(c)
	}
	db := sql.OpenDB(c)
	// Every node has its own pool: stay well below PostgreSQL's default
	// max_connections (100) with a few nodes. Recycling connections lets a
	// failover or DNS change take effect.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "3D000" { // invalid_catalog_name
			return nil, fmt.Errorf("sqlstore: connect to postgres: database %q: %w", cfg.Database, ErrNoDatabase)
		}
		return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	p := newPool(db, false)
	return &DB{dialect: postgresDialect, write: p, read: p}, nil
}

func postgresViolation(err error) constraint {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return noConstraint
	}
	switch e.Code {
	case "23505": // unique_violation
		return uniqueViolation
	case "23503": // foreign_key_violation
		return foreignKeyViolation
	}
	return noConstraint
}
