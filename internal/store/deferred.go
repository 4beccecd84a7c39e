package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Deferred rows. Some rows an operation writes are added to and never read
// back by the operations of the same transaction: postings, the audit log,
// the report rollups, members' statistics and activity bitmaps. The writer
// keeps them in memory and writes the whole group-commit batch's at once,
// just before the commit, as one statement per table (a few for long
// lists), with the sums and bitmaps of one row added together first — so a
// row every member's writes add to (a merchant's quarter-hour rollup, a
// day's counter) is written once per commit, not once per operation.
//
// Nothing is lost or read stale by it:
//   - the rows are in the transaction that commits the operation, so a
//     committed operation has them and a failed one does not (an
//     operation's rows join the batch's only when it succeeds);
//   - any statement of the transaction that names one of these tables
//     writes the waiting rows first (a barrier), so a read or an update
//     of them inside the transaction sees every earlier write;
//   - when the final write fails, no operation of the batch is answered:
//     each runs again in a transaction of its own, as after a deadlock.
type deferred struct {
	cur   pending   // the running operation's rows
	kept  []pending // earlier operations' rows, not written yet
	moved []pending // earlier operations' rows written during the running one
	err   error     // a barrier's write that failed: the running operation fails
	busy  bool      // writing: the write's own statements are no barrier
	shard int       // the transaction's rollup and day-counter shard (Tx.shard)
}

// pending is one operation's deferred rows.
type pending struct {
	postings []any // 7 values a row
	audit    []any // 15 values a row
	rollups  []rollupAdd
	stats    []statsAdd
	acts     []actAdd
}

type rollupAdd struct {
	programID string
	key       rollupKey
	row       rollupRow
}

type statsAdd struct {
	programID, memberID string
	d                   StatsDelta
}

type actAdd struct {
	programID string
	day       activityDay
	a         Active
}

func (p *pending) empty() bool {
	return len(p.postings) == 0 && len(p.audit) == 0 && len(p.rollups) == 0 && len(p.stats) == 0 && len(p.acts) == 0
}

// deferredTables are the tables whose rows wait; a statement naming one is
// a barrier.
var deferredTables = []string{"postings", "audit_log", "report_rollups", "member_stats", "member_activity", "activity_days"}

// named remembers, per statement text, whether it names a deferred table:
// the texts are few (a statement's rows vary in chunks), and scanning a
// long one for six names each time cost 2 % of the writer.
var named struct {
	m sync.Map
	n atomic.Int64
}

func namesDeferred(q string) bool {
	if v, ok := named.m.Load(q); ok {
		return v.(bool)
	}
	is := false
	for _, t := range deferredTables {
		if strings.Contains(q, t) {
			is = true
			break
		}
	}
	if named.n.Load() < 4096 {
		if _, loaded := named.m.LoadOrStore(q, is); !loaded {
			named.n.Add(1)
		}
	}
	return is
}

// begin starts an operation.
func (d *deferred) begin() {
	d.cur, d.moved, d.err = pending{}, nil, nil
}

// keep makes the operation's rows the batch's: it succeeded.
func (d *deferred) keep() {
	if !d.cur.empty() {
		d.kept = append(d.kept, d.cur)
	}
	d.cur, d.moved = pending{}, nil
}

// undo forgets the operation's rows: it was rolled back to its savepoint,
// and with it every earlier operation's rows a barrier had written.
func (d *deferred) undo() {
	d.kept = append(d.kept, d.moved...)
	d.cur, d.moved, d.err = pending{}, nil, nil
}

func (d *deferred) waiting() bool { return len(d.kept) > 0 || !d.cur.empty() }

// barrier writes the waiting rows when q names one of their tables.
func (c *Conn) barrier(ctx context.Context, q string) error {
	d := c.pend
	if d == nil || d.busy || !d.waiting() {
		return nil
	}
	if !namesDeferred(q) {
		return nil
	}
	all := append(d.kept, d.cur)
	if err := c.writeDeferred(ctx, all); err != nil {
		d.err = fmt.Errorf("write deferred rows: %w", err)
		return d.err
	}
	d.moved = append(d.moved, d.kept...)
	d.kept, d.cur = nil, pending{}
	return nil
}

// flush writes every waiting row: the last statements before the commit.
func (c *Conn) flush(ctx context.Context) error {
	d := c.pend
	if d == nil || !d.waiting() {
		return nil
	}
	if err := c.writeDeferred(ctx, append(d.kept, d.cur)); err != nil {
		return err
	}
	d.kept, d.cur, d.moved = nil, pending{}, nil
	return nil
}

// chunks are the row counts long lists are written in: a few statement
// texts per table, so the prepared-statement cache keeps them all.
var chunks = []int{256, 64, 16, 4, 1}

// insertRows writes rows of cols values with head (up to VALUES) and tail
// (an ON CONFLICT clause, or "") in chunks.
func (c *Conn) insertRows(ctx context.Context, head, tail string, cols int, vals []any) error {
	n := len(vals) / cols
	for _, size := range chunks {
		for n >= size {
			if _, err := c.exec(ctx, head+placeholders(size, cols)+tail, vals[:size*cols]...); err != nil {
				return err
			}
			vals, n = vals[size*cols:], n-size
		}
	}
	return nil
}

func (c *Conn) writeDeferred(ctx context.Context, ps []pending) error {
	d := c.pend
	d.busy = true
	defer func() { d.busy = false }()
	var postings, audit []any
	rollups := map[rollupProgramKey]*rollupRow{}
	stats := map[[2]string]*statsSum{}
	acts := map[programDay][]Active{}
	for _, p := range ps {
		postings = append(postings, p.postings...)
		audit = append(audit, p.audit...)
		for _, r := range p.rollups {
			k := rollupProgramKey{r.programID, r.key}
			if rollups[k] == nil {
				rollups[k] = &rollupRow{}
			}
			rollups[k].add(r.row)
		}
		for _, s := range p.stats {
			k := [2]string{s.programID, s.memberID}
			if stats[k] == nil {
				stats[k] = &statsSum{}
			}
			stats[k].add(s.d)
		}
		for _, a := range p.acts {
			k := programDay{a.programID, a.day}
			acts[k] = append(acts[k], a.a)
		}
	}
	if len(postings) > 0 {
		if err := c.insertRows(ctx, `INSERT INTO postings (transaction_id, seq, program_id, account, member_id, currency, amount) VALUES `,
			"", 7, postings); err != nil {
			return fmt.Errorf("postings: %w", err)
		}
	}
	if len(audit) > 0 {
		if err := c.insertRows(ctx, `INSERT INTO audit_log (program_id, `+auditColumns+`) VALUES `, "", 15, audit); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
	}
	if err := c.writeRollups(ctx, rollups); err != nil {
		return fmt.Errorf("report rollups: %w", err)
	}
	if err := c.writeStats(ctx, stats); err != nil {
		return fmt.Errorf("member stats: %w", err)
	}
	days := make([]programDay, 0, len(acts))
	for k := range acts {
		days = append(days, k)
	}
	slices.SortFunc(days, func(a, b programDay) int {
		return cmp.Or(strings.Compare(a.programID, b.programID), cmp.Compare(a.day.year, b.day.year), cmp.Compare(a.day.yday, b.day.yday))
	})
	for _, k := range days {
		if err := c.markActive(ctx, k.programID, k.day, acts[k]); err != nil {
			return fmt.Errorf("member activity: %w", err)
		}
	}
	return nil
}

type programDay struct {
	programID string
	day       activityDay
}

type rollupProgramKey struct {
	programID string
	rollupKey
}

func (r *rollupRow) add(o rollupRow) {
	r.issued += o.issued
	r.spent += o.spent
	r.refunded += o.refunded
	r.reversed += o.reversed
	r.adjusted += o.adjusted
	r.expired += o.expired
}

// statsSum is what a batch adds to one member's statistics: counts add,
// the first order is the earliest, the last order and activity the latest
// (milliseconds; 0 is none).
type statsSum struct {
	orders, spend, refunds, refunded int64
	first, last, act                 int64
}

func (s *statsSum) add(d StatsDelta) {
	s.orders += d.Orders
	s.spend += d.Spend
	s.refunds += d.Refunds
	s.refunded += d.Refunded
	if d.OrderAt != nil {
		at := ms(*d.OrderAt)
		if s.first == 0 || at < s.first {
			s.first = at
		}
		s.last = max(s.last, at)
	}
	if !d.ActivityAt.IsZero() {
		s.act = max(s.act, ms(d.ActivityAt))
	}
}

// orNull is v, or NULL for 0.
func orNull(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// writeRollups adds the batch's sums to their rows, in one order for every
// writer (two transactions that add to the same rows lock them alike).
func (c *Conn) writeRollups(ctx context.Context, rs map[rollupProgramKey]*rollupRow) error {
	keys := make([]rollupProgramKey, 0, len(rs))
	for k, r := range rs {
		if *r != (rollupRow{}) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b rollupProgramKey) int {
		return cmp.Or(strings.Compare(a.programID, b.programID), strings.Compare(a.currency, b.currency),
			strings.Compare(a.merchantID, b.merchantID), cmp.Compare(a.bucket, b.bucket))
	})
	args := make([]any, 0, 11*len(keys))
	for _, k := range keys {
		r := rs[k]
		args = append(args, k.programID, k.currency, k.merchantID, k.bucket, c.pend.shard,
			r.issued, r.spent, r.refunded, r.reversed, r.adjusted, r.expired)
	}
	return c.insertRows(ctx, `INSERT INTO report_rollups (program_id, currency, merchant_id, bucket, shard,
		issued, spent, refunded, reversed, adjusted, expired) VALUES `, `
		ON CONFLICT (program_id, currency, merchant_id, bucket, shard) DO UPDATE SET
		issued = report_rollups.issued + excluded.issued, spent = report_rollups.spent + excluded.spent,
		refunded = report_rollups.refunded + excluded.refunded, reversed = report_rollups.reversed + excluded.reversed,
		adjusted = report_rollups.adjusted + excluded.adjusted, expired = report_rollups.expired + excluded.expired`, 11, args)
}

// writeStats adds the batch's figures to members' statistics, one row per
// member, in member order.
func (c *Conn) writeStats(ctx context.Context, st map[[2]string]*statsSum) error {
	if len(st) == 0 {
		return nil
	}
	keys := make([][2]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	args := make([]any, 0, 9*len(keys))
	for _, k := range keys {
		s := st[k]
		args = append(args, k[0], k[1], s.orders, s.spend, s.refunds, s.refunded, orNull(s.first), orNull(s.last), orNull(s.act))
	}
	return c.insertRows(ctx, `INSERT INTO member_stats (program_id, member_id, orders, spend, refunds, refunded,
		first_order_at, last_order_at, last_activity_at) VALUES `, `
		ON CONFLICT (program_id, member_id) DO UPDATE SET orders = member_stats.orders + excluded.orders,
		spend = member_stats.spend + excluded.spend, refunds = member_stats.refunds + excluded.refunds,
		refunded = member_stats.refunded + excluded.refunded,
		first_order_at = CASE WHEN member_stats.first_order_at IS NULL OR member_stats.first_order_at > excluded.first_order_at
			THEN COALESCE(excluded.first_order_at, member_stats.first_order_at) ELSE member_stats.first_order_at END,
		`+later("last_order_at")+`, `+later("last_activity_at"), 9, args)
}

// markActive sets members' bits for one programme day and adds the newly
// set ones to the day's counters.
func (c *Conn) markActive(ctx context.Context, programID string, d activityDay, acts []Active) error {
	upsert, days, ok := activityParts(programID, d, acts, c.pend.shard, "act")
	if !ok {
		return nil
	}
	if c.d.postgres {
		_, err := c.exec(ctx, `WITH act AS (`+upsert.sql+`) `+days.sql, append(upsert.args, days.args...)...)
		return err
	}
	return c.markActiveSQLite(ctx, programID, d, c.pend.shard, upsert)
}
