package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/jifen/jifen/internal/failure"
)

// A replica is a PostgreSQL streaming standby that takes the reads which
// may be a moment behind: lists, reports and segment sizing. Balances and
// every check made before a write stay on the primary (DB.Read and the
// write transaction); only DB.Replica goes here.
//
// A watcher pings the standby every second and measures how far its replay
// trails the primary's WAL. While the standby does not answer, or is not a
// standby at all, DB.Replica hands out the primary instead, so losing the
// replica costs capacity, never availability. A query that fails because
// the standby went away marks it down at once.
type replica struct {
	pool     *sql.DB
	url      string
	up       atomic.Bool
	lagBytes atomic.Int64
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}
}

// replicaCheckEvery is how often the watcher looks at the standby.
const replicaCheckEvery = time.Second

func openReplica(ctx context.Context, dsn string, conns int, primary *sql.DB, log *slog.Logger) (*replica, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return nil, fmt.Errorf("open replica: %q: want postgres://…", Redact(dsn))
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open replica: %w", err)
	}
	p := stdlib.OpenDB(*cfg)
	p.SetMaxOpenConns(conns)
	p.SetMaxIdleConns(conns)
	p.SetConnMaxIdleTime(5 * time.Minute)
	r := &replica{pool: p, url: Redact(dsn), log: log, stop: make(chan struct{}), done: make(chan struct{})}
	// A replica that is down at start is not fatal: the watcher brings it
	// in when it answers.
	r.check(ctx, primary)
	go r.watch(primary)
	return r, nil
}

func (r *replica) watch(primary *sql.DB) {
	defer close(r.done)
	t := time.NewTicker(replicaCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), replicaCheckEvery)
			r.check(ctx, primary)
			cancel()
		}
	}
}

// check asks the standby whether it is in recovery and how much WAL it has
// replayed, and the primary how much it has written.
func (r *replica) check(ctx context.Context, primary *sql.DB) {
	var standby bool
	var replayed sql.NullString
	err := r.pool.QueryRowContext(ctx, `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text`).Scan(&standby, &replayed)
	switch {
	case err != nil:
		r.setUp(false, "the replica does not answer: "+err.Error())
		return
	case !standby:
		r.setUp(false, "the replica is not a standby (pg_is_in_recovery is false); reads stay on the primary")
		return
	}
	var written string
	if err := primary.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&written); err == nil && replayed.Valid {
		w, err1 := parseLSN(written)
		p, err2 := parseLSN(replayed.String)
		if err1 == nil && err2 == nil {
			lag := int64(0)
			if w > p {
				lag = int64(w - p)
			}
			r.lagBytes.Store(lag)
		}
	}
	r.setUp(true, "")
}

func (r *replica) setUp(up bool, why string) {
	if r.up.Swap(up) != up {
		if up {
			r.log.Info("replica up", "db", r.url)
		} else {
			r.log.Warn("replica down; lists read from the primary", "db", r.url, "reason", why)
		}
	}
}

// failed marks the replica down when err says it cannot be reached.
func (r *replica) failed(err error) {
	if failure.Is(err, failure.Unavailable) {
		r.setUp(false, err.Error())
	}
}

func (r *replica) close() error {
	close(r.stop)
	<-r.done
	return r.pool.Close()
}

// parseLSN reads PostgreSQL's "hi/lo" hexadecimal WAL position.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("lsn %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, err
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, err
	}
	return h<<32 | l, nil
}

// Replica returns a connection for reads that may trail the primary by
// the replica's lag: lists, reports, segment sizing. Without a replica, or
// while it is down, it is the primary's read pool. Never use it for a
// read that a write depends on.
func (db *DB) Replica() *Conn {
	if r := db.replica; r != nil && r.up.Load() {
		return &Conn{q: r.pool, d: db.d, failed: r.failed, keys: db.keys}
	}
	return db.Read()
}

// ReplicaStatus reports whether a replica is configured, whether it is in
// use, and how many bytes of WAL it had yet to replay at the last check.
func (db *DB) ReplicaStatus() (configured, up bool, lagBytes int64) {
	if db.replica == nil {
		return false, false, 0
	}
	return true, db.replica.up.Load(), db.replica.lagBytes.Load()
}

// ReplicaSQL is the replica's pool for the metrics collector, or nil.
func (db *DB) ReplicaSQL() *sql.DB {
	if db.replica == nil {
		return nil
	}
	return db.replica.pool
}
