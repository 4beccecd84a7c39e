package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Moves of a merge: each re-points the source member's rows to the
// target in the same transaction, the caller holding both members' locks.

// MoveLots re-points every lot of a member (same IDs, dates, merchants,
// moves): the ledger's merge moves their points with postings.
func (tx *Tx) MoveLots(ctx context.Context, programID, from, to string) (int64, error) {
	return tx.move(ctx, `UPDATE lots SET member_id = ? WHERE program_id = ? AND member_id = ?`, to, programID, from)
}

// MoveHolds re-points a member's open holds.
func (tx *Tx) MoveHolds(ctx context.Context, programID, from, to string, now time.Time) (int64, error) {
	return tx.move(ctx, `UPDATE holds SET member_id = ?, updated_at = ? WHERE program_id = ? AND member_id = ? AND status = 'held'`,
		to, ms(now), programID, from)
}

// MoveCoupons re-points a member's active coupons.
func (tx *Tx) MoveCoupons(ctx context.Context, programID, from, to string, now time.Time) (int64, error) {
	return tx.move(ctx, `UPDATE coupons SET member_id = ?, updated_at = ? WHERE program_id = ? AND member_id = ? AND status = 'active'`,
		to, ms(now), programID, from)
}

// MoveRedemptions re-points a member's pending redemptions.
func (tx *Tx) MoveRedemptions(ctx context.Context, programID, from, to string, now time.Time) (int64, error) {
	return tx.move(ctx, `UPDATE redemptions SET member_id = ?, updated_at = ? WHERE program_id = ? AND member_id = ? AND status = 'pending'`,
		to, ms(now), programID, from)
}

// MoveIdentities re-points a member's identities except those of the
// kinds in keep.
func (tx *Tx) MoveIdentities(ctx context.Context, programID, from, to string, keep []string) (int64, error) {
	q := `UPDATE identities SET member_id = ? WHERE program_id = ? AND member_id = ?`
	args := []any{to, programID, from}
	if len(keep) > 0 {
		q += ` AND kind NOT IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(keep)), ", ") + `)`
		for _, k := range keep {
			args = append(args, k)
		}
	}
	return tx.move(ctx, q, args...)
}

func (tx *Tx) move(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("merge: %w", err)
	}
	return affected(res), nil
}

// SetMerged marks a member merged into another, and re-points members
// merged into it before, so that merged_into never names a merged member
// (an identity left on any of them resolves with one join).
func (tx *Tx) SetMerged(ctx context.Context, programID, from, to string, now time.Time) error {
	if _, err := tx.exec(ctx, `UPDATE members SET status = 'merged', merged_into = ?, updated_at = ? WHERE program_id = ? AND id = ?`,
		to, ms(now), programID, from); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE members SET merged_into = ? WHERE program_id = ? AND merged_into = ?`,
		to, programID, from); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// TagCount is a tag and how many members have it.
type TagCount struct {
	Tag     string
	Members int64
}

// TagCounts lists a programme's tags with their members, by tag.
func (c *Conn) TagCounts(ctx context.Context, programID string) ([]TagCount, error) {
	rows, err := c.query(ctx, `SELECT tag, COUNT(*) FROM member_tags WHERE program_id = ? GROUP BY tag ORDER BY tag`, programID)
	if err != nil {
		return nil, classify(fmt.Errorf("tags: %w", err))
	}
	defer rows.Close()
	out := []TagCount{}
	for rows.Next() {
		var t TagCount
		if err := rows.Scan(&t.Tag, &t.Members); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, classify(rows.Err())
}
