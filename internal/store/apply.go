package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/null"
)

// Changes is everything one ledger operation (or several, for an event
// with several awards) writes: new transactions with their postings, new
// lots, changed lots, lot moves and the new totals of the balance rows it
// locked.
type Changes struct {
	Txns       []Txn
	Postings   [][]Posting // per transaction, in the order of Txns
	NewLots    []Lot
	LotChanges []LotChange
	Moves      []LotMove
	Balances   []Balance
	// Location is the programme's timezone: the members its transactions
	// show active are marked on that local day (activity.go).
	Location *time.Location
}

// LotChange is a lot's new remaining points and status.
type LotChange struct {
	ID        string
	Remaining int64
	Status    string
}

// Empty reports whether there is nothing to write.
func (c *Changes) Empty() bool {
	return len(c.Txns) == 0 && len(c.NewLots) == 0 && len(c.LotChanges) == 0 && len(c.Moves) == 0 && len(c.Balances) == 0
}

// Apply writes the changes. On SQLite that is a few multi-row statements
// (in process, each is cheap); on PostgreSQL it is one statement of
// data-modifying CTEs, so a ledger operation costs one round trip to write,
// whatever it writes. The caller holds the balance locks.
func (tx *Tx) Apply(ctx context.Context, programID string, c Changes, now time.Time) error {
	if c.Empty() {
		return nil
	}
	c.LotChanges = lastChanges(c.LotChanges)
	var parts []applyPart
	txns := txnRows(programID, c)
	lots := make([]any, 0, 12*len(c.NewLots))
	for _, l := range c.NewLots {
		lots = append(lots, programID, l.ID, l.MemberID, l.Currency, l.Amount, l.Remaining, l.Status, ms(l.AvailableAt),
			optMS(l.ExpiresAt), l.MerchantID, l.TransactionID, ms(l.CreatedAt))
	}
	moves := make([]any, 0, 9*len(c.Moves))
	for _, m := range c.Moves {
		moves = append(moves, programID, m.LotID, m.TransactionID, m.Kind, m.Points, m.IssuerMerchantID, m.AtMerchantID, ms(m.CreatedAt), m.Currency)
	}
	if tx.d.postgres {
		// One statement with the balance rows: deferring them would
		// save no round trip.
		if len(c.Txns) > 0 {
			parts = append(parts, applyPart{sql: `INSERT INTO transactions (program_id, ` + txnColumns + `) VALUES ` +
				placeholders(len(c.Txns), 15), args: txns})
		}
		if len(c.NewLots) > 0 {
			parts = append(parts, applyPart{sql: `INSERT INTO lots (program_id, ` + lotColumns + `) VALUES ` +
				placeholders(len(c.NewLots), 12), args: lots})
		}
		if len(c.Moves) > 0 {
			parts = append(parts, applyPart{sql: lotMovesInsert + placeholders(len(c.Moves), 9), args: moves})
		}
	} else {
		// On SQLite with the batch's other deferred rows (deferred.go).
		tx.pend.cur.txns = append(tx.pend.cur.txns, txns...)
		tx.pend.cur.lots = append(tx.pend.cur.lots, lots...)
		tx.pend.cur.moves = append(tx.pend.cur.moves, moves...)
	}
	// Rows no write reads back wait for the batch's commit (deferred.go):
	// postings, rollups, statistics and activity.
	tx.deferPostings(programID, c)
	for k, r := range rollups(c) {
		tx.pend.cur.rollups = append(tx.pend.cur.rollups, rollupAdd{programID, k, *r})
	}
	tx.statsActivity(programID, c)
	acts := activityOf(c)
	if len(acts) > 0 && c.Location == nil {
		return fmt.Errorf("apply: no programme timezone to mark activity in")
	}
	for i, a := range acts {
		tx.pend.cur.acts = append(tx.pend.cur.acts, actAdd{programID, dayOf(c.Txns[i].CreatedAt, c.Location), a})
	}
	if tx.d.postgres {
		return tx.applyPostgres(ctx, programID, parts, c, now)
	}
	for _, l := range c.LotChanges {
		if err := tx.UpdateLot(ctx, programID, l.ID, l.Remaining, l.Status); err != nil {
			return err
		}
	}
	return tx.saveBalances(ctx, programID, c.Balances, now)
}

type applyPart struct {
	sql  string
	args []any
	name string // on PostgreSQL, the CTE's name when a later part reads it
}

// txnRows are the values of the transactions' rows, 15 a row.
func txnRows(programID string, c Changes) []any {
	targs := make([]any, 0, 15*len(c.Txns))
	for _, t := range c.Txns {
		targs = append(targs, programID, t.ID, t.Type, t.MemberID, t.Currency, t.Points, t.MerchantID, t.Reference, t.Reason,
			optJSON(t.Metadata), t.Status, ms(t.CreatedAt), t.Reverses, t.HoldID, t.Reversed)
	}
	return targs
}

const lotMovesInsert = `INSERT INTO lot_moves (program_id, lot_id, transaction_id, kind, points,
	issuer_merchant_id, at_merchant_id, created_at, currency) VALUES `

// deferPostings hands the transactions' postings to the batch's deferred
// rows: the books' lines, read by verify and reports, never by a write.
func (tx *Tx) deferPostings(programID string, c Changes) {
	for i, t := range c.Txns {
		for seq, p := range c.Postings[i] {
			tx.pend.cur.postings = append(tx.pend.cur.postings, t.ID, seq, programID, p.Account, null.String(p.MemberID), p.Currency, p.Amount)
		}
	}
}

// lastChanges keeps one change per lot, the last: changes are absolute.
func lastChanges(cs []LotChange) []LotChange {
	if len(cs) < 2 {
		return cs
	}
	last := make(map[string]int, len(cs))
	for i, c := range cs {
		last[c.ID] = i
	}
	out := cs[:0:0]
	for i, c := range cs {
		if last[c.ID] == i {
			out = append(out, c)
		}
	}
	return out
}

// applyPostgres writes every part in one statement. The CTEs all run, in
// one snapshot, even those nothing reads.
func (tx *Tx) applyPostgres(ctx context.Context, programID string, parts []applyPart, c Changes, now time.Time) error {
	var sb strings.Builder
	var args []any
	n := 0
	add := func(name, sql string, a []any) {
		if n > 0 {
			sb.WriteString(", ")
		} else {
			sb.WriteString("WITH ")
		}
		if name == "" {
			name = fmt.Sprintf("w%d", n)
		}
		fmt.Fprintf(&sb, "%s AS (%s)", name, sql)
		args = append(args, a...)
		n++
	}
	for _, p := range parts {
		add(p.name, p.sql, p.args)
	}
	if len(c.LotChanges) > 0 {
		var vals strings.Builder
		a := []any{}
		for i, l := range c.LotChanges {
			if i > 0 {
				vals.WriteString(", ")
			}
			vals.WriteString("(?::text, ?::bigint, ?::text)")
			a = append(a, l.ID, l.Remaining, l.Status)
		}
		a = append(a, programID)
		add("", `UPDATE lots SET remaining = v.remaining, status = v.status FROM (VALUES `+vals.String()+
			`) AS v(id, remaining, status) WHERE lots.id = v.id AND lots.program_id = ?`, a)
	}
	for _, b := range c.Balances {
		add("", `UPDATE balances SET available = ?, pending = ?, held = ?, debt = ?, lifetime_earned = ?, lifetime_spent = ?,
			lifetime_expired = ?, updated_at = ? WHERE member_id = ? AND currency = ? AND program_id = ?`,
			[]any{b.Available, b.Pending, b.Held, b.Debt, b.LifetimeEarned, b.LifetimeSpent, b.LifetimeExpired, ms(now),
				b.MemberID, b.Currency, programID})
	}
	sb.WriteString(" SELECT 1")
	if len(args) > 60000 {
		return fmt.Errorf("apply: %d values in one statement", len(args))
	}
	if _, err := tx.q.ExecContext(ctx, numberPlaceholders(sb.String()), args...); err != nil {
		return classify(fmt.Errorf("apply: %w", err))
	}
	return nil
}
