package store

import (
	"context"
	"fmt"
	"time"
)

// Due is a member a trigger may have fired for, with the instant its
// occurrence is keyed by (a join, the last activity, a lot's expiry, a
// tier change) and, for a tier change, its ID.
type Due struct {
	MemberID string
	At       time.Time
	Ref      string
}

func scanDue(ctx context.Context, c *Conn, what, q string, args ...any) ([]Due, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("%s: %w", what, err))
	}
	defer rows.Close()
	var out []Due
	for rows.Next() {
		var d Due
		var at int64
		if err := rows.Scan(&d.MemberID, &at, &d.Ref); err != nil {
			return nil, err
		}
		d.At = fromMS(at)
		out = append(out, d)
	}
	return out, classify(rows.Err())
}

// ActiveMemberIDs lists the IDs of a programme's active members after
// after, in ID order.
func (c *Conn) ActiveMemberIDs(ctx context.Context, programID, after string, limit int) ([]Due, error) {
	return scanDue(ctx, c, "active members", `SELECT id, created_at, '' FROM members WHERE program_id = ? AND status = 'active' AND id > ?
		ORDER BY id LIMIT ?`, programID, after, limit)
}

// MembersJoined lists the active members who joined in [since, until].
func (c *Conn) MembersJoined(ctx context.Context, programID string, since, until time.Time) ([]Due, error) {
	return scanDue(ctx, c, "members joined", `SELECT id, created_at, '' FROM members WHERE program_id = ? AND status = 'active'
		AND created_at >= ? AND created_at <= ? ORDER BY id`, programID, ms(since), ms(until))
}

// MembersInactiveSince lists the active members whose last activity (or,
// without any, their join) was at or before before.
func (c *Conn) MembersInactiveSince(ctx context.Context, programID string, before time.Time) ([]Due, error) {
	return scanDue(ctx, c, "inactive members", `SELECT m.id, COALESCE(s.last_activity_at, m.created_at), '' FROM members m
		LEFT JOIN member_stats s ON s.program_id = m.program_id AND s.member_id = m.id
		WHERE m.program_id = ? AND m.status = 'active' AND COALESCE(s.last_activity_at, m.created_at) <= ? ORDER BY m.id`,
		programID, ms(before))
}

// PointsExpiring lists the active members with available points expiring
// in (from, until], once per expiry instant.
func (c *Conn) PointsExpiring(ctx context.Context, programID string, from, until time.Time) ([]Due, error) {
	return scanDue(ctx, c, "points expiring", `SELECT DISTINCT l.member_id, l.expires_at, '' FROM lots l
		JOIN members m ON m.id = l.member_id AND m.status = 'active'
		WHERE l.program_id = ? AND l.status = 'available' AND l.remaining > 0 AND l.expires_at > ? AND l.expires_at <= ?
		ORDER BY l.member_id, l.expires_at`, programID, ms(from), ms(until))
}

// TierChanges lists the tier changes in [since, until] (to a tier, when
// to is set) of active members.
func (c *Conn) TierChanges(ctx context.Context, programID, to string, since, until time.Time) ([]Due, error) {
	q, args := `SELECT h.member_id, h.at, h.id FROM tier_history h JOIN members m ON m.id = h.member_id AND m.status = 'active'
		WHERE h.program_id = ? AND h.at >= ? AND h.at <= ?`, []any{programID, ms(since), ms(until)}
	if to != "" {
		q, args = q+` AND h.to_tier = ?`, append(args, to)
	}
	return scanDue(ctx, c, "tier changes", q+` ORDER BY h.id`, args...)
}
