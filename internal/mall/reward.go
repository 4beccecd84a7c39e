// Package mall is the points mall (积分商城): rewards of four types priced
// in points or points and cash, with stock, per-member limits, tier-only
// zones and sale windows; redemptions that take stock and points in one
// transaction and give both back on cancellation; the flash-sale gate; and
// the checkout quote for paying part of an order with points.
package mall

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Reward types.
const (
	Physical  = "physical"
	Virtual   = "virtual"
	CouponT   = "coupon"
	Privilege = "privilege"
)

// Reward is an item of the points mall.
type Reward struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Description      *string    `json:"description"`
	Type             string     `json:"type"`
	PointsPrice      int64      `json:"points_price"`
	CashPrice        int64      `json:"cash_price"`
	Stock            *int64     `json:"stock"`
	Sold             int64      `json:"sold"`
	PerMemberLimit   *int64     `json:"per_member_limit"`
	StartsAt         *time.Time `json:"starts_at"`
	EndsAt           *time.Time `json:"ends_at"`
	Tiers            []string   `json:"tiers"`
	CouponTemplateID *string    `json:"coupon_template_id"`
	MerchantID       *string    `json:"merchant_id"`
	Categories       []string   `json:"categories"`
	Status           string     `json:"status"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// RewardInput creates a reward or changes the fields it names. Stock given
// in a change restocks the reward to that many units left.
type RewardInput struct {
	Name             *string  `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	Description      *string  `json:"description,omitempty" api:"maxlen=2000"`
	Type             *string  `json:"type,omitempty" api:"enum=physical|virtual|coupon|privilege"`
	PointsPrice      *int64   `json:"points_price,omitempty" api:"min=0,max=10000000000"`
	CashPrice        *int64   `json:"cash_price,omitempty" api:"min=0,max=10000000000" doc:"fen"`
	Stock            *int64   `json:"stock,omitempty" api:"min=0" doc:"units left; in a change, a restock to that many"`
	PerMemberLimit   *int64   `json:"per_member_limit,omitempty" api:"min=1"`
	StartsAt         *string  `json:"starts_at,omitempty" api:"format=date-time"`
	EndsAt           *string  `json:"ends_at,omitempty" api:"format=date-time"`
	Tiers            []string `json:"tiers,omitempty"`
	CouponTemplateID *string  `json:"coupon_template_id,omitempty"`
	MerchantID       *string  `json:"merchant_id,omitempty"`
	Categories       []string `json:"categories,omitempty" api:"maxitems=20"`
	Status           *string  `json:"status,omitempty" api:"enum=active|paused"`
}

func optStr(s null.String) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}

func strOpt(s *string) null.String {
	if s == nil {
		return ""
	}
	return null.String(*s)
}

func rewardOf(r store.Reward) Reward {
	rw := Reward{ID: r.ID, Name: r.Name, Description: optStr(r.Description), Type: r.Type, PointsPrice: r.PointsPrice,
		CashPrice: r.CashPrice, Stock: r.Stock, Sold: r.Sold, PerMemberLimit: r.PerMemberLimit, StartsAt: r.StartsAt,
		EndsAt: r.EndsAt, Tiers: r.Tiers, CouponTemplateID: optStr(r.CouponTemplateID), MerchantID: optStr(r.MerchantID),
		Categories: r.Categories, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if rw.Categories == nil {
		rw.Categories = []string{}
	}
	return rw
}

func (rw Reward) record(programID string) store.Reward {
	return store.Reward{ID: rw.ID, ProgramID: programID, Name: rw.Name, Description: strOpt(rw.Description), Type: rw.Type,
		PointsPrice: rw.PointsPrice, CashPrice: rw.CashPrice, Stock: rw.Stock, Sold: rw.Sold, PerMemberLimit: rw.PerMemberLimit,
		StartsAt: rw.StartsAt, EndsAt: rw.EndsAt, Tiers: rw.Tiers, CouponTemplateID: strOpt(rw.CouponTemplateID),
		MerchantID: strOpt(rw.MerchantID), Categories: rw.Categories, Status: rw.Status, CreatedAt: rw.CreatedAt, UpdatedAt: rw.UpdatedAt}
}

func (in RewardInput) apply(ctx context.Context, tx *store.Tx, p program.Program, rw *Reward) error {
	var fs failure.Fields
	if in.Name != nil {
		rw.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		rw.Description = in.Description
	}
	if in.Type != nil {
		rw.Type = *in.Type
	}
	if in.PointsPrice != nil {
		rw.PointsPrice = *in.PointsPrice
	}
	if in.CashPrice != nil {
		rw.CashPrice = *in.CashPrice
	}
	if in.Stock != nil {
		rw.Stock = in.Stock
	}
	if in.PerMemberLimit != nil {
		rw.PerMemberLimit = in.PerMemberLimit
	}
	if v, err := clock.Parse("starts_at", in.StartsAt); err != nil {
		fs = append(fs, failure.As(err).Fields...)
	} else if in.StartsAt != nil {
		rw.StartsAt = v
	}
	if v, err := clock.Parse("ends_at", in.EndsAt); err != nil {
		fs = append(fs, failure.As(err).Fields...)
	} else if in.EndsAt != nil {
		rw.EndsAt = v
	}
	if in.Tiers != nil {
		rw.Tiers = in.Tiers
		if len(in.Tiers) == 0 {
			rw.Tiers = nil
		}
	}
	if in.CouponTemplateID != nil {
		rw.CouponTemplateID = in.CouponTemplateID
		if *in.CouponTemplateID == "" {
			rw.CouponTemplateID = nil
		}
	}
	if in.MerchantID != nil {
		rw.MerchantID = in.MerchantID
		if *in.MerchantID == "" {
			rw.MerchantID = nil
		}
	}
	if in.Categories != nil {
		rw.Categories = in.Categories
	}
	if in.Status != nil {
		rw.Status = *in.Status
	}
	if n := len([]rune(rw.Name)); n < 1 || n > 100 {
		fs.Add("name", "must be 1 to 100 characters")
	}
	if rw.Description != nil && len([]rune(*rw.Description)) > 2000 {
		fs.Add("description", "must be at most 2000 characters")
	}
	switch rw.Type {
	case Physical, Virtual, CouponT, Privilege:
	default:
		fs.Add("type", "must be physical, virtual, coupon or privilege")
	}
	if rw.PointsPrice > 10_000_000_000 || rw.CashPrice > 10_000_000_000 {
		fs.Add("points_price", "prices are at most 10000000000")
	}
	if rw.PointsPrice < 0 || (rw.PointsPrice == 0 && rw.CashPrice == 0) {
		fs.Add("points_price", "must be zero or more, and the reward must cost points, cash or both")
	}
	if rw.CashPrice < 0 {
		fs.Add("cash_price", "must not be negative (fen)")
	}
	if rw.Stock != nil && *rw.Stock < 0 {
		fs.Add("stock", "must not be negative")
	}
	if rw.PerMemberLimit != nil && *rw.PerMemberLimit < 1 {
		fs.Add("per_member_limit", "must be at least 1")
	}
	if rw.StartsAt != nil && rw.EndsAt != nil && !rw.EndsAt.After(*rw.StartsAt) {
		fs.Add("ends_at", "must be after starts_at")
	}
	for _, code := range rw.Tiers {
		if _, _, ok := p.TierByCode(code); !ok {
			fs.Add("tiers", "no tier %q", code)
		}
	}
	if len(rw.Categories) > 20 {
		fs.Add("categories", "at most 20")
	}
	if rw.Status != "active" && rw.Status != "paused" {
		fs.Add("status", "must be active or paused")
	}
	if rw.Type == CouponT {
		if rw.CouponTemplateID == nil {
			fs.Add("coupon_template_id", "a coupon reward names its coupon template")
		} else if _, err := tx.CouponTemplate(ctx, p.ID, *rw.CouponTemplateID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return err
			}
			fs.Add("coupon_template_id", "no such coupon template")
		}
	} else if rw.CouponTemplateID != nil {
		fs.Add("coupon_template_id", "only coupon rewards name a coupon template")
	}
	if rw.MerchantID != nil {
		if _, err := tx.Merchant(ctx, p.ID, *rw.MerchantID); err != nil {
			if failure.KindOf(err) != failure.NotFound {
				return err
			}
			fs.Add("merchant_id", "no such merchant")
		}
	}
	return fs.Err()
}

// createReward adds a reward; it is active unless the input says paused.
func createReward(ctx context.Context, tx *store.Tx, p program.Program, in RewardInput, now time.Time) (Reward, error) {
	rw := Reward{ID: id.New("rwd"), Status: "active", CreatedAt: now, UpdatedAt: now}
	if err := in.apply(ctx, tx, p, &rw); err != nil {
		return Reward{}, err
	}
	if rw.Categories == nil {
		rw.Categories = []string{}
	}
	return rw, tx.SaveReward(ctx, rw.record(p.ID), false)
}

// getReward reads a reward.
func getReward(ctx context.Context, c *store.Conn, programID, rewardID string) (Reward, error) {
	r, err := c.Reward(ctx, programID, rewardID)
	if err != nil {
		return Reward{}, err
	}
	if r.Status == "deleted" {
		return Reward{}, failure.New(failure.NotFound, "reward %s not found", rewardID)
	}
	return rewardOf(r), nil
}

// listRewards lists rewards, newest first.
func listRewards(ctx context.Context, c *store.Conn, programID string, p store.Page) ([]Reward, string, error) {
	rows, next, err := c.Rewards(ctx, programID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Reward, len(rows))
	for i, r := range rows {
		out[i] = rewardOf(r)
	}
	return out, next, nil
}

// availability says why a member cannot redeem a reward now, or nil.
func availability(rw Reward, tier string, now time.Time) error {
	switch {
	case rw.Status != "active":
		return failure.New(failure.Conflict, "reward %s is %s", rw.ID, rw.Status)
	case rw.StartsAt != nil && now.Before(*rw.StartsAt):
		return failure.New(failure.NotStarted, "reward %s is on sale from %s", rw.ID, rw.StartsAt.Format(time.RFC3339))
	case rw.EndsAt != nil && !now.Before(*rw.EndsAt):
		return failure.New(failure.Ended, "reward %s was on sale until %s", rw.ID, rw.EndsAt.Format(time.RFC3339))
	case len(rw.Tiers) > 0 && !slices.Contains(rw.Tiers, tier):
		return failure.New(failure.Forbidden, "reward %s is for tiers %v", rw.ID, rw.Tiers)
	}
	return nil
}

// AvailableTo lists the rewards a member may redeem now: on sale, in
// stock, open to its tier, under its limit and within its points.
func availableToMember(ctx context.Context, c *store.Conn, p program.Program, memberID string, now time.Time) ([]Reward, error) {
	m, err := c.MemberByID(ctx, p.ID, memberID)
	if err != nil {
		return nil, err
	}
	available, err := spendable(ctx, c, p, m, now)
	if err != nil {
		return nil, err
	}
	out := []Reward{}
	cursor := ""
	for {
		rows, next, err := c.Rewards(ctx, p.ID, store.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			rw := rewardOf(r)
			if availability(rw, string(m.Tier), now) != nil || (rw.Stock != nil && *rw.Stock == 0) || rw.PointsPrice > available {
				continue
			}
			if rw.PerMemberLimit != nil {
				n, err := c.RedeemedQuantity(ctx, p.ID, memberID, rw.ID)
				if err != nil {
					return nil, err
				}
				if n >= *rw.PerMemberLimit {
					continue
				}
			}
			out = append(out, rw)
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
