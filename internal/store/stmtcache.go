package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements by query text. It is bounded: past
// maxStmts distinct queries (lists with many IN values make new ones) it
// stops caching and the query is prepared per use as before.
//
// SQLite's writer pool has one connection, which a transaction holds; a
// statement cannot be prepared on the pool then. A miss inside a
// transaction is therefore noted, and the writer prepares the noted
// statements (warm) between transactions, when the connection is free.
type stmtCache struct {
	db      *sql.DB
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

const maxStmts = 512

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt), pending: make(map[string]bool)}
}

// get returns the prepared statement for q, or nil. inTx says the caller
// holds a connection of the pool: then a miss is only noted for warm.
func (c *stmtCache) get(ctx context.Context, q string, inTx bool) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[q]
	n := len(c.m)
	c.mu.RUnlock()
	if ok || n >= maxStmts {
		return st
	}
	if inTx {
		c.mu.Lock()
		if len(c.pending) < maxStmts {
			c.pending[q] = true
		}
		c.mu.Unlock()
		return nil
	}
	return c.prepare(ctx, q)
}

// warm prepares the statements that missed inside transactions.
func (c *stmtCache) warm(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	qs := make([]string, 0, len(c.pending))
	for q := range c.pending {
		qs = append(qs, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range qs {
		c.prepare(ctx, q)
	}
}

func (c *stmtCache) prepare(ctx context.Context, q string) *sql.Stmt {
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared path reports the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[q]; ok {
		st.Close()
		return old
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	clear(c.m)
}
