package store

import (
	"context"
	"fmt"
	"time"
)

// SeedMember is a member to create in bulk, with an opening balance.
type SeedMember struct {
	ID           string
	ExternalID   string
	ReferralCode string
	Points       int64 // earned at once, never expiring; 0 for none
	TxnID        string
	LotID        string
}

// SeedMembers creates members with an opening earn each, in multi-row
// statements: benchmarks and load tests load 100,000 members this way in
// seconds. The books balance exactly as if each had earned through the
// ledger (transaction, postings, lot, lot move, balance).
func (tx *Tx) SeedMembers(ctx context.Context, programID string, ms []SeedMember, now time.Time) error {
	const chunk = 200
	for start := 0; start < len(ms); start += chunk {
		part := ms[start:min(start+chunk, len(ms))]
		var members, balances, txns, postings, lots, moves []any
		nb, nt := 0, 0
		for _, m := range part {
			members = append(members, m.ID, programID, m.ExternalID, "unknown", "{}", "active", m.ReferralCode, ms64(now), ms64(now))
			if m.Points <= 0 {
				continue
			}
			nb++
			balances = append(balances, programID, m.ID, "points", m.Points, m.Points, ms64(now))
			nt++
			txns = append(txns, programID, m.TxnID, "earn", m.ID, "points", m.Points, "seed", "completed", ms64(now))
			postings = append(postings, m.TxnID, 0, programID, AccountIssuance, nil, "points", -m.Points,
				m.TxnID, 1, programID, AccountAvailable, m.ID, "points", m.Points)
			lots = append(lots, programID, m.LotID, m.ID, "points", m.Points, m.Points, "available", ms64(now), m.TxnID, ms64(now))
			moves = append(moves, programID, m.LotID, m.TxnID, MoveIssue, m.Points, ms64(now))
		}
		stmts := []struct {
			q    string
			n    int
			args []any
		}{
			{`INSERT INTO members (id, program_id, external_id, gender, attributes, status, referral_code, created_at, updated_at) VALUES `, len(part), members},
			{`INSERT INTO balances (program_id, member_id, currency, available, lifetime_earned, updated_at) VALUES `, nb, balances},
			{`INSERT INTO transactions (program_id, id, type, member_id, currency, points, reason, status, created_at) VALUES `, nt, txns},
			{`INSERT INTO postings (transaction_id, seq, program_id, account, member_id, currency, amount) VALUES `, 2 * nt, postings},
			{`INSERT INTO lots (program_id, id, member_id, currency, amount, remaining, status, available_at, transaction_id, created_at) VALUES `, nt, lots},
			{`INSERT INTO lot_moves (program_id, lot_id, transaction_id, kind, points, created_at) VALUES `, nt, moves},
		}
		for _, s := range stmts {
			if s.n == 0 {
				continue
			}
			if _, err := tx.q.ExecContext(ctx, tx.d.render(s.q+placeholders(s.n, len(s.args)/s.n)), s.args...); err != nil {
				return fmt.Errorf("seed members: %w", err)
			}
		}
	}
	return nil
}

func ms64(t time.Time) int64 { return t.UnixMilli() }

// AnalyzeSeeded refreshes the planner's statistics of the tables
// SeedMembers fills. After a bulk load the planner otherwise guesses until
// autovacuum catches up, and may scan a whole table for one member. Tables
// still empty are left alone: statistics saying "empty" would make cached
// plans scan them whole once they fill.
//
// PostgreSQL only. SQLite plans our indexed lookups well without
// statistics, and its ANALYZE writes sqlite_stat4, after which SQLite
// recompiles a prepared statement whenever a bound value changes: every
// read then pays a parse, which halved balance reads.
func (db *DB) AnalyzeSeeded(ctx context.Context) error {
	if !db.d.postgres {
		return nil
	}
	for _, t := range []string{"members", "balances", "transactions", "postings", "lots", "lot_moves"} {
		if _, err := db.write.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return classify(err)
		}
	}
	return nil
}
