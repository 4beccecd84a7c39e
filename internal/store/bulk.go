package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/id"
)

// NewMember is a member created in bulk: an import, a benchmark's seed.
type NewMember struct {
	ID           string
	ExternalID   string
	ReferralCode string
}

// InsertMembers creates active members in multi-row statements: a
// benchmark loads 100,000 this way in seconds. Their opening balances go
// through the ledger (ledger.Open), like every point.
func (tx *Tx) InsertMembers(ctx context.Context, programID string, ms []NewMember, now time.Time) error {
	const chunk = 200
	for start := 0; start < len(ms); start += chunk {
		part := ms[start:min(start+chunk, len(ms))]
		args := make([]any, 0, 9*len(part))
		for _, m := range part {
			args = append(args, m.ID, programID, tx.seal("members", "external_id", m.ExternalID, m.ID), "unknown",
				tx.seal("members", "attributes", "{}", m.ID), "active", m.ReferralCode, ms64(now), ms64(now))
		}
		q := `INSERT INTO members (id, program_id, external_id, gender, attributes, status, referral_code, created_at, updated_at) VALUES `
		if _, err := tx.exec(ctx, q+placeholders(len(part), 9), args...); err != nil {
			return fmt.Errorf("insert members: %w", err)
		}
		// Their external_id identities, by which ext: finds them.
		ids := make([]Identity, 0, len(part))
		for _, m := range part {
			if m.ExternalID != "" {
				ids = append(ids, Identity{ID: id.New("idn"), MemberID: m.ID, Kind: "external_id", Value: m.ExternalID, CreatedAt: now})
			}
		}
		if err := tx.insertIdentities(ctx, programID, ids); err != nil {
			return err
		}
	}
	return nil
}

// InsertBalances creates the balance rows of members that have none, with
// their figures: the ledger's bulk opening (ledger.Open) writes them so.
func (tx *Tx) InsertBalances(ctx context.Context, programID string, bs []Balance, now time.Time) error {
	const chunk = 200
	for start := 0; start < len(bs); start += chunk {
		part := bs[start:min(start+chunk, len(bs))]
		args := make([]any, 0, 11*len(part))
		for _, b := range part {
			args = append(args, programID, b.MemberID, b.Currency, b.Available, b.Pending, b.Held, b.Debt,
				b.LifetimeEarned, b.LifetimeSpent, b.LifetimeExpired, ms64(now))
		}
		q := `INSERT INTO balances (program_id, ` + balanceColumns + `, updated_at) VALUES `
		if _, err := tx.exec(ctx, q+placeholders(len(part), 11), args...); err != nil {
			return fmt.Errorf("insert balances: %w", err)
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
	for _, t := range []string{"members", "identities", "balances", "transactions", "postings", "lots", "lot_moves"} {
		if _, err := db.write.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return classify(err)
		}
	}
	return nil
}
