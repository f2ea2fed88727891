package testdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// ErrInjected is the error a Faults driver returns for the call it fails.
var ErrInjected = errors.New("testdb: injected database fault")

// Faults counts the calls a store makes to its database (each statement
// run, each transaction begun and each commit) and fails the Nth, as a
// database that drops out mid-request would. Counting starts at Arm.
type Faults struct {
	mu     sync.Mutex
	failAt int // 0: fail nothing
	n      int
	failed bool
	last   string
}

// Arm starts counting again from zero and fails call number failAt (from
// 1); 0 only counts.
func (f *Faults) Arm(failAt int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.n, f.failed, f.last = failAt, 0, false, ""
}

// Calls returns how many calls were made since Arm.
func (f *Faults) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// Failed reports whether the armed call was reached (and failed), and what
// it was.
func (f *Faults) Failed() (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed, f.last
}

func (f *Faults) hit(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n == f.failAt {
		f.failed = true
		f.last = strings.Join(strings.Fields(what), " ")
		return fmt.Errorf("%w (call %d: %s)", ErrInjected, f.n, what)
	}
	return nil
}

// FaultySQLite returns a migrated SQLite store whose database calls go
// through f, and f, disarmed. Migration runs before f counts anything.
func FaultySQLite(t testing.TB) (*sqlstore.DB, *Faults) {
	t.Helper()
	f := &Faults{}
	ctx := context.Background()
	db, err := sqlstore.OpenWrapped(ctx, "sqlite:"+filepath.Join(t.TempDir(), "gatehouse.db"),
		func(c driver.Connector) driver.Connector { return faultConnector{c, f} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f.Arm(0)
	return db, f
}

type faultConnector struct {
	driver.Connector
	f *Faults
}

func (c faultConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &faultConn{conn: conn, f: c.f}, nil
}

// faultConn passes every call through to the real connection, counting the
// ones that do work. It needs the real connection to support the context
// forms (both drivers here do).
type faultConn struct {
	conn driver.Conn
	f    *Faults
}

func (c *faultConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *faultConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	// Preparing is not counted: the store prepares a statement once per
	// connection and keeps it, so whether a call prepares depends on which
	// connection it got. Every run of the statement counts instead.
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &faultStmt{stmt: st, query: query, f: c.f}, nil
}

// faultStmt counts every run of a prepared statement like a call of its
// own: the store keeps its statements prepared, so most work goes through
// here.
type faultStmt struct {
	stmt  driver.Stmt
	query string
	f     *Faults
}

func (s *faultStmt) Close() error  { return s.stmt.Close() }
func (s *faultStmt) NumInput() int { return s.stmt.NumInput() }

func (s *faultStmt) Exec(args []driver.Value) (driver.Result, error) {
	return nil, errors.New("testdb: faultStmt.Exec without a context")
}

func (s *faultStmt) Query(args []driver.Value) (driver.Rows, error) {
	return nil, errors.New("testdb: faultStmt.Query without a context")
}

func (s *faultStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.f.hit(s.query); err != nil {
		return nil, err
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *faultStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.f.hit(s.query); err != nil {
		return nil, err
	}
	return s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *faultConn) Close() error { return c.conn.Close() }

func (c *faultConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.f.hit("begin"); err != nil {
		return nil, err
	}
	tx, err := c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &faultTx{tx: tx, f: c.f}, nil
}

func (c *faultConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.f.hit(query); err != nil {
		return nil, err
	}
	return c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *faultConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.f.hit(query); err != nil {
		return nil, err
	}
	return c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *faultConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *faultConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *faultConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *faultConn) CheckNamedValue(v *driver.NamedValue) error {
	if ch, ok := c.conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// faultTx fails a commit by rolling back instead, so a failed commit saves
// nothing, as a real one would.
type faultTx struct {
	tx driver.Tx
	f  *Faults
}

func (t *faultTx) Commit() error {
	if err := t.f.hit("commit"); err != nil {
		t.tx.Rollback()
		return err
	}
	return t.tx.Commit()
}

func (t *faultTx) Rollback() error { return t.tx.Rollback() }
