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
			WHERE t.program_id = ? AND p.currency = ? AND t.created_at >= ? AND p.account IN ('available', 'pending', 'debt')`,
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

// MemberFigures counts members over [from, to), local midnights in loc.
func (c *Conn) MemberFigures(ctx context.Context, programID, merchantID string, loc *time.Location, from, to time.Time) (MemberCounts, error) {
	var n MemberCounts
	mer, args := merchantClause("merchant_id", merchantID)
	err := c.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN created_at < ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0)
		FROM members WHERE program_id = ? AND created_at < ? AND status NOT IN ('erased', 'merged')`+mer,
		append([]any{ms(to), ms(from), programID, ms(to)}, args...)...).Scan(&n.Total, &n.New)
	if err != nil {
		return n, classify(fmt.Errorf("member counts: %w", err))
	}
	n.Active, err = c.ActiveMembers(ctx, programID, merchantID, loc, from, to)
	return n, err
}

// NewMembers counts the members (not erased or merged) that joined in
// [from, to); for a merchant, those it acquired.
func (c *Conn) NewMembers(ctx context.Context, programID, merchantID string, from, to time.Time) (int64, error) {
	var n int64
	mer, args := merchantClause("merchant_id", merchantID)
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM members WHERE program_id = ? AND created_at >= ? AND created_at < ?
		AND status NOT IN ('erased', 'merged')`+mer, append([]any{programID, ms(from), ms(to)}, args...)...).Scan(&n)
	if err != nil {
		return 0, classify(fmt.Errorf("new members: %w", err))
	}
	return n, nil
}

// RuleFigures is what one rule awarded in a period.
type RuleFigures struct {
	RuleID     string
	Definition []byte // the rule's current definition (its name)
	Awards     int64
	Members    int64
	Points     int64
	Reversed   int64 // of those awards, reversed by the end of the period
}

// RuleReport groups a period's awards by rule (a merchant's: awards at
// that merchant).
func (c *Conn) RuleReport(ctx context.Context, programID, currency, merchantID string, from, to time.Time) ([]RuleFigures, error) {
	mer, args := merchantClause("t.merchant_id", merchantID)
	rows, err := c.query(ctx, `SELECT a.rule_id, COALESCE(MAX(r.definition), '{}'), COUNT(*), COUNT(DISTINCT a.member_id),
			COALESCE(SUM(a.points), 0),
			COALESCE(SUM((SELECT COALESCE(SUM(x.points), 0) FROM transactions x
				WHERE x.reverses = a.transaction_id AND x.type = 'reverse' AND x.created_at < ?)), 0)
		FROM awards a JOIN transactions t ON t.id = a.transaction_id LEFT JOIN rules r ON r.id = a.rule_id
		WHERE a.program_id = ? AND a.currency = ? AND a.created_at >= ? AND a.created_at < ?`+mer+`
		GROUP BY a.rule_id ORDER BY a.rule_id`, append([]any{ms(to), programID, currency, ms(from), ms(to)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("rule report: %w", err)
	}
	defer rows.Close()
	var out []RuleFigures
	for rows.Next() {
		var f RuleFigures
		var def string
		if err := rows.Scan(&f.RuleID, &def, &f.Awards, &f.Members, &f.Points, &f.Reversed); err != nil {
			return nil, err
		}
		f.Definition = []byte(def)
		out = append(out, f)
	}
	return out, classify(rows.Err())
}

// TierFigures is one tier's members now and what they earned and spent in
// a period ("" is members without a tier).
type TierFigures struct {
	Tier    string
	Members int64
	Issued  int64
	Spent   int64
}

// TierReport groups members by their current tier.
func (c *Conn) TierReport(ctx context.Context, programID, currency, merchantID string, from, to time.Time) (map[string]*TierFigures, error) {
	out := map[string]*TierFigures{}
	get := func(t string) *TierFigures {
		if out[t] == nil {
			out[t] = &TierFigures{Tier: t}
		}
		return out[t]
	}
	mer, args := merchantClause("merchant_id", merchantID)
	rows, err := c.query(ctx, `SELECT COALESCE(tier, ''), COUNT(*) FROM members
		WHERE program_id = ? AND status NOT IN ('erased', 'merged')`+mer+` GROUP BY tier`, append([]any{programID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("tier report: %w", err)
	}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			rows.Close()
			return nil, err
		}
		get(t).Members = n
	}
	rows.Close()
	mer, args = merchantClause("t.merchant_id", merchantID)
	rows, err = c.query(ctx, `SELECT COALESCE(m.tier, ''),
			COALESCE(SUM(CASE WHEN t.type = 'earn' THEN t.points ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN t.type IN ('spend', 'capture') THEN t.points ELSE 0 END), 0) -
			COALESCE(SUM(CASE WHEN t.type = 'reverse' AND o.type IN ('spend', 'capture') THEN t.points ELSE 0 END), 0)
		FROM transactions t JOIN members m ON m.id = t.member_id LEFT JOIN transactions o ON o.id = t.reverses
		WHERE t.program_id = ? AND t.currency = ? AND t.created_at >= ? AND t.created_at < ?`+mer+`
		GROUP BY m.tier`, append([]any{programID, currency, ms(from), ms(to)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("tier report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var issued, spent int64
		if err := rows.Scan(&t, &issued, &spent); err != nil {
			return nil, err
		}
		f := get(t)
		f.Issued, f.Spent = issued, spent
	}
	return out, classify(rows.Err())
}

// RewardFigures is what one reward's redemptions in a period came to.
type RewardFigures struct {
	RewardID    string
	Name        string
	Redemptions int64 // all, cancelled ones too
	Quantity    int64 // the rest: not cancelled
	Points      int64
	CashFen     int64
	Cancelled   int64
}

// RewardReport groups a period's redemptions by reward (a merchant's: made
// there).
func (c *Conn) RewardReport(ctx context.Context, programID, merchantID string, from, to time.Time) ([]RewardFigures, error) {
	mer, args := merchantClause("r.merchant_id", merchantID)
	rows, err := c.query(ctx, `SELECT r.reward_id, w.name, COUNT(*),
			COALESCE(SUM(CASE WHEN r.status <> 'cancelled' THEN r.quantity ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN r.status <> 'cancelled' THEN r.points ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN r.status <> 'cancelled' THEN r.cash_price ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN r.status = 'cancelled' THEN 1 ELSE 0 END), 0)
		FROM redemptions r JOIN rewards w ON w.id = r.reward_id
		WHERE r.program_id = ? AND r.created_at >= ? AND r.created_at < ?`+mer+`
		GROUP BY r.reward_id, w.name ORDER BY r.reward_id`, append([]any{programID, ms(from), ms(to)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("reward report: %w", err)
	}
	defer rows.Close()
	var out []RewardFigures
	for rows.Next() {
		var f RewardFigures
		if err := rows.Scan(&f.RewardID, &f.Name, &f.Redemptions, &f.Quantity, &f.Points, &f.CashFen, &f.Cancelled); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, classify(rows.Err())
}

// CouponFigures is one template's coupons in a period: issued in it,
// redeemed in it (and the discount they gave), and expired in it.
type CouponFigures struct {
	TemplateID  string
	Name        string
	Issued      int64
	Redeemed    int64
	Expired     int64
	DiscountFen int64
}

// CouponReport lists the templates (a merchant's own) with coupons issued,
// redeemed or expired in a period.
func (c *Conn) CouponReport(ctx context.Context, programID, merchantID string, from, to time.Time) ([]CouponFigures, error) {
	mer, args := merchantClause("t.merchant_id", merchantID)
	f, u := ms(from), ms(to)
	rows, err := c.query(ctx, `SELECT t.id, t.name,
			COALESCE(SUM(CASE WHEN c.created_at >= ? AND c.created_at < ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN c.redeemed_at >= ? AND c.redeemed_at < ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN c.status = 'expired' AND c.valid_until >= ? AND c.valid_until < ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN c.redeemed_at >= ? AND c.redeemed_at < ? THEN c.discount ELSE 0 END), 0)
		FROM coupon_templates t JOIN coupons c ON c.template_id = t.id AND c.program_id = t.program_id
		WHERE t.program_id = ?`+mer+`
		GROUP BY t.id, t.name ORDER BY t.id`, append([]any{f, u, f, u, f, u, f, u, programID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("coupon report: %w", err)
	}
	defer rows.Close()
	var out []CouponFigures
	for rows.Next() {
		var x CouponFigures
		if err := rows.Scan(&x.TemplateID, &x.Name, &x.Issued, &x.Redeemed, &x.Expired, &x.DiscountFen); err != nil {
			return nil, err
		}
		if x.Issued+x.Redeemed+x.Expired > 0 {
			out = append(out, x)
		}
	}
	return out, classify(rows.Err())
}

// NewByDay counts the members that joined on each of days consecutive
// days from from, each 86 400 s long (the caller checks that the
// programme's UTC offset does not change in the range), in one pass.
func (c *Conn) NewByDay(ctx context.Context, programID, merchantID string, from time.Time, days int) ([]int64, error) {
	out := make([]int64, days)
	start, end := ms(from), ms(from)+int64(days)*86_400_000
	mer, args := merchantClause("merchant_id", merchantID)
	rows, err := c.query(ctx, `SELECT (created_at - ?) / 86400000 AS d, COUNT(*) FROM members
		WHERE program_id = ? AND created_at >= ? AND created_at < ? AND status NOT IN ('erased', 'merged')`+mer+` GROUP BY d`,
		append([]any{start, programID, start, end}, args...)...)
	if err != nil {
		return nil, classify(fmt.Errorf("new members by day: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var d, n int64
		if err := rows.Scan(&d, &n); err != nil {
			return nil, err
		}
		if d >= 0 && d < int64(days) {
			out[d] = n
		}
	}
	return out, classify(rows.Err())
}
