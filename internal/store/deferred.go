package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
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
	// SQLite only: the ledger's own rows. On PostgreSQL they stay in
	// Apply's one statement, where deferring them would save no round
	// trip.
	txns  []any // 15 values a row
	lots  []any // 12 values a row
	moves []any // 9 values a row

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
	return len(p.txns)+len(p.lots)+len(p.moves)+len(p.postings)+len(p.audit)+len(p.rollups)+len(p.stats)+len(p.acts) == 0
}

// A deferred kind of row, as a bit: what a barrier names and takes.
const (
	rowsTxns = 1 << iota
	rowsLots
	rowsMoves
	rowsPostings
	rowsAudit
	rowsRollups
	rowsStats
	rowsActivity // member_activity and activity_days, written together

	// deferredSQLite and deferredPostgres are the kinds each dialect
	// defers: PostgreSQL writes the ledger's own rows in Apply.
	deferredSQLite   = rowsActivity<<1 - 1
	deferredPostgres = deferredSQLite &^ (rowsTxns | rowsLots | rowsMoves)
)

// deferredTables name the tables of each kind; a statement naming one of
// its dialect's is a barrier.
var deferredTables = []struct {
	name string
	kind int
}{
	{"transactions", rowsTxns}, {"lots", rowsLots}, {"lot_moves", rowsMoves}, {"postings", rowsPostings},
	{"audit_log", rowsAudit}, {"report_rollups", rowsRollups}, {"member_stats", rowsStats},
	{"member_activity", rowsActivity}, {"activity_days", rowsActivity},
}

// named remembers, per statement text, the kinds of deferred rows whose
// tables it names: the texts are few (a statement's rows vary in
// chunks), and scanning a long one for the names each time cost 2 % of
// the writer.
var named struct {
	m sync.Map
	n atomic.Int64
}

func tablesNamed(q string) int {
	if v, ok := named.m.Load(q); ok {
		return v.(int)
	}
	mask := 0
	for _, t := range deferredTables {
		if strings.Contains(q, t.name) {
			mask |= t.kind
		}
	}
	if named.n.Load() < 4096 {
		if _, loaded := named.m.LoadOrStore(q, mask); !loaded {
			named.n.Add(1)
		}
	}
	return mask
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

// barrier writes the waiting rows of the tables q names, and only those:
// a spend reading its member's lots writes the batch's waiting lots, not
// its transactions or audit entries.
func (c *Conn) barrier(ctx context.Context, q string) error {
	d := c.pend
	if d == nil || d.busy || !d.waiting() {
		return nil
	}
	mask := deferredSQLite
	if c.d.postgres {
		mask = deferredPostgres
	}
	if mask &= tablesNamed(q); mask == 0 {
		return nil
	}
	taken := make([]pending, 0, len(d.kept)+1)
	left := d.kept[:0]
	for _, p := range d.kept {
		if t := p.take(mask); !t.empty() {
			taken = append(taken, t)
		}
		if !p.empty() {
			left = append(left, p)
		}
	}
	d.kept = left
	own := d.cur.take(mask)
	if len(taken) == 0 && own.empty() {
		return nil
	}
	if err := c.writeDeferred(ctx, append(taken, own)); err != nil {
		d.err = fmt.Errorf("write deferred rows: %w", err)
		return d.err
	}
	// Should the running operation fail, its savepoint's rollback takes
	// these rows back: undo makes them wait again.
	d.moved = append(d.moved, taken...)
	return nil
}

// take moves the rows of the kinds in mask out of p.
func (p *pending) take(mask int) pending {
	var t pending
	move := func(kind int, from, to *[]any) {
		if mask&kind != 0 {
			*to, *from = *from, nil
		}
	}
	move(rowsTxns, &p.txns, &t.txns)
	move(rowsLots, &p.lots, &t.lots)
	move(rowsMoves, &p.moves, &t.moves)
	move(rowsPostings, &p.postings, &t.postings)
	move(rowsAudit, &p.audit, &t.audit)
	if mask&rowsRollups != 0 {
		t.rollups, p.rollups = p.rollups, nil
	}
	if mask&rowsStats != 0 {
		t.stats, p.stats = p.stats, nil
	}
	if mask&rowsActivity != 0 {
		t.acts, p.acts = p.acts, nil
	}
	return t
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

// batchRows are a batch's deferred rows, summed per row and in one order
// for every writer (two transactions that add to the same rows lock them
// alike).
type batchRows struct {
	txns, lots, moves []any
	postings, audit   []any
	rollups           []any // 11 values a row
	stats             []any // 9 values a row
	days              []programDay
	acts              map[programDay][]Active
}

func gather(ps []pending, shard int) batchRows {
	var b batchRows
	rollups := map[rollupProgramKey]*rollupRow{}
	stats := map[[2]string]*statsSum{}
	b.acts = map[programDay][]Active{}
	for _, p := range ps {
		b.txns = append(b.txns, p.txns...)
		b.lots = append(b.lots, p.lots...)
		b.moves = append(b.moves, p.moves...)
		b.postings = append(b.postings, p.postings...)
		b.audit = append(b.audit, p.audit...)
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
			b.acts[k] = append(b.acts[k], a.a)
		}
	}
	rkeys := make([]rollupProgramKey, 0, len(rollups))
	for k, r := range rollups {
		if *r != (rollupRow{}) {
			rkeys = append(rkeys, k)
		}
	}
	slices.SortFunc(rkeys, func(a, b rollupProgramKey) int {
		return cmp.Or(strings.Compare(a.programID, b.programID), strings.Compare(a.currency, b.currency),
			strings.Compare(a.merchantID, b.merchantID), cmp.Compare(a.bucket, b.bucket))
	})
	for _, k := range rkeys {
		r := rollups[k]
		b.rollups = append(b.rollups, k.programID, k.currency, k.merchantID, k.bucket, shard,
			r.issued, r.spent, r.refunded, r.reversed, r.adjusted, r.expired)
	}
	skeys := make([][2]string, 0, len(stats))
	for k := range stats {
		skeys = append(skeys, k)
	}
	slices.SortFunc(skeys, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	for _, k := range skeys {
		s := stats[k]
		b.stats = append(b.stats, k[0], k[1], s.orders, s.spend, s.refunds, s.refunded, orNull(s.first), orNull(s.last), orNull(s.act))
	}
	for k := range b.acts {
		b.days = append(b.days, k)
	}
	slices.SortFunc(b.days, func(a, b programDay) int {
		return cmp.Or(strings.Compare(a.programID, b.programID), cmp.Compare(a.day.year, b.day.year), cmp.Compare(a.day.yday, b.day.yday))
	})
	return b
}

const (
	postingsInsert = `INSERT INTO postings (transaction_id, seq, program_id, account, member_id, currency, amount) `
	auditInsert    = `INSERT INTO audit_log (program_id, ` + auditColumns + `) `
	rollupsInsert  = `INSERT INTO report_rollups (program_id, currency, merchant_id, bucket, shard,
		issued, spent, refunded, reversed, adjusted, expired) `
	rollupsAdd = `
		ON CONFLICT (program_id, currency, merchant_id, bucket, shard) DO UPDATE SET
		issued = report_rollups.issued + excluded.issued, spent = report_rollups.spent + excluded.spent,
		refunded = report_rollups.refunded + excluded.refunded, reversed = report_rollups.reversed + excluded.reversed,
		adjusted = report_rollups.adjusted + excluded.adjusted, expired = report_rollups.expired + excluded.expired`
	statsInsert = `INSERT INTO member_stats (program_id, member_id, orders, spend, refunds, refunded,
		first_order_at, last_order_at, last_activity_at) `
)

var statsAddSQL = `
		ON CONFLICT (program_id, member_id) DO UPDATE SET orders = member_stats.orders + excluded.orders,
		spend = member_stats.spend + excluded.spend, refunds = member_stats.refunds + excluded.refunds,
		refunded = member_stats.refunded + excluded.refunded,
		first_order_at = CASE WHEN member_stats.first_order_at IS NULL OR member_stats.first_order_at > excluded.first_order_at
			THEN COALESCE(excluded.first_order_at, member_stats.first_order_at) ELSE member_stats.first_order_at END,
		` + later("last_order_at") + `, ` + later("last_activity_at")

func (c *Conn) writeDeferred(ctx context.Context, ps []pending) error {
	d := c.pend
	d.busy = true
	defer func() { d.busy = false }()
	b := gather(ps, d.shard)
	if c.d.postgres {
		return c.writeDeferredPostgres(ctx, b)
	}
	if err := c.insertRows(ctx, `INSERT INTO transactions (program_id, `+txnColumns+`) VALUES `, "", 15, b.txns); err != nil {
		return fmt.Errorf("transactions: %w", err)
	}
	if err := c.insertRows(ctx, `INSERT INTO lots (program_id, `+lotColumns+`) VALUES `, "", 12, b.lots); err != nil {
		return fmt.Errorf("lots: %w", err)
	}
	if err := c.insertRows(ctx, lotMovesInsert, "", 9, b.moves); err != nil {
		return fmt.Errorf("lot moves: %w", err)
	}
	if err := c.insertRows(ctx, postingsInsert+`VALUES `, "", 7, b.postings); err != nil {
		return fmt.Errorf("postings: %w", err)
	}
	if err := c.insertRows(ctx, auditInsert+`VALUES `, "", 15, b.audit); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := c.insertRows(ctx, rollupsInsert+`VALUES `, rollupsAdd, 11, b.rollups); err != nil {
		return fmt.Errorf("report rollups: %w", err)
	}
	if err := c.insertRows(ctx, statsInsert+`VALUES `, statsAddSQL, 9, b.stats); err != nil {
		return fmt.Errorf("member stats: %w", err)
	}
	for _, k := range b.days {
		upsert, ok := activityUpsert(k.programID, k.day, b.acts[k])
		if !ok {
			continue
		}
		if err := c.markActiveSQLite(ctx, k.programID, k.day, d.shard, upsert); err != nil {
			return fmt.Errorf("member activity: %w", err)
		}
	}
	return nil
}

// writeDeferredPostgres writes a batch's rows in one statement of
// data-modifying CTEs: one round trip per commit. Each table's rows are one
// JSON array parameter, so the statement's text does not change with their
// number (pgx prepares it once per connection).
func (c *Conn) writeDeferredPostgres(ctx context.Context, b batchRows) error {
	var args []any
	param := func(vals []any, cols int) (string, error) {
		rows := make([][]any, 0, len(vals)/cols)
		for i := 0; i+cols <= len(vals); i += cols {
			rows = append(rows, vals[i:i+cols])
		}
		j, err := json.Marshal(rows)
		args = append(args, string(j))
		return "jsonb_array_elements(?::jsonb) r", err
	}
	from := func(vals []any, cols int, casts ...string) (string, error) {
		src, err := param(vals, cols)
		sel := make([]string, len(casts))
		for i, t := range casts {
			sel[i] = fmt.Sprintf("(r->>%d)::%s", i, t)
		}
		return `SELECT ` + strings.Join(sel, ", ") + ` FROM ` + src, err
	}
	var ctes []string
	var errs []error
	add := func(name, head, tail string, vals []any, cols int, casts ...string) {
		sel, err := from(vals, cols, casts...)
		errs = append(errs, err)
		ctes = append(ctes, name+` AS (`+head+sel+tail+`)`)
	}
	add("p", postingsInsert, "", b.postings, 7, "text", "bigint", "text", "text", "text", "text", "bigint")
	add("a", auditInsert, "", b.audit, 15, "text", "text", "bigint", "text", "text", "text", "text", "text", "text", "text",
		"text", "text", "text", "integer", "text")
	add("ro", rollupsInsert, rollupsAdd, b.rollups, 11, "text", "text", "text", "bigint", "integer",
		"bigint", "bigint", "bigint", "bigint", "bigint", "bigint")
	add("st", statsInsert, statsAddSQL, b.stats, 9, "text", "text", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint")
	for i, k := range b.days {
		keys := bitmapRows(b.acts[k])
		if len(keys) == 0 {
			continue
		}
		vals := make([]any, 0, 2*len(keys))
		for _, key := range keys {
			vals = append(vals, key.merchant, key.member)
		}
		src, err := param(vals, 2)
		errs = append(errs, err)
		w := fmt.Sprintf("w%d", k.day.word())
		act := fmt.Sprintf("act%d", i)
		ctes = append(ctes, act+` AS (INSERT INTO member_activity (program_id, merchant_id, year, member_id, `+w+`)
			SELECT ?, r->>0, ?, r->>1, ? FROM `+src+`
			ON CONFLICT (program_id, merchant_id, year, member_id) DO UPDATE SET `+w+` = member_activity.`+w+` | excluded.`+w+`
			WHERE (member_activity.`+w+` & excluded.`+w+`) = 0 RETURNING merchant_id)`,
			fmt.Sprintf("days%d", i)+` AS (INSERT INTO activity_days (program_id, merchant_id, year, yday, shard, active)
			SELECT ?, merchant_id, ?, ?, ?, COUNT(*) FROM `+act+` GROUP BY merchant_id
			ON CONFLICT (program_id, merchant_id, year, yday, shard) DO UPDATE SET active = activity_days.active + excluded.active)`)
		// In the text, the SELECT list's three placeholders come before
		// the JSON array's (FROM …): put them before it.
		args = append(args[:len(args)-1], k.programID, k.day.year, k.day.bit(), args[len(args)-1],
			k.programID, k.day.year, k.day.yday, c.pend.shard)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := c.exec(ctx, `WITH `+strings.Join(ctes, ",\n")+` SELECT 1`, args...)
	return err
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
