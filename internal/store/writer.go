package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/jifen/jifen/internal/seal"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// Op is one operation that runs inside a write transaction. It must do all
// its reads and writes through tx, and it must not keep tx.
type Op func(ctx context.Context, tx *Tx) error

// Writer runs write operations with group commit: each lane takes every
// operation queued at that moment (up to maxBatch), runs them one after
// another in one database transaction, each in a savepoint of its own, and
// commits once. An operation that fails is rolled back to its savepoint and
// fails alone; the others commit. Nothing is acknowledged before the commit
// that holds it. The lever is fewer commits: one fsync (SQLite) or one WAL
// flush (PostgreSQL) serves the whole batch.
type Writer struct {
	db       *sql.DB
	d        *dialect
	stmts    *stmtCache
	keys     *seal.Keyring
	lanes    []chan *writeReq
	maxBatch int
	log      *slog.Logger
	seed     maphash.Seed
	// shards number this node's lanes for the rows that transactions of
	// every member add to (report_rollups, activity_days): a random base
	// per node, so that lanes of different nodes rarely share a row and
	// never wait on each other's lock for it.
	shards  int
	wg      sync.WaitGroup
	closing sync.Once
	mu      sync.RWMutex // held for reading while submitting; closed under write
	closed  bool

	signals *signals

	nBatches atomic.Uint64
	nOps     atomic.Uint64
	nStmts   atomic.Uint64
	nReruns  atomic.Uint64 // batches run again with savepoints (guard)
}

// guard says whether a lane runs its batches' operations in savepoints.
// Most batches fail no operation, so a lane runs them without (a savepoint
// costs SQLite two statements and a copy of every page the operation
// changes, and PostgreSQL a round trip per operation). When an operation
// of such a batch fails, nothing of it is committed and the batch runs
// again with savepoints, as before; the lane then keeps them for a while
// (8 batches, doubling while failures keep coming, up to 1,024), so a
// stream of failing operations — a sold-out flash sale — costs one
// rerun in many, not one per batch.
type guard struct {
	left, backoff int
}

const minGuard, maxGuard = 8, 1024

// failed notes an operation that failed outside a savepoint.
func (g *guard) failed() {
	g.backoff = min(max(2*g.backoff, minGuard), maxGuard)
	g.left = g.backoff
}

// passed notes a batch that ran without savepoints and failed nothing.
func (g *guard) passed() { g.backoff /= 2 }

type writeReq struct {
	lane int // the lane it is queued on
	ctx  context.Context
	op   Op
	err  error
	done chan struct{}
}

// opTimeout bounds one batch. It is generous: it exists so that a wedged
// connection cannot hold a lane for ever.
const opTimeout = 60 * time.Second

func newWriter(db *sql.DB, d *dialect, stmts *stmtCache, lanes, maxBatch int, log *slog.Logger) *Writer {
	w := &Writer{db: db, d: d, stmts: stmts, maxBatch: maxBatch, log: log, seed: maphash.MakeSeed(),
		shards: rand.IntN(1000) * lanes}
	for i := 0; i < lanes; i++ {
		ch := make(chan *writeReq, 4096)
		w.lanes = append(w.lanes, ch)
		w.wg.Add(1)
		go w.run(ch)
	}
	return w
}

var errClosed = errors.New("store: writer closed")

func (w *Writer) do(ctx context.Context, key string, op Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, op: op, done: make(chan struct{})}
	if len(w.lanes) > 1 {
		req.lane = int(maphash.String(w.seed, key) % uint64(len(w.lanes)))
	}
	lane := w.lanes[req.lane]
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case lane <- req:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued, wait for the outcome even if the caller gives up: the
	// operation may commit, and the caller must not report otherwise.
	<-req.done
	return req.err
}

func (w *Writer) close() {
	w.closing.Do(func() {
		w.mu.Lock()
		w.closed = true
		for _, ch := range w.lanes {
			close(ch)
		}
		w.mu.Unlock()
		w.wg.Wait()
	})
}

func (w *Writer) stats() (batches, ops uint64) { return w.nBatches.Load(), w.nOps.Load() }

func (w *Writer) run(ch chan *writeReq) {
	defer w.wg.Done()
	var g guard
	batch := make([]*writeReq, 0, w.maxBatch)
	for first := range ch {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-ch:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.runBatch(batch, &g)
		w.stmts.warm(context.Background())
	}
}

func (w *Writer) runBatch(reqs []*writeReq, g *guard) {
	live := reqs[:0:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			// The caller is gone and nothing has been done: do nothing.
			w.finish(r, err)
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		w.runSolo(live[0])
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	guarded := g.left > 0
	errs, afters, err := w.tryBatch(ctx, live, guarded)
	switch {
	case errors.Is(err, errUnguarded):
		// Nothing was committed: the same operations again, each in a
		// savepoint, so the one that fails fails alone.
		w.nReruns.Add(1)
		g.failed()
		guarded = true
		errs, afters, err = w.tryBatch(ctx, live, true)
	case err == nil && !guarded:
		g.passed()
	}
	if guarded {
		g.left--
	}
	if err != nil {
		if retryable(err) || errors.Is(err, errSavepoint) {
			// The batch as a whole failed (a deadlock with another node, a
			// broken savepoint): nothing of it was committed, so each
			// operation gets a transaction of its own.
			for _, r := range live {
				w.runSolo(r)
			}
			return
		}
		for _, r := range live {
			w.finish(r, err)
		}
		return
	}
	w.nBatches.Add(1)
	w.nOps.Add(uint64(len(live)))
	for i, r := range live {
		if errs[i] == nil {
			for _, fn := range afters[i] {
				fn()
			}
		}
		if errs[i] != nil && retryable(errs[i]) {
			w.runSolo(r)
			continue
		}
		w.finish(r, errs[i])
	}
}

var (
	errSavepoint = errors.New("store: savepoint failed")
	errUnguarded = errors.New("store: an operation failed outside a savepoint")
)

// tryBatch runs the operations in one transaction. It returns each
// operation's own error and, when the transaction itself failed, err.
// Unguarded, the operations run without savepoints and the first that
// fails ends the transaction, uncommitted, with errUnguarded.
func (w *Writer) tryBatch(ctx context.Context, live []*writeReq, guarded bool) (errs []error, afters [][]func(), err error) {
	sqlTx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, classify(fmt.Errorf("begin: %w", err))
	}
	defer sqlTx.Rollback() // no-op after commit
	tx := w.newTx(sqlTx, live[0].lane)
	ctx = w.stmtContext(ctx)
	errs = make([]error, len(live))
	afters = make([][]func(), len(live))
	for i, r := range live {
		// On PostgreSQL savepoints are not released: ROLLBACK TO names the
		// newest one of that name, and releasing would cost a round trip
		// per operation.
		if guarded {
			if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
				return nil, nil, classify(errors.Join(errSavepoint, err))
			}
		}
		tx.after = nil
		tx.pend.begin()
		if err := runOp(ctx, r.op, tx); err != nil || tx.pend.err != nil {
			if !guarded {
				return nil, nil, errUnguarded
			}
			errs[i] = cmp.Or(err, tx.pend.err)
			if _, rerr := sqlTx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT op"); rerr != nil {
				return nil, nil, classify(errors.Join(errSavepoint, rerr))
			}
			tx.pend.undo()
			continue
		}
		tx.pend.keep()
		if guarded && !w.d.postgres {
			// SQLite keeps a sub-journal of the pages each open savepoint
			// may need to restore; left open, it grows with every
			// operation of the batch. Releasing is an in-process call.
			if _, err := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT op"); err != nil {
				return nil, nil, classify(errors.Join(errSavepoint, err))
			}
		}
		afters[i] = tx.after
	}
	if err := tx.flush(ctx); err != nil {
		// No operation is answered: each runs again on its own.
		return nil, nil, errors.Join(errSavepoint, classify(fmt.Errorf("write deferred rows: %w", err)))
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, nil, classify(fmt.Errorf("commit: %w", err))
	}
	return errs, afters, nil
}

// runSolo runs one operation in a transaction of its own, trying again a
// few times when the database says the failure was a passing one.
func (w *Writer) runSolo(r *writeReq) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
		}
		var after []func()
		after, err = w.solo(r)
		if err == nil {
			w.nBatches.Add(1)
			w.nOps.Add(1)
			for _, fn := range after {
				fn()
			}
			break
		}
		if !retryable(err) {
			break
		}
	}
	w.finish(r, err)
}

func (w *Writer) solo(r *writeReq) ([]func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	sqlTx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(fmt.Errorf("begin: %w", err))
	}
	defer sqlTx.Rollback()
	tx := w.newTx(sqlTx, r.lane)
	ctx = w.stmtContext(ctx)
	tx.pend.begin()
	if err := runOp(ctx, r.op, tx); err != nil {
		return nil, err
	}
	if tx.pend.err != nil {
		return nil, tx.pend.err
	}
	tx.pend.keep()
	if err := tx.flush(ctx); err != nil {
		return nil, classify(fmt.Errorf("write deferred rows: %w", err))
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, classify(fmt.Errorf("commit: %w", err))
	}
	return tx.after, nil
}

// stmtContext is the context of a transaction's statements. On SQLite it
// cannot be cancelled: modernc's driver watches a cancellable context with
// a goroutine and a progress handler per statement (a few per cent of the
// writer), and an in-process statement has no network to wedge on. The
// transaction itself keeps ctx: past opTimeout database/sql rolls it back
// and its next statement fails.
func (w *Writer) stmtContext(ctx context.Context) context.Context {
	if w.d.postgres {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// newTx is a transaction of the writer on lane.
func (w *Writer) newTx(sqlTx *sql.Tx, lane int) *Tx {
	shard := w.shards + lane
	return &Tx{Conn: Conn{q: sqlTx, d: w.d, tx: sqlTx, stmts: w.stmts, keys: w.keys, count: &w.nStmts,
		pend: &deferred{shard: shard}}, tx: sqlTx, sig: w.signals, shard: shard}
}

// runOp runs op and turns a panic into an error, so that one bad operation
// cannot take the lane (and every request queued on it) down.
func runOp(ctx context.Context, op Op, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = failure.Wrap(failure.Internal, fmt.Errorf("panic: %v", p), "internal error")
		}
	}()
	return op(ctx, tx)
}

func (w *Writer) finish(r *writeReq, err error) {
	r.err = err
	close(r.done)
}
