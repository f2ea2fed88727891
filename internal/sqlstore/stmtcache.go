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
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stmts[query]; ok {
		return s
	}
	if len(p.stmts) >= maxCachedStatements {
		return nil
	}
	s, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
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
