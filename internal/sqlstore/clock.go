package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// DatabaseTime reads the database server's clock: PostgreSQL's
// clock_timestamp() (the time at the moment of the call, not the start of
// the transaction), to the microsecond. On SQLite the database runs in this
// process, so it is this machine's clock. Nodes sharing a PostgreSQL
// database measure their offset from it (internal/dbclock) so that they
// agree on every expiry.
func (db *DB) DatabaseTime(ctx context.Context) (time.Time, error) {
	q := `SELECT CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)`
	if db.dialect.name == "postgres" {
		q = `SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`
	}
	var micros int64
	if err := db.read.QueryRowContext(ctx, q).Scan(&micros); err != nil {
		return time.Time{}, fmt.Errorf("sqlstore: database time: %w", err)
	}
	return time.UnixMicro(micros), nil
}

// SetClock sets the clock of the few store methods that take no time from
// their caller (RememberAssertion); nil means time.Now. Call it before the
// store is used: it is not safe to change while others use the store.
func (db *DB) SetClock(now func() time.Time) {
	db.now = now
}
