package store

import (
	"context"
	"fmt"
	"time"
)

// BucketMS is a report rollup's span: a quarter hour, the greatest common
// step of the world's UTC offsets, so that a programme's local day is a
// whole number of buckets in any timezone.
const BucketMS = 15 * 60 * 1000

// rollupKey names one rollup row (its shard comes from the transaction).
type rollupKey struct {
	currency, merchantID string
	bucket               int64
}

// rollupRow is what a ledger operation adds to one rollup row.
type rollupRow struct {
	issued, spent, refunded, reversed, adjusted, expired int64
}

// reverseKind says what a reversal undid, from where its points went: back
// from redemption, a spend or capture; back to adjustment, an adjustment;
// through exchange, an exchange (which counts in no rollup, nor does its
// reversal); otherwise an earn (to issuance, or nowhere when the debt was
// forgiven).
func reverseKind(ps []Posting) string {
	for _, p := range ps {
		switch p.Account {
		case AccountRedemption:
			return "spend"
		case AccountAdjustment:
			return "adjust"
		case AccountExchange:
			return "exchange"
		}
	}
	return "earn"
}

// rollups sums a ledger operation's changes into the rows it adds to: its
// transactions by their merchant and its expiries by the lot's issuer, in
// the quarter hour of their time. The SQL of rollupSource computes the same
// from the ledger rows; verify compares the two.
func rollups(c Changes) map[rollupKey]*rollupRow {
	out := map[rollupKey]*rollupRow{}
	currency := make(map[string]string, len(c.Txns)) // an expiry's moves are of its transaction's currency
	row := func(currency, merchant string, at time.Time) *rollupRow {
		k := rollupKey{currency, merchant, at.UnixMilli() / BucketMS}
		if out[k] == nil {
			out[k] = &rollupRow{}
		}
		return out[k]
	}
	for i, t := range c.Txns {
		currency[t.ID] = t.Currency
		switch t.Type {
		case "earn":
			row(t.Currency, string(t.MerchantID), t.CreatedAt).issued += t.Points
		case "spend", "capture":
			row(t.Currency, string(t.MerchantID), t.CreatedAt).spent += t.Points
		case "adjust":
			row(t.Currency, string(t.MerchantID), t.CreatedAt).adjusted += t.Points
		case "reverse":
			switch reverseKind(c.Postings[i]) {
			case "spend":
				row(t.Currency, string(t.MerchantID), t.CreatedAt).refunded += t.Points
			case "earn":
				row(t.Currency, string(t.MerchantID), t.CreatedAt).reversed += t.Points
			}
		}
	}
	for _, m := range c.Moves {
		if m.Kind == MoveExpire {
			row(currency[m.TransactionID], string(m.IssuerMerchantID), m.CreatedAt).expired -= m.Points
		}
	}
	for k, r := range out {
		if *r == (rollupRow{}) {
			delete(out, k)
		}
	}
	return out
}

// rollupSource is the ledger summed as the rollups sum it, row by row; the
// migration that made report_rollups filled it with the same.
const rollupSource = `
	SELECT t.currency AS currency, COALESCE(t.merchant_id, '') AS merchant_id, t.created_at / 900000 AS bucket,
		CASE WHEN t.type = 'earn' THEN t.points ELSE 0 END AS issued,
		CASE WHEN t.type IN ('spend', 'capture') THEN t.points ELSE 0 END AS spent,
		CASE WHEN t.type = 'reverse' AND EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id
			AND p.account = 'redemption') THEN t.points ELSE 0 END AS refunded,
		CASE WHEN t.type = 'reverse' AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id
			AND p.account IN ('redemption', 'adjustment', 'exchange')) THEN t.points ELSE 0 END AS reversed,
		CASE WHEN t.type = 'adjust' THEN t.points ELSE 0 END AS adjusted,
		0 AS expired
	FROM transactions t WHERE t.program_id = ? AND t.type IN ('earn', 'spend', 'capture', 'reverse', 'adjust')
	UNION ALL
	SELECT l.currency, COALESCE(m.issuer_merchant_id, ''), m.created_at / 900000, 0, 0, 0, 0, 0, -m.points
	FROM lot_moves m JOIN lots l ON l.id = m.lot_id WHERE m.program_id = ? AND m.kind = 'expire'`

// rollupsMatch is verify's check of the rollups: the ledger's rows added
// and the rollups subtracted, per row, leave nothing.
const rollupsMatch = `SELECT currency, merchant_id, bucket, SUM(issued), SUM(spent), SUM(refunded), SUM(reversed),
		SUM(adjusted), SUM(expired) FROM (` + rollupSource + `
	UNION ALL
	SELECT currency, merchant_id, bucket, -issued, -spent, -refunded, -reversed, -adjusted, -expired
	FROM report_rollups WHERE program_id = ?
	) x GROUP BY currency, merchant_id, bucket
	HAVING SUM(issued) <> 0 OR SUM(spent) <> 0 OR SUM(refunded) <> 0 OR SUM(reversed) <> 0
		OR SUM(adjusted) <> 0 OR SUM(expired) <> 0`

// BucketTotals are the rollups of one bucket.
type BucketTotals struct {
	Bucket int64 // Unix ms / BucketMS
	Totals
}

// RollupTotals reads the rollups of [from, to), summed per bucket in
// bucket order (perBucket) or all in one. from and to must fall on bucket
// boundaries.
func (c *Conn) RollupTotals(ctx context.Context, programID, currency, merchantID string, from, to time.Time, perBucket bool) ([]BucketTotals, error) {
	mer, args := merchantClause("merchant_id", merchantID)
	bucket, group := "0", ""
	if perBucket {
		bucket, group = "bucket", " GROUP BY bucket ORDER BY bucket"
	}
	rows, err := c.query(ctx, `SELECT `+bucket+`, COALESCE(SUM(issued), 0), COALESCE(SUM(spent) - SUM(refunded), 0),
			COALESCE(SUM(expired), 0), COALESCE(SUM(reversed), 0), COALESCE(SUM(adjusted), 0)
		FROM report_rollups WHERE program_id = ? AND currency = ? AND bucket >= ? AND bucket < ?`+mer+group,
		append([]any{programID, currency, from.UnixMilli() / BucketMS, to.UnixMilli() / BucketMS}, args...)...)
	if err != nil {
		return nil, classify(fmt.Errorf("rollups: %w", err))
	}
	defer rows.Close()
	var out []BucketTotals
	for rows.Next() {
		var b BucketTotals
		if err := rows.Scan(&b.Bucket, &b.Issued, &b.Spent, &b.Expired, &b.Reversed, &b.Adjusted); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, classify(rows.Err())
}

// OnBucket reports whether t falls on a rollup boundary.
func OnBucket(t time.Time) bool { return t.UnixMilli()%BucketMS == 0 }
