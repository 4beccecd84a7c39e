package store

import (
	"context"
	"fmt"
	"time"
)

// Totals are a programme's ledger figures over a time range, in one
// currency, for one merchant or ("") all.
type Totals struct {
	Issued   int64 // earned, pending included (by the issuing merchant)
	Spent    int64 // spends and captures, less their reversals (where they happened)
	Expired  int64 // by the lots' issuer
	Reversed int64 // clawed back from earns (by the issuer)
	Adjusted int64 // net adjustments (the programme's own)
}

// LedgerTotals sums the ledger over [from, to).
func (c *Conn) LedgerTotals(ctx context.Context, programID, currency, merchantID string, from, to time.Time) (Totals, error) {
	var t Totals
	mer, args := merchantClause("t.merchant_id", merchantID)
	err := c.queryRow(ctx, `SELECT
			COALESCE(SUM(CASE WHEN t.type = 'earn' THEN t.points ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN t.type IN ('spend', 'capture') THEN t.points ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN t.type = 'adjust' THEN t.points ELSE 0 END), 0)
		FROM transactions t WHERE t.program_id = ? AND t.currency = ? AND t.created_at >= ? AND t.created_at < ?`+mer,
		append([]any{programID, currency, ms(from), ms(to)}, args...)...).Scan(&t.Issued, &t.Spent, &t.Adjusted)
	if err != nil {
		return t, classify(fmt.Errorf("ledger totals: %w", err))
	}
	var refunded int64
	mer, args = merchantClause("o.merchant_id", merchantID)
	err = c.queryRow(ctx, `SELECT
			COALESCE(SUM(CASE WHEN o.type = 'earn' THEN r.points ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN o.type IN ('spend', 'capture') THEN r.points ELSE 0 END), 0)
		FROM transactions r JOIN transactions o ON o.id = r.reverses
		WHERE r.program_id = ? AND r.type = 'reverse' AND r.currency = ? AND r.created_at >= ? AND r.created_at < ?`+mer,
		append([]any{programID, currency, ms(from), ms(to)}, args...)...).Scan(&t.Reversed, &refunded)
	if err != nil {
		return t, classify(fmt.Errorf("ledger reversals: %w", err))
	}
	t.Spent -= refunded
	mer, args = merchantClause("m.issuer_merchant_id", merchantID)
	err = c.queryRow(ctx, `SELECT COALESCE(-SUM(m.points), 0) FROM lot_moves m JOIN lots l ON l.id = m.lot_id
		WHERE m.program_id = ? AND m.kind = 'expire' AND m.created_at >= ? AND m.created_at < ? AND l.currency = ?`+mer,
		append([]any{programID, ms(from), ms(to), currency}, args...)...).Scan(&t.Expired)
	if err != nil {
		return t, classify(fmt.Errorf("ledger expiries: %w", err))
	}
	return t, nil
}

func merchantClause(col, merchantID string) (string, []any) {
	if merchantID == "" {
		return "", nil
	}
	return ` AND ` + col + ` = ?`, []any{merchantID}
}

// Outstanding is what members hold at an instant: available and pending
// points less debt. For a merchant, the points left in the lots it issued
// (debt is the programme's). It is worked out backwards from now, so
// recent instants read few rows.
func (c *Conn) Outstanding(ctx context.Context, programID, currency, merchantID string, at time.Time) (int64, error) {
	var now, after int64
	if merchantID == "" {
		err := c.queryRow(ctx, `SELECT COALESCE(SUM(available + pending - debt), 0) FROM balances
			WHERE program_id = ? AND currency = ?`, programID, currency).Scan(&now)
		if err != nil {
			return 0, classify(fmt.Errorf("outstanding: %w", err))
		}
		err = c.queryRow(ctx, `SELECT COALESCE(SUM(p.amount), 0) FROM transactions t JOIN postings p ON p.transaction_id = t.id
			WHERE t.program_id = ? AND t.currency = ? AND t.created_at >= ? AND p.account IN ('available', 'pending', 'debt')`,
			programID, currency, ms(at)).Scan(&after)
		return now - after, classify(err)
	}
	err := c.queryRow(ctx, `SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE program_id = ? AND currency = ?
		AND merchant_id = ? AND status IN ('available', 'pending')`, programID, currency, merchantID).Scan(&now)
	if err != nil {
		return 0, classify(fmt.Errorf("outstanding: %w", err))
	}
	err = c.queryRow(ctx, `SELECT COALESCE(SUM(m.points), 0) FROM lot_moves m JOIN lots l ON l.id = m.lot_id
		WHERE m.program_id = ? AND m.created_at >= ? AND m.issuer_merchant_id = ? AND l.currency = ?`,
		programID, ms(at), merchantID, currency).Scan(&after)
	return now - after, classify(err)
}

// MemberCounts are a programme's members (a merchant's: those it
// acquired) at the end of a range, those that joined in it, and those
// active in it: an event or a transaction of their own (an expiry or an
// activation the jobs make does not count); for a merchant, one there.
type MemberCounts struct{ Total, New, Active int64 }

// MemberFigures counts members over [from, to).
func (c *Conn) MemberFigures(ctx context.Context, programID, merchantID string, from, to time.Time) (MemberCounts, error) {
	var n MemberCounts
	mer, args := merchantClause("merchant_id", merchantID)
	err := c.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN created_at < ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0)
		FROM members WHERE program_id = ? AND created_at < ? AND status NOT IN ('erased', 'merged')`+mer,
		append([]any{ms(to), ms(from), programID, ms(to)}, args...)...).Scan(&n.Total, &n.New)
	if err != nil {
		return n, classify(fmt.Errorf("member counts: %w", err))
	}
	merT, argsT := merchantClause("merchant_id", merchantID)
	err = c.queryRow(ctx, `SELECT COUNT(*) FROM (
			SELECT member_id FROM transactions WHERE program_id = ? AND created_at >= ? AND created_at < ?
				AND type NOT IN ('expire', 'activate')`+merT+`
			UNION
			SELECT member_id FROM events WHERE program_id = ? AND created_at >= ? AND created_at < ?`+merT+`
		) active`, append(append(append([]any{programID, ms(from), ms(to)}, argsT...), programID, ms(from), ms(to)), argsT...)...).Scan(&n.Active)
	return n, classify(err)
}
