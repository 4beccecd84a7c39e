package report

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/jifen/jifen/internal/auth"
)

// RuleRow is what one rule awarded in a period.
type RuleRow struct {
	RuleID   string `json:"rule_id"`
	Name     string `json:"name"`
	Awards   int64  `json:"awards"`
	Members  int64  `json:"members"`
	Points   int64  `json:"points"`
	Reversed int64  `json:"reversed"`
}

// Rules groups a period's awards by rule.
func (s *Service) Rules(ctx context.Context, a auth.Actor, q Query) ([]RuleRow, error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return nil, err
	}
	fs, err := s.db.Replica().RuleReport(ctx, pd.p.ID, pd.currency, pd.merchantID, pd.from, pd.to)
	if err != nil {
		return nil, err
	}
	out := make([]RuleRow, len(fs))
	for i, f := range fs {
		var def struct {
			Name string `json:"name"`
		}
		json.Unmarshal(f.Definition, &def)
		out[i] = RuleRow{RuleID: f.RuleID, Name: def.Name, Awards: f.Awards, Members: f.Members, Points: f.Points, Reversed: f.Reversed}
	}
	return out, nil
}

// TierRow is one tier's members (now) and what they earned and spent in a
// period.
type TierRow struct {
	Tier    string `json:"tier"`
	Members int64  `json:"members"`
	Issued  int64  `json:"issued"`
	Spent   int64  `json:"spent"`
}

// Tiers lists the programme's tiers low to high (and members without one
// first, as tier ""), each with its members and their points.
func (s *Service) Tiers(ctx context.Context, a auth.Actor, q Query) ([]TierRow, error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return nil, err
	}
	fs, err := s.db.Replica().TierReport(ctx, pd.p.ID, pd.currency, pd.merchantID, pd.from, pd.to)
	if err != nil {
		return nil, err
	}
	var out []TierRow
	add := func(code string) {
		f := fs[code]
		if f == nil {
			out = append(out, TierRow{Tier: code})
			return
		}
		out = append(out, TierRow{Tier: code, Members: f.Members, Issued: f.Issued, Spent: f.Spent})
		delete(fs, code)
	}
	if fs[""] != nil {
		add("")
	}
	for _, t := range pd.p.Tiers {
		add(t.Code)
	}
	var rest []string // tiers members still hold that the programme no longer has
	for code := range fs {
		rest = append(rest, code)
	}
	sort.Strings(rest)
	for _, code := range rest {
		add(code)
	}
	return out, nil
}

// RewardRow is what one reward's redemptions in a period came to:
// quantity, points and cash of those not cancelled, and how many were.
type RewardRow struct {
	RewardID    string `json:"reward_id"`
	Name        string `json:"name"`
	Redemptions int64  `json:"redemptions"`
	Quantity    int64  `json:"quantity"`
	Points      int64  `json:"points"`
	CashFen     int64  `json:"cash_fen"`
	Cancelled   int64  `json:"cancelled"`
}

// Rewards groups a period's redemptions by reward.
func (s *Service) Rewards(ctx context.Context, a auth.Actor, q Query) ([]RewardRow, error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return nil, err
	}
	fs, err := s.db.Replica().RewardReport(ctx, pd.p.ID, pd.merchantID, pd.from, pd.to)
	if err != nil {
		return nil, err
	}
	out := make([]RewardRow, len(fs))
	for i, f := range fs {
		out[i] = RewardRow(f)
	}
	return out, nil
}

// CouponRow is one template's coupons in a period.
type CouponRow struct {
	TemplateID     string  `json:"template_id"`
	Name           string  `json:"name"`
	Issued         int64   `json:"issued"`
	Redeemed       int64   `json:"redeemed"`
	Expired        int64   `json:"expired"`
	DiscountFen    int64   `json:"discount_fen"`
	RedemptionRate *string `json:"redemption_rate"`
}

// Coupons lists the templates with coupons issued, redeemed or expired in
// a period; redemption_rate is redeemed / issued.
func (s *Service) Coupons(ctx context.Context, a auth.Actor, q Query) ([]CouponRow, error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return nil, err
	}
	fs, err := s.db.Replica().CouponReport(ctx, pd.p.ID, pd.merchantID, pd.from, pd.to)
	if err != nil {
		return nil, err
	}
	out := make([]CouponRow, len(fs))
	for i, f := range fs {
		out[i] = CouponRow{TemplateID: f.TemplateID, Name: f.Name, Issued: f.Issued, Redeemed: f.Redeemed, Expired: f.Expired,
			DiscountFen: f.DiscountFen, RedemptionRate: rate(f.Redeemed, f.Issued)}
	}
	return out, nil
}
