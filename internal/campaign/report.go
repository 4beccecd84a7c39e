package campaign

import (
	"context"
	"math/big"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// Member is one occurrence of a campaign for a member.
type Member struct {
	MemberID   string      `json:"member_id"`
	Occurrence string      `json:"occurrence" doc:"once: once; joined: joined; birthday: the year; inactive: the last activity date; points_expiring: the expiry date; tier_changed: the tier change ID"`
	Group      string      `json:"group" api:"enum=treated|control|skipped"`
	Reason     null.String `json:"reason" doc:"skipped: why (budget_exhausted, or the error code of the action that failed)"`
	Points     int64       `json:"points" doc:"points granted"`
	CouponCode null.String `json:"coupon_code"`
	MessageID  null.String `json:"message_id"`
	At         time.Time   `json:"at"`
}

// Members lists a campaign's occurrences, newest first, of one group when
// group is set.
func (s *Service) Members(ctx context.Context, a auth.Actor, campaignID, group string, pg store.Page) ([]Member, string, error) {
	var fs failure.Fields
	input.OneOf(&fs, "group", group, Treated, Control, Skipped)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	if _, err := own(ctx, s.db.Read(), a, campaignID); err != nil {
		return nil, "", err
	}
	rows, next, err := s.db.Replica().CampaignMembers(ctx, campaignID, group, pg)
	out := make([]Member, 0, len(rows))
	for _, r := range rows {
		out = append(out, Member{MemberID: r.MemberID, Occurrence: r.Occurrence, Group: r.Group, Reason: r.Reason,
			Points: r.Points, CouponCode: r.CouponCode, MessageID: r.MessageID, At: r.At})
	}
	return out, next, err
}

// Group is how one group fared.
type Group struct {
	Members        int64   `json:"members"`
	Converted      int64   `json:"converted"`
	ConversionRate *string `json:"conversion_rate" doc:"converted / members, 4 decimals; null without members"`
}

// Report is a campaign's results: treated against control.
type Report struct {
	CampaignID      string  `json:"campaign_id"`
	Treated         Group   `json:"treated"`
	Control         Group   `json:"control"`
	Skipped         int64   `json:"skipped" doc:"members skipped (budget exhausted, an action failed)"`
	Uplift          *string `json:"uplift" doc:"treated rate − control rate, 4 decimals; null without control members"`
	PointsGranted   int64   `json:"points_granted"`
	BudgetLeft      *int64  `json:"budget_left" doc:"null: no budget"`
	CouponsIssued   int64   `json:"coupons_issued"`
	CouponsRedeemed int64   `json:"coupons_redeemed"`
	MessagesSent    int64   `json:"messages_sent"`
	MessagesFailed  int64   `json:"messages_failed"`
}

// Report measures a campaign over all its occurrences.
func (s *Service) Report(ctx context.Context, a auth.Actor, campaignID string) (Report, error) {
	c, err := own(ctx, s.db.Read(), a, campaignID)
	if err != nil {
		return Report{}, err
	}
	return Measure(ctx, s.db.Replica(), a.ProgramID, c.record(a.ProgramID), time.Time{}, time.Time{})
}

// Measure is a campaign's report over its occurrences in [from, to)
// (zero: all): a member converted when an event of the conversion's type
// occurred within its days after one of its occurrences.
func Measure(ctx context.Context, c *store.Conn, programID string, r store.Campaign, from, to time.Time) (Report, error) {
	cm := campaignOf(r)
	st, err := c.CampaignStats(ctx, programID, r.ID, cm.Conversion.EventType, time.Duration(cm.Conversion.Days)*24*time.Hour, from, to)
	if err != nil {
		return Report{}, err
	}
	out := Report{CampaignID: r.ID, Treated: group(st.Treated), Control: group(st.Control), Skipped: st.Skipped.Members,
		PointsGranted: st.PointsGranted, CouponsIssued: st.CouponsIssued, CouponsRedeemed: st.CouponsRedeemed,
		MessagesSent: st.MessagesSent, MessagesFailed: st.MessagesFailed}
	if r.Budget != nil {
		left := *r.Budget - r.BudgetUsed
		out.BudgetLeft = &left
	}
	if st.Control.Members > 0 && st.Treated.Members > 0 {
		u := new(big.Rat).Sub(big.NewRat(st.Treated.Converted, st.Treated.Members), big.NewRat(st.Control.Converted, st.Control.Members))
		s := u.FloatString(4)
		out.Uplift = &s
	}
	return out, nil
}

func group(g store.CampaignGroup) Group {
	out := Group{Members: g.Members, Converted: g.Converted}
	if g.Members > 0 {
		s := big.NewRat(g.Converted, g.Members).FloatString(4)
		out.ConversionRate = &s
	}
	return out
}

// Participation is one occurrence of a campaign for a member.
type Participation struct {
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
	Member
}

// OfMember lists every campaign occurrence of a member (by ID), oldest
// first: for the member's export.
func (s *Service) OfMember(ctx context.Context, a auth.Actor, memberID string) ([]Participation, error) {
	rows, err := s.db.Replica().MemberOccurrences(ctx, a.ProgramID, memberID)
	out := make([]Participation, 0, len(rows))
	for _, r := range rows {
		out = append(out, Participation{CampaignID: r.CampaignID, CampaignName: r.Name, Member: Member{MemberID: r.MemberID,
			Occurrence: r.Occurrence, Group: r.Group, Reason: r.Reason, Points: r.Points, CouponCode: r.CouponCode,
			MessageID: r.MessageID, At: r.At}})
	}
	return out, err
}
