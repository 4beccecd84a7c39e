package store

import (
	"context"
	"fmt"
	"strings"
)

// Posting accounts. Member accounts carry the member's ID; the others are
// the program's.
const (
	AccountAvailable  = "available"  // member: points that can be spent
	AccountPending    = "pending"    // member: earned, not yet available
	AccountHeld       = "held"       // member: reserved by holds
	AccountDebt       = "debt"       // member: negative when the member owes points
	AccountIssuance   = "issuance"   // program: the other side of every earn
	AccountRedemption = "redemption" // program: where spent and captured points go
	AccountExpired    = "expired"    // program: where expired and forfeited points go
	AccountAdjustment = "adjustment" // program: the other side of adjustments
)

// Check is the outcome of one invariant check.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

type verifyCheck struct {
	name, what string
	query      string // returns offending rows; each column is printed
}

// The invariants of design.md. Each query returns the rows that break one;
// none means the check holds.
var verifyChecks = []verifyCheck{
	{"transactions_balance", "every transaction's postings sum to zero per currency",
		`SELECT transaction_id, currency, SUM(amount) FROM postings WHERE program_id = ?
		 GROUP BY transaction_id, currency HAVING SUM(amount) <> 0`},
	{"balances_match_postings", "each balance row equals the sums of its member's postings",
		`SELECT b.member_id, b.currency, b.available, b.pending, b.held, b.debt FROM balances b
		 LEFT JOIN (SELECT member_id, currency,
		     SUM(CASE WHEN account = 'available' THEN amount ELSE 0 END) AS av,
		     SUM(CASE WHEN account = 'pending' THEN amount ELSE 0 END) AS pe,
		     SUM(CASE WHEN account = 'held' THEN amount ELSE 0 END) AS he,
		     SUM(CASE WHEN account = 'debt' THEN amount ELSE 0 END) AS de
		   FROM postings WHERE program_id = ? AND member_id IS NOT NULL GROUP BY member_id, currency) p
		 ON p.member_id = b.member_id AND p.currency = b.currency
		 WHERE b.program_id = ? AND (b.available <> COALESCE(p.av, 0) OR b.pending <> COALESCE(p.pe, 0)
		   OR b.held <> COALESCE(p.he, 0) OR b.debt <> -COALESCE(p.de, 0))`},
	{"postings_have_balances", "every member posting belongs to a balance row",
		`SELECT p.member_id, p.currency FROM postings p WHERE p.program_id = ? AND p.member_id IS NOT NULL
		 AND NOT EXISTS (SELECT 1 FROM balances b WHERE b.member_id = p.member_id AND b.currency = p.currency)
		 GROUP BY p.member_id, p.currency`},
	{"balances_match_lots", "available and pending equal the remaining points of available and pending lots",
		`SELECT b.member_id, b.currency, b.available, b.pending FROM balances b
		 LEFT JOIN (SELECT member_id, currency,
		     SUM(CASE WHEN status = 'available' THEN remaining ELSE 0 END) AS av,
		     SUM(CASE WHEN status = 'pending' THEN remaining ELSE 0 END) AS pe
		   FROM lots WHERE program_id = ? GROUP BY member_id, currency) l
		 ON l.member_id = b.member_id AND l.currency = b.currency
		 WHERE b.program_id = ? AND (b.available <> COALESCE(l.av, 0) OR b.pending <> COALESCE(l.pe, 0))`},
	{"lots_within_bounds", "0 <= remaining <= amount for every lot, and spent lots are empty",
		`SELECT id, amount, remaining, status FROM lots WHERE program_id = ?
		 AND (remaining < 0 OR remaining > amount OR (status IN ('spent', 'expired', 'reversed') AND remaining <> 0))`},
	{"lots_match_moves", "each lot's remaining equals the sum of its lot moves",
		`SELECT l.id, l.remaining, COALESCE(m.s, 0) FROM lots l
		 LEFT JOIN (SELECT lot_id, SUM(points) AS s FROM lot_moves WHERE program_id = ? GROUP BY lot_id) m ON m.lot_id = l.id
		 WHERE l.program_id = ? AND l.remaining <> COALESCE(m.s, 0)`},
	{"holds_match_held", "held equals the points of the member's open holds",
		`SELECT b.member_id, b.currency, b.held, COALESCE(h.s, 0) FROM balances b
		 LEFT JOIN (SELECT member_id, currency, SUM(points) AS s FROM holds WHERE program_id = ? AND status = 'held'
		   GROUP BY member_id, currency) h ON h.member_id = b.member_id AND h.currency = b.currency
		 WHERE b.program_id = ? AND b.held <> COALESCE(h.s, 0)`},
	{"holds_consistent", "no hold is both captured and released; captures stay within the hold",
		`SELECT id, status, points, captured FROM holds WHERE program_id = ? AND NOT (
		   (status = 'held' AND captured = 0 AND transaction_id IS NULL) OR
		   (status = 'released' AND captured = 0) OR
		   (status = 'captured' AND captured > 0 AND captured <= points AND transaction_id IS NOT NULL))`},
	{"reversals_bounded", "a reversal never exceeds what it reverses",
		`SELECT t.id, t.points, t.reversed, COALESCE(r.s, 0) FROM transactions t
		 LEFT JOIN (SELECT reverses, SUM(points) AS s FROM transactions WHERE program_id = ? AND type = 'reverse'
		   GROUP BY reverses) r ON r.reverses = t.id
		 WHERE t.program_id = ? AND (t.reversed <> COALESCE(r.s, 0) OR t.reversed > (CASE WHEN t.points < 0 THEN -t.points ELSE t.points END))`},
	{"report_rollups_match", "the report rollups sum the ledger's transactions and expiries per quarter hour",
		rollupsMatch},
	{"balances_non_negative", "available, pending, held and debt are never below zero",
		`SELECT member_id, currency, available, pending, held, debt FROM balances WHERE program_id = ?
		 AND (available < 0 OR pending < 0 OR held < 0 OR debt < 0)`},
}

// Verify checks the ledger invariants of one program and reports each
// check. It reads only; run it while the server serves.
func (c *Conn) Verify(ctx context.Context, programID string) ([]Check, error) {
	out := make([]Check, 0, len(verifyChecks))
	for _, vc := range verifyChecks {
		n := strings.Count(vc.query, "?")
		args := make([]any, n)
		for i := range args {
			args[i] = programID
		}
		rows, err := c.query(ctx, vc.query+` LIMIT 6`, args...)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", vc.name, err)
		}
		cols, _ := rows.Columns()
		var bad []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("verify %s: %w", vc.name, err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts[i] = fmt.Sprint(v)
			}
			bad = append(bad, strings.Join(parts, " "))
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, classify(fmt.Errorf("verify %s: %w", vc.name, err))
		}
		ch := Check{Name: vc.name, OK: len(bad) == 0, Detail: vc.what}
		if len(bad) > 0 {
			more := ""
			if len(bad) > 5 {
				bad, more = bad[:5], " …"
			}
			ch.Detail = vc.what + ": violated by " + strings.Join(bad, "; ") + more
		}
		out = append(out, ch)
	}
	return out, nil
}
