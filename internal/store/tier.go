package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/null"
)

// TierChange is one entry of a member's tier history.
type TierChange struct {
	ID       string
	MemberID string
	From     null.String
	To       null.String
	Reason   string
	At       time.Time
}

// SetTier changes a member's tier and records the change.
func (tx *Tx) SetTier(ctx context.Context, programID string, c TierChange) error {
	if _, err := tx.exec(ctx, `UPDATE members SET tier = ?, updated_at = ? WHERE id = ? AND program_id = ?`,
		c.To, ms(c.At), c.MemberID, programID); err != nil {
		return fmt.Errorf("set tier: %w", err)
	}
	_, err := tx.exec(ctx, `INSERT INTO tier_history (id, program_id, member_id, from_tier, to_tier, reason, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, programID, c.MemberID, c.From, c.To, c.Reason, ms(c.At))
	if err != nil {
		return fmt.Errorf("tier history: %w", err)
	}
	tx.signal(SignalTierChanged, programID, c.MemberID)
	return nil
}

// TierHistory lists a member's tier changes, newest first.
func (c *Conn) TierHistory(ctx context.Context, programID, memberID string, p Page) ([]TierChange, string, error) {
	q := `SELECT id, member_id, from_tier, to_tier, reason, at FROM tier_history WHERE member_id = ? AND program_id = ?`
	args := []any{memberID, programID}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("tier history: %w", err)
	}
	defer rows.Close()
	var out []TierChange
	for rows.Next() {
		var t TierChange
		var at int64
		if err := rows.Scan(&t.ID, &t.MemberID, &t.From, &t.To, &t.Reason, &at); err != nil {
			return nil, "", err
		}
		t.At = fromMS(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(t TierChange) string { return t.ID })
	return out, cur, nil
}

// LastUpgrade returns when a member last bought a tier upgrade to tier,
// or the zero time.
func (tx *Tx) LastUpgrade(ctx context.Context, programID, memberID, tier string) (time.Time, error) {
	var at *int64
	err := tx.queryRow(ctx, `SELECT MAX(at) FROM tier_history WHERE member_id = ? AND program_id = ? AND reason = 'upgrade' AND to_tier = ?`,
		memberID, programID, tier).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, classify(err)
	}
	return fromMS(*at), nil
}

// GrowthBetween sums what a member earned in a currency in (since, until]:
// the amounts of its lots opened then, less what reversals clawed back
// from them.
func (tx *Tx) GrowthBetween(ctx context.Context, programID, memberID, currency string, since, until time.Time) (int64, error) {
	var issued, clawed int64
	err := tx.queryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM lots WHERE member_id = ? AND currency = ? AND program_id = ?
		AND created_at > ? AND created_at <= ?`, memberID, currency, programID, ms(since), ms(until)).Scan(&issued)
	if err != nil {
		return 0, classify(fmt.Errorf("growth since: %w", err))
	}
	err = tx.queryRow(ctx, `SELECT COALESCE(SUM(m.points), 0) FROM lot_moves m JOIN lots l ON l.id = m.lot_id
		WHERE l.member_id = ? AND l.currency = ? AND l.program_id = ? AND l.created_at > ? AND l.created_at <= ? AND m.kind = 'claw'`,
		memberID, currency, programID, ms(since), ms(until)).Scan(&clawed)
	if err != nil {
		return 0, classify(fmt.Errorf("growth since: %w", err))
	}
	return issued + clawed, nil
}

// MembersForReview lists the IDs of active and frozen members after
// cursor, in ID order, for the tier review.
func (c *Conn) MembersForReview(ctx context.Context, programID, after string, limit int) ([]string, error) {
	rows, err := c.query(ctx, `SELECT id FROM members WHERE program_id = ? AND status IN ('active', 'frozen') AND id > ?
		ORDER BY id LIMIT ?`, programID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("members for review: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, classify(rows.Err())
}
