// Package store is the one place that speaks SQL. It opens SQLite (the
// embedded default, pure Go) or PostgreSQL (pgx), applies the embedded
// migrations, and runs every write through a group-committing Writer.
// Domain packages call its typed methods; they never see SQL text.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/jifen/jifen/internal/seal"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers "pgx"
	_ "modernc.org/sqlite"           // registers "sqlite"
)

// Options tune a store. The zero value is a sound default.
type Options struct {
	// Lanes is the number of concurrent write transactions on PostgreSQL
	// (SQLite always has one writer). Default 4.
	Lanes int
	// MaxBatch caps how many operations one write transaction carries.
	// Default 64; 1 turns group commit off.
	MaxBatch int
	// ReadConns is the size of the read pool. Default 4 on SQLite (each
	// keeps a 16 MiB page cache), 8 on PostgreSQL.
	ReadConns int
	// Replica is the DSN of a PostgreSQL streaming standby for reads that
	// may lag (DB.Replica); empty: none.
	Replica string
	Logger  *slog.Logger
	// Keys seal personal values at rest (JIFEN_DATA_KEY); nil: stored
	// as they are.
	Keys *seal.Keyring
}

// DB is an open store.
type DB struct {
	d      *dialect
	read   *sql.DB // SQLite: a read-only pool; PostgreSQL: the one pool
	write  *sql.DB // SQLite: one connection; PostgreSQL: the same pool
	writer *Writer
	log    *slog.Logger

	replica *replica // nil without --db-replica

	readStmts, writeStmts *stmtCache // SQLite only
	url                   string     // DSN with any password removed, for logs
	signals               signals    // what committed transactions tell (signal.go)
	keys                  *seal.Keyring
}

// Open connects to dsn: "sqlite:<path>" or "postgres://…". It does not
// migrate; call Migrate.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if opt.Lanes <= 0 {
		opt.Lanes = 4
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 64
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = 8
		if strings.HasPrefix(dsn, "sqlite:") {
			opt.ReadConns = 4
		}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		db, err = openSQLite(strings.TrimPrefix(dsn, "sqlite:"), opt)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(dsn, opt)
	default:
		return nil, fmt.Errorf("open: database %q: want sqlite:<path> or postgres://…", Redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	db.log = opt.Logger
	db.url = Redact(dsn)
	db.keys = opt.Keys
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", db.url, err)
	}
	lanes := opt.Lanes
	if !db.d.postgres {
		lanes = 1
	}
	if !db.d.postgres {
		db.readStmts, db.writeStmts = newStmtCache(db.read), newStmtCache(db.write)
	}
	if opt.Replica != "" {
		if !db.d.postgres {
			db.Close()
			return nil, errors.New("open: a replica needs the primary on PostgreSQL")
		}
		if db.replica, err = openReplica(ctx, opt.Replica, opt.ReadConns, db.read, opt.Logger); err != nil {
			db.Close()
			return nil, err
		}
	}
	db.writer = newWriter(db.write, db.d, db.writeStmts, lanes, opt.MaxBatch, opt.Logger)
	db.writer.signals = &db.signals
	db.writer.keys = db.keys
	return db, nil
}

// SQLite keeps one writer connection and a pool of readers. WAL lets the
// readers go on while the writer writes; BEGIN IMMEDIATE takes the write
// lock at the start, so a write transaction never fails half-way with
// "database is locked"; busy_timeout covers another process (jifen verify)
// holding the lock for a moment. synchronous(FULL) makes every commit
// durable across power loss; group commit pays that fsync once per batch.
// secure_delete(ON) overwrites deleted and rewritten row content with
// zeros instead of leaving it in free pages: an erased member's phone or
// name must not survive in the file (right to erasure). Old page images
// still sit in the WAL until a checkpoint copies the new ones back.
func openSQLite(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("open: sqlite: empty path")
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_pragma=secure_delete(ON)"
	// Each connection keeps a page cache of its own: the writer 32 MiB,
	// each reader 16 MiB, so hot member rows are read without a syscall.
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=cache_size(-32768)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)&_pragma=cache_size(-16384)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	r.SetConnMaxIdleTime(0)
	return &DB{d: &dialect{}, read: r, write: w}, nil
}

func openPostgres(dsn string, opt Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// A batch holds its operations' row locks until it commits; a lock that
	// does not come within a few seconds fails the operation, which the
	// writer then runs again alone, instead of stalling a lane.
	if _, ok := cfg.RuntimeParams["lock_timeout"]; !ok {
		cfg.RuntimeParams["lock_timeout"] = "5s"
	}
	p := stdlib.OpenDB(*cfg)
	p.SetMaxOpenConns(opt.ReadConns + opt.Lanes + 2)
	p.SetMaxIdleConns(opt.ReadConns + opt.Lanes + 2)
	p.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{d: &dialect{postgres: true}, read: p, write: p}, nil
}

// Close stops the writer after the operations already queued and closes
// the connections.
func (db *DB) Close() error {
	if db.writer != nil {
		db.writer.close()
	}
	db.readStmts.close()
	db.writeStmts.close()
	err := db.read.Close()
	if db.replica != nil {
		err = errors.Join(err, db.replica.close())
	}
	if db.write != db.read {
		err = errors.Join(err, db.write.Close())
	}
	return err
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name() }

// URL is the DSN the store was opened with, password removed.
func (db *DB) URL() string { return db.url }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := db.read.PingContext(ctx); err != nil {
		return classify(err)
	}
	return nil
}

// Stats reports the pools' statistics for metrics.
func (db *DB) Stats() (read, write sql.DBStats) { return db.read.Stats(), db.write.Stats() }

// SQL exposes the pools for the Prometheus collectors and for tests that
// inspect tables directly. Domain code never uses it.
func (db *DB) SQL() (read, write *sql.DB) { return db.read, db.write }

// Read returns a connection for reads outside a write transaction.
func (db *DB) Read() *Conn { return &Conn{q: db.read, d: db.d, stmts: db.readStmts, keys: db.keys} }

// Write runs op in a write transaction, possibly together with other
// operations (group commit). op runs in a savepoint of its own: when it
// returns an error, its writes are undone and the others go on. key
// (usually a member ID) picks the lane on PostgreSQL, so operations on one
// member queue behind each other rather than contend for its row lock.
func (db *DB) Write(ctx context.Context, key string, op Op) error {
	return db.writer.do(ctx, key, op)
}

// WriterStatements is how many SQL statements the writer's transactions
// have run (savepoints and commits not included).
func (db *DB) WriterStatements() uint64 { return db.writer.nStmts.Load() }

// WriterReruns counts the batches the writer ran again with savepoints,
// after an operation failed in one without (writer.go, guard).
func (db *DB) WriterReruns() uint64 { return db.writer.nReruns.Load() }

// WriterStats returns how many batches and operations the writer has
// committed, for metrics and benchmarks.
func (db *DB) WriterStats() (batches, ops uint64) { return db.writer.stats() }

// Redact removes a password from a DSN.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Conn runs queries on a pool or inside a transaction.
type Conn struct {
	q     querier
	d     *dialect
	tx    *sql.Tx    // set inside a transaction
	stmts *stmtCache // SQLite: prepared statements, reused
	// failed, when set, hears of every error (the replica uses it to
	// notice at once that it went away).
	failed func(error)
	keys   *seal.Keyring // seals and opens personal values (seal.go)
	// count, set on the writer's transactions, counts the statements they
	// run (DB.WriterStats): the serialized section's cost, in a number
	// that does not drift with the machine's load.
	count *atomic.Uint64
	// pend, set on the writer's transactions, holds the rows that wait
	// for the commit (deferred.go).
	pend *deferred
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stmt returns the prepared statement for q when this connection caches
// them, else nil. modernc's SQLite parses a statement each time it runs one
// that is not prepared, and parsing was a quarter of a ledger write's cost;
// pgx keeps its own per-connection cache, so PostgreSQL needs none here.
func (c *Conn) stmt(ctx context.Context, q string) *sql.Stmt {
	if c.stmts == nil {
		return nil
	}
	st := c.stmts.get(ctx, q, c.tx != nil)
	if st == nil || c.tx == nil {
		return st
	}
	return c.tx.StmtContext(ctx, st)
}

func (c *Conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := c.barrier(ctx, q); err != nil {
		return nil, err
	}
	if c.count != nil {
		c.count.Add(1)
	}
	q = c.d.render(q)
	if st := c.stmt(ctx, q); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, classify(err)
	}
	res, err := c.q.ExecContext(ctx, q, args...)
	return res, classify(err)
}

func (c *Conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := c.barrier(ctx, q); err != nil {
		return nil, err
	}
	if c.count != nil {
		c.count.Add(1)
	}
	q = c.d.render(q)
	if st := c.stmt(ctx, q); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, classify(err)
	}
	rows, err := c.q.QueryContext(ctx, q, args...)
	err = classify(err)
	if c.failed != nil {
		c.failed(err)
	}
	return rows, err
}

func (c *Conn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	// A barrier that fails fails the running operation (deferred.err):
	// a Row cannot carry the error itself.
	_ = c.barrier(ctx, q)
	if c.count != nil {
		c.count.Add(1)
	}
	q = c.d.render(q)
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, q, args...)
}

// Postgres reports whether the connection speaks PostgreSQL.
func (c *Conn) Postgres() bool { return c.d.postgres }

// Tx is a write transaction. Exported methods on Conn read; those on Tx
// also write.
type Tx struct {
	Conn
	tx    *sql.Tx
	after []func()
	sig   *signals
	shard int // the writer lane (numbered per node) that runs it: its rollup rows (rollup.go)
}

// After registers fn to run once the transaction has committed (cache
// invalidation, notifications). It does not run when the operation that
// registered it fails.
func (tx *Tx) After(fn func()) { tx.after = append(tx.after, fn) }

// affected returns the row count of res, for conditional updates.
func affected(res sql.Result) int64 {
	n, err := res.RowsAffected()
	if err != nil {
		return 0
	}
	return n
}
