package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStatements bounds a pool's statement cache: the store's query
// texts are constants, so the bound is only a guard against a text built
// per call.
const maxCachedStatements = 256

// pool is a *sql.DB whose queries outside transactions run as prepared
// statements kept for the pool's lifetime. SQLite's driver parses a query
// anew at every call otherwise, which was a good part of a session check's
// cost; database/sql prepares a kept statement once per connection.
// PostgreSQL's driver caches its statements itself, so there the cache is
// off (stmts nil).
type pool struct {
	*sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newPool(db *sql.DB, cache bool) *pool {
	p := &pool{DB: db}
	if cache {
		p.stmts = map[string]*sql.Stmt{}
	}
	return p
}

// stmt returns the kept statement of query, preparing it at first use; nil
// when the cache is off or full, or the query does not prepare (the plain
// call then reports why).
func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	if p.stmts == nil {
		return nil
	}
	p.mu.RLock()
	s, ok := p.stmts[query]
	p.mu.RUnlock()
	if ok {
		return s
	}
	// Prepared without the lock held: preparing waits for a connection,
	// which a transaction may hold while it looks a statement up.
	s, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if kept, ok := p.stmts[query]; ok {
		s.Close() // prepared meanwhile by another caller
		return kept
	}
	if len(p.stmts) >= maxCachedStatements {
		s.Close()
		return nil
	}
	p.stmts[query] = s
	return s
}

func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// Close closes the kept statements, then the pool.
func (p *pool) Close() error {
	p.mu.Lock()
	var err error
	for q, s := range p.stmts {
		err = errors.Join(err, s.Close())
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return errors.Join(err, p.DB.Close())
}

// txn is a transaction of a pool whose statements are the pool's kept
// ones, bound to the transaction: a transaction's queries are not parsed
// anew at every call either. A query not kept yet runs plainly and is
// prepared once the transaction is over: preparing needs a connection,
// and the writer's one is the transaction's.
type txn struct {
	*sql.Tx
	pool   *pool
	missed []string
}

// kept is the pool's statement of query bound to the transaction, or nil
// (noted, to be prepared after).
func (t *txn) kept(ctx context.Context, query string) *sql.Stmt {
	if t.pool.stmts == nil {
		return nil
	}
	t.pool.mu.RLock()
	s, ok := t.pool.stmts[query]
	t.pool.mu.RUnlock()
	if !ok {
		t.missed = append(t.missed, query)
		return nil
	}
	return t.Tx.StmtContext(ctx, s)
}

// prepareMissed keeps the statements the transaction ran plainly.
func (t *txn) prepareMissed(ctx context.Context) {
	for _, q := range t.missed {
		t.pool.stmt(ctx, q)
	}
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.kept(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.kept(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.kept(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}
