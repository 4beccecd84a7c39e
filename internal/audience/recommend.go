package audience

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/store"
)

// Recommendation kinds.
const (
	KindReward         = "reward"
	KindCouponTemplate = "coupon_template"
)

// Reasons: the largest part of a recommendation's score.
const (
	ReasonCategory = "category_affinity"
	ReasonTier     = "tier_exclusive"
	ReasonPrice    = "affordable"
	ReasonPopular  = "popular_with_similar"
)

// Recommendation is a reward or coupon template the member may take now.
type Recommendation struct {
	Kind        string `json:"kind" api:"enum=reward|coupon_template"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	PointsPrice int64  `json:"points_price"`
	Score       int64  `json:"score" doc:"0–100: category affinity (≤40) + tier exclusive (20) + affordable (≤15) + popular with similar members (≤25)"`
	Reason      string `json:"reason" api:"enum=category_affinity|tier_exclusive|affordable|popular_with_similar"`
}

// Score parts, at most.
const (
	maxCategory = 40
	tierBonus   = 20
	maxPrice    = 15
	maxPopular  = 25
)

// candidate is an item the member may take, with what scores it.
type candidate struct {
	kind, id, name string
	price          int64
	categories     []string
	tierOnly       bool // limited to tiers, the member's among them
	takers         int64
}

// Recommend ranks the rewards and coupon templates (kind "" for both)
// the member may take now: active, in stock, in their window, allowed to
// its tier and under the per-member limit. Score: category affinity (the
// member's decayed score in the item's best category against its top
// category), tier exclusive, affordable (the price within the available
// points, more for a price that uses more of them) and popular among
// members of the same tier and RFM cell; best first, ties by ID.
func (s *Service) Recommend(ctx context.Context, a auth.Actor, ref, kind string, limit int) ([]Recommendation, error) {
	c := s.db.Read()
	m, err := identity.Resolve(ctx, c, a, ref)
	if err != nil {
		return nil, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	if m.Status != "active" {
		return []Recommendation{}, nil
	}
	now := s.clock.Now()
	st, _, err := s.settings(ctx, c, p.ID)
	if err != nil {
		return nil, err
	}
	stats, err := c.StatsOf(ctx, p.ID, m.ID)
	if err != nil {
		return nil, err
	}
	cs, err := c.Categories(ctx, p.ID, m.ID)
	if err != nil {
		return nil, err
	}
	affinity := map[string]float64{}
	var top float64
	for _, x := range topCategories(cs, now, st.CategoryHalfLifeDays) {
		affinity[x.Category] = float64(x.Score)
		top = max(top, float64(x.Score))
	}
	bal, err := c.Balance(ctx, p.ID, m.ID, "points")
	if err != nil && failure.KindOf(err) != failure.NotFound {
		return nil, err
	}
	popR, popT, err := c.Popularity(ctx, p.ID, string(m.Tier), stats.RFMCell)
	if err != nil {
		return nil, err
	}
	var cands []candidate
	if kind == "" || kind == KindReward {
		if cands, err = rewardCandidates(ctx, c, p.ID, m, now, popR, cands); err != nil {
			return nil, err
		}
	}
	if kind == "" || kind == KindCouponTemplate {
		if cands, err = templateCandidates(ctx, c, p.ID, m.ID, now, popT, cands); err != nil {
			return nil, err
		}
	}
	var most int64
	for _, x := range cands {
		most = max(most, x.takers)
	}
	out := make([]Recommendation, 0, len(cands))
	for _, x := range cands {
		var parts [4]int64 // category, tier, price, popular: the order ties are broken in
		if top > 0 {
			var best float64
			for _, cat := range x.categories {
				best = max(best, affinity[cat])
			}
			parts[0] = int64(maxCategory * best / top)
		}
		if x.tierOnly {
			parts[1] = tierBonus
		}
		if avail := bal.Available; x.price <= avail && avail > 0 {
			parts[2] = 1 + (maxPrice-1)*x.price/avail
		} else if x.price == 0 {
			parts[2] = 1
		}
		if most > 0 {
			parts[3] = maxPopular * x.takers / most
		}
		r := Recommendation{Kind: x.kind, ID: x.id, Name: x.name, PointsPrice: x.price}
		best := 0
		for i, v := range parts {
			r.Score += v
			if v > parts[best] {
				best = i
			}
		}
		r.Reason = []string{ReasonCategory, ReasonTier, ReasonPrice, ReasonPopular}[best]
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Recommendation) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func inWindow(now time.Time, from, until *time.Time) bool {
	return (from == nil || !now.Before(*from)) && (until == nil || now.Before(*until))
}

func rewardCandidates(ctx context.Context, c *store.Conn, programID string, m store.Member, now time.Time,
	pop map[string]int64, out []candidate) ([]candidate, error) {
	pg := store.Page{Limit: 500}
	for {
		rows, next, err := c.Rewards(ctx, programID, pg)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Status != "active" || (r.Stock != nil && *r.Stock <= 0) || !inWindow(now, r.StartsAt, r.EndsAt) {
				continue
			}
			if len(r.Tiers) > 0 && !slices.Contains(r.Tiers, string(m.Tier)) {
				continue
			}
			if r.PerMemberLimit != nil {
				n, err := c.RedeemedQuantity(ctx, programID, m.ID, r.ID)
				if err != nil {
					return nil, err
				}
				if n >= *r.PerMemberLimit {
					continue
				}
			}
			out = append(out, candidate{kind: KindReward, id: r.ID, name: r.Name, price: r.PointsPrice,
				categories: r.Categories, tierOnly: len(r.Tiers) > 0, takers: pop[r.ID]})
		}
		if next == "" {
			return out, nil
		}
		pg.Cursor = next
	}
}

func templateCandidates(ctx context.Context, c *store.Conn, programID, memberID string, now time.Time,
	pop map[string]int64, out []candidate) ([]candidate, error) {
	pg := store.Page{Limit: 500}
	for {
		rows, next, err := c.CouponTemplates(ctx, programID, pg)
		if err != nil {
			return nil, err
		}
		for _, t := range rows {
			if t.Status != "active" || (t.Total != nil && t.Issued >= *t.Total) || !inWindow(now, t.ValidFrom, t.ValidUntil) {
				continue
			}
			if t.PerMemberLimit != nil {
				n, err := c.MemberCouponCount(ctx, programID, t.ID, memberID)
				if err != nil {
					return nil, err
				}
				if n >= *t.PerMemberLimit {
					continue
				}
			}
			out = append(out, candidate{kind: KindCouponTemplate, id: t.ID, name: t.Name, price: t.PointsPrice,
				categories: t.Categories, takers: pop[t.ID]})
		}
		if next == "" {
			return out, nil
		}
		pg.Cursor = next
	}
}
