package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Campaign is a stored campaign; Schedule, Actions and Conversion are the
// domain's JSON.
type Campaign struct {
	ID             string
	ProgramID      string
	Name           string
	Status         string
	Schedule       json.RawMessage
	Actions        json.RawMessage
	SegmentID      null.String
	ControlPercent int64
	Budget         *int64
	BudgetUsed     int64
	MerchantID     null.String
	Conversion     json.RawMessage
	StartsAt       *time.Time
	EndsAt         *time.Time
	ActivatedAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const campaignColumns = `id, program_id, name, status, schedule, actions, segment_id, control_percent, budget, budget_used,
	merchant_id, conversion, starts_at, ends_at, activated_at, created_at, updated_at`

func scanCampaign(row interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	var sched, acts, conv string
	var budget, starts, ends, activated sql.NullInt64
	var created, updated int64
	err := row.Scan(&c.ID, &c.ProgramID, &c.Name, &c.Status, &sched, &acts, &c.SegmentID, &c.ControlPercent, &budget,
		&c.BudgetUsed, &c.MerchantID, &conv, &starts, &ends, &activated, &created, &updated)
	c.Schedule, c.Actions, c.Conversion = json.RawMessage(sched), json.RawMessage(acts), json.RawMessage(conv)
	if budget.Valid {
		c.Budget = &budget.Int64
	}
	c.StartsAt, c.EndsAt, c.ActivatedAt = fromOptMS(starts), fromOptMS(ends), fromOptMS(activated)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, err
}

// SaveCampaign inserts a campaign or replaces its settings and status
// (not budget_used, which only ChargeCampaign moves).
func (tx *Tx) SaveCampaign(ctx context.Context, c Campaign) error {
	_, err := tx.exec(ctx, `INSERT INTO campaigns (`+campaignColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, schedule = excluded.schedule,
		actions = excluded.actions, segment_id = excluded.segment_id, control_percent = excluded.control_percent,
		budget = excluded.budget, merchant_id = excluded.merchant_id, conversion = excluded.conversion,
		starts_at = excluded.starts_at, ends_at = excluded.ends_at, activated_at = excluded.activated_at,
		updated_at = excluded.updated_at WHERE campaigns.program_id = excluded.program_id`,
		c.ID, c.ProgramID, c.Name, c.Status, string(c.Schedule), string(c.Actions), c.SegmentID, c.ControlPercent,
		optInt(c.Budget), c.BudgetUsed, c.MerchantID, string(c.Conversion), optMS(c.StartsAt), optMS(c.EndsAt),
		optMS(c.ActivatedAt), ms(c.CreatedAt), ms(c.UpdatedAt))
	if err != nil {
		return classify(fmt.Errorf("save campaign: %w", err))
	}
	return nil
}

// Campaign reads a campaign; NotFound when there is none.
func (c *Conn) Campaign(ctx context.Context, programID, id string) (Campaign, error) {
	cm, err := scanCampaign(c.queryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return cm, failure.New(failure.NotFound, "campaign %s not found", id)
	}
	if err != nil {
		return cm, classify(fmt.Errorf("campaign: %w", err))
	}
	return cm, nil
}

// Campaigns lists a programme's campaigns, newest first; merchantID, when
// set, only that merchant's.
func (c *Conn) Campaigns(ctx context.Context, programID, merchantID string, p Page) ([]Campaign, string, error) {
	q, args := `SELECT `+campaignColumns+` FROM campaigns WHERE program_id = ?`, []any{programID}
	if merchantID != "" {
		q, args = q+` AND merchant_id = ?`, append(args, merchantID)
	}
	return messagePage(ctx, c, q, args, p, scanCampaign, func(cm Campaign) string { return cm.ID })
}

// ActiveCampaigns lists a programme's active campaigns in ID order.
func (c *Conn) ActiveCampaigns(ctx context.Context, programID string) ([]Campaign, error) {
	rows, err := c.query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE program_id = ? AND status = 'active' ORDER BY id`, programID)
	if err != nil {
		return nil, classify(fmt.Errorf("active campaigns: %w", err))
	}
	defer rows.Close()
	var out []Campaign
	for rows.Next() {
		cm, err := scanCampaign(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, cm)
	}
	return out, classify(rows.Err())
}

// ChargeCampaign adds points to what a campaign's budget paid, unless
// that would pass the budget: ok is false then and nothing changes.
func (tx *Tx) ChargeCampaign(ctx context.Context, programID, id string, points int64) (ok bool, err error) {
	res, err := tx.exec(ctx, `UPDATE campaigns SET budget_used = budget_used + ?
		WHERE id = ? AND program_id = ? AND (budget IS NULL OR budget_used + ? <= budget)`, points, id, programID, points)
	if err != nil {
		return false, classify(fmt.Errorf("charge campaign: %w", err))
	}
	return affected(res) == 1, nil
}

// DrawCampaign records a member's draw for a campaign unless one was made
// before, and returns the one that stands.
func (tx *Tx) DrawCampaign(ctx context.Context, campaignID, memberID string, control bool) (bool, error) {
	v := int64(0)
	if control {
		v = 1
	}
	if _, err := tx.exec(ctx, `INSERT INTO campaign_draws (campaign_id, member_id, control) VALUES (?, ?, ?)
		ON CONFLICT (campaign_id, member_id) DO NOTHING`, campaignID, memberID, v); err != nil {
		return false, classify(fmt.Errorf("draw: %w", err))
	}
	err := tx.queryRow(ctx, `SELECT control FROM campaign_draws WHERE campaign_id = ? AND member_id = ?`, campaignID, memberID).Scan(&v)
	if err != nil {
		return false, classify(fmt.Errorf("draw: %w", err))
	}
	return v == 1, nil
}

// CampaignMember is one occurrence of a campaign for a member.
type CampaignMember struct {
	CampaignID string
	MemberID   string
	Occurrence string
	ProgramID  string
	Group      string
	Reason     null.String
	Points     int64
	CouponCode null.String
	MessageID  null.String
	At         time.Time
	Seq        string
}

const campaignMemberColumns = `campaign_id, member_id, occurrence, program_id, grp, reason, points, coupon_code, message_id, at, seq`

// ClaimOccurrence records an occurrence; claimed is false when it was
// recorded before (by this node or another), and then nothing changes.
func (tx *Tx) ClaimOccurrence(ctx context.Context, m CampaignMember) (claimed bool, err error) {
	res, err := tx.exec(ctx, `INSERT INTO campaign_members (`+campaignMemberColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (campaign_id, member_id, occurrence) DO NOTHING`,
		m.CampaignID, m.MemberID, m.Occurrence, m.ProgramID, m.Group, m.Reason, m.Points, m.CouponCode, m.MessageID, ms(m.At), m.Seq)
	if err != nil {
		return false, classify(fmt.Errorf("claim occurrence: %w", err))
	}
	return affected(res) == 1, nil
}

// SetOccurrenceOutcome records what the actions of a claimed occurrence
// gave.
func (tx *Tx) SetOccurrenceOutcome(ctx context.Context, m CampaignMember) error {
	_, err := tx.exec(ctx, `UPDATE campaign_members SET grp = ?, reason = ?, points = ?, coupon_code = ?, message_id = ?
		WHERE campaign_id = ? AND member_id = ? AND occurrence = ?`,
		m.Group, m.Reason, m.Points, m.CouponCode, m.MessageID, m.CampaignID, m.MemberID, m.Occurrence)
	return classify(err)
}

// OccurrenceDone says whether an occurrence was recorded.
func (c *Conn) OccurrenceDone(ctx context.Context, campaignID, memberID, occurrence string) (bool, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM campaign_members WHERE campaign_id = ? AND member_id = ? AND occurrence = ?`,
		campaignID, memberID, occurrence).Scan(&n)
	return n > 0, classify(err)
}

// CampaignMembers lists a campaign's occurrences, newest first; group,
// when set, only those of that group.
func (c *Conn) CampaignMembers(ctx context.Context, campaignID, group string, p Page) ([]CampaignMember, string, error) {
	q, args := `SELECT `+campaignMemberColumns+` FROM campaign_members WHERE campaign_id = ?`, []any{campaignID}
	if group != "" {
		q, args = q+` AND grp = ?`, append(args, group)
	}
	if p.Cursor != "" {
		q, args = q+` AND seq < ?`, append(args, p.Cursor)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", classify(fmt.Errorf("campaign members: %w", err))
	}
	defer rows.Close()
	var out []CampaignMember
	for rows.Next() {
		var m CampaignMember
		var at int64
		if err := rows.Scan(&m.CampaignID, &m.MemberID, &m.Occurrence, &m.ProgramID, &m.Group, &m.Reason, &m.Points,
			&m.CouponCode, &m.MessageID, &at, &m.Seq); err != nil {
			return nil, "", err
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(m CampaignMember) string { return m.Seq })
	return out, cur, nil
}

// CampaignGroup is how one group of a campaign fared: distinct members,
// those with a conversion event in the window after an occurrence.
type CampaignGroup struct {
	Members, Converted int64
}

// CampaignStats is the counts of a campaign's report.
type CampaignStats struct {
	Treated, Control, Skipped CampaignGroup
	PointsGranted             int64
	CouponsIssued             int64
	CouponsRedeemed           int64
	MessagesSent              int64
	MessagesFailed            int64
}

// CampaignStats counts a campaign's occurrences in [from, to) (zero
// times: all) and what they led to: a member converted when an event of
// eventType occurred within window after one of its occurrences.
func (c *Conn) CampaignStats(ctx context.Context, programID, campaignID, eventType string, window time.Duration, from, to time.Time) (CampaignStats, error) {
	var st CampaignStats
	rng, args := ``, []any{}
	if !from.IsZero() {
		rng, args = ` AND cm.at >= ? AND cm.at < ?`, []any{ms(from), ms(to)}
	}
	q := `SELECT cm.grp, COUNT(DISTINCT cm.member_id), COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM events e
			WHERE e.program_id = ? AND e.member_id = cm.member_id AND e.type = ? AND e.occurred_at >= cm.at AND e.occurred_at <= cm.at + ?)
			THEN cm.member_id END), COALESCE(SUM(cm.points), 0), COUNT(cm.coupon_code)
		FROM campaign_members cm WHERE cm.campaign_id = ?` + rng + ` GROUP BY cm.grp`
	rows, err := c.query(ctx, q, append([]any{programID, eventType, window.Milliseconds(), campaignID}, args...)...)
	if err != nil {
		return st, classify(fmt.Errorf("campaign stats: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var grp string
		var g CampaignGroup
		var points, coupons int64
		if err := rows.Scan(&grp, &g.Members, &g.Converted, &points, &coupons); err != nil {
			return st, err
		}
		switch grp {
		case "treated":
			st.Treated, st.PointsGranted, st.CouponsIssued = g, points, coupons
		case "control":
			st.Control = g
		case "skipped":
			st.Skipped = g
		}
	}
	if err := rows.Err(); err != nil {
		return st, classify(err)
	}
	err = c.queryRow(ctx, `SELECT COUNT(*) FROM coupons k JOIN campaign_members cm ON cm.coupon_code = k.code AND k.program_id = ?
		WHERE cm.campaign_id = ? AND k.status = 'redeemed'`+rng, append([]any{programID, campaignID}, args...)...).Scan(&st.CouponsRedeemed)
	if err != nil {
		return st, classify(fmt.Errorf("campaign coupons: %w", err))
	}
	err = c.queryRow(ctx, `SELECT COUNT(CASE WHEN m.status = 'sent' THEN 1 END), COUNT(CASE WHEN m.status = 'failed' THEN 1 END)
		FROM messages m JOIN campaign_members cm ON cm.message_id = m.id WHERE m.program_id = ? AND cm.campaign_id = ?`+rng,
		append([]any{programID, campaignID}, args...)...).Scan(&st.MessagesSent, &st.MessagesFailed)
	if err != nil {
		return st, classify(fmt.Errorf("campaign messages: %w", err))
	}
	return st, nil
}

// CampaignOccurrence is a member's occurrence with its campaign's name.
type CampaignOccurrence struct {
	CampaignMember
	Name string
}

// MemberOccurrences lists every campaign occurrence of a member in the
// programme, oldest first: each campaign's rows through the primary key's
// (campaign_id, member_id) prefix.
func (c *Conn) MemberOccurrences(ctx context.Context, programID, memberID string) ([]CampaignOccurrence, error) {
	rows, err := c.query(ctx, `SELECT cm.campaign_id, cm.member_id, cm.occurrence, cm.program_id, cm.grp, cm.reason, cm.points,
		cm.coupon_code, cm.message_id, cm.at, cm.seq, c.name
		FROM campaigns c JOIN campaign_members cm ON cm.campaign_id = c.id AND cm.member_id = ?
		WHERE c.program_id = ? ORDER BY cm.at, cm.campaign_id, cm.occurrence`, memberID, programID)
	if err != nil {
		return nil, classify(fmt.Errorf("member occurrences: %w", err))
	}
	defer rows.Close()
	var out []CampaignOccurrence
	for rows.Next() {
		var m CampaignOccurrence
		var at int64
		if err := rows.Scan(&m.CampaignID, &m.MemberID, &m.Occurrence, &m.ProgramID, &m.Group, &m.Reason, &m.Points,
			&m.CouponCode, &m.MessageID, &at, &m.Seq, &m.Name); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	return out, classify(rows.Err())
}
