// Package tier moves members between the program's tiers: up at once when
// their growth value reaches a threshold, up when they buy an upgrade with
// points, and down when the review finds that the growth they earned in
// the last twelve months no longer reaches their tier. Every move is kept
// in the member's tier history. The tiers themselves are program settings.
package tier

import (
	"context"
	"fmt"
	"github.com/jifen/jifen/internal/outbox"
	"time"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Reasons for a tier change.
const (
	ReasonGrowth  = "growth"
	ReasonReview  = "review"
	ReasonUpgrade = "upgrade"
	ReasonAdjust  = "adjust"
	ReasonMerge   = "merge" // growth moved in by a merge reached a threshold
)

// Change is a member's move from one tier to another.
type Change struct {
	From   *string `json:"from"`
	To     *string `json:"to"`
	Reason string  `json:"reason"`
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// rank is a tier's position, -1 for none or a tier no longer configured.
func rank(p program.Program, code string) int {
	_, i, _ := p.TierByCode(code)
	return i
}

func set(ctx context.Context, tx *store.Tx, p program.Program, m store.Member, to, reason string, now time.Time) (Change, error) {
	c := store.TierChange{ID: id.New("tch"), MemberID: m.ID, From: m.Tier, To: null.String(to), Reason: reason, At: now}
	if err := tx.SetTier(ctx, p.ID, c); err != nil {
		return Change{}, err
	}
	ch := Change{From: opt(string(m.Tier)), To: opt(to), Reason: reason}
	ev := TierChanged{MemberID: m.ID, From: ch.From, To: ch.To}
	return ch, outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.MemberTierChanged, m.ID, ev, now)
}

// TierChanged is the data of a member.tier_changed event.
type TierChanged struct {
	MemberID string  `json:"member_id"`
	From     *string `json:"from"`
	To       *string `json:"to"`
}

// Raise moves a member up to the highest tier its growth value (available
// growth balance) reaches, at once. It never lowers a tier. The caller
// holds the member's lock and passes the member as read under it.
func Raise(ctx context.Context, tx *store.Tx, p program.Program, m store.Member, now time.Time) (*Change, error) {
	return raise(ctx, tx, p, m, ReasonGrowth, now)
}

// RaiseOnMerge is Raise after a merge moved growth to m: the change's
// reason is merge.
func RaiseOnMerge(ctx context.Context, tx *store.Tx, p program.Program, m store.Member, now time.Time) (*Change, error) {
	return raise(ctx, tx, p, m, ReasonMerge, now)
}

func raise(ctx context.Context, tx *store.Tx, p program.Program, m store.Member, reason string, now time.Time) (*Change, error) {
	if len(p.Tiers) == 0 {
		return nil, nil
	}
	growth, err := tx.Balance(ctx, p.ID, m.ID, ledger.Growth)
	if err != nil {
		return nil, err
	}
	to := p.TierFor(growth.Available)
	if to == "" || rank(p, to) <= rank(p, string(m.Tier)) {
		return nil, nil
	}
	c, err := set(ctx, tx, p, m, to, reason, now)
	return &c, err
}

// ReviewWindow is how far back the review counts growth.
const ReviewWindow = 12 // months

// ReviewResult is what a review did.
type ReviewResult struct {
	Reviewed int64 `json:"reviewed"`
	Lowered  int64 `json:"lowered"`
}

// Review lowers, as of asOf, the tier of every member whose growth earned
// in the twelve months before asOf no longer reaches it. A tier bought with
// points is kept for twelve months after the purchase.
func Review(ctx context.Context, db *store.DB, p program.Program, asOf time.Time) (ReviewResult, error) {
	var res ReviewResult
	if len(p.Tiers) == 0 {
		return res, nil
	}
	since := asOf.AddDate(0, -ReviewWindow, 0)
	after := ""
	for {
		ids, err := db.Read().MembersForReview(ctx, p.ID, after, 500)
		if err != nil {
			return res, err
		}
		for _, mid := range ids {
			var lowered bool
			err := db.Write(ctx, mid, func(ctx context.Context, tx *store.Tx) (err error) {
				lowered, err = reviewOne(ctx, tx, p, mid, since, asOf)
				return err
			})
			res.Reviewed++
			if lowered && err == nil {
				res.Lowered++
			}
			if err != nil {
				return res, fmt.Errorf("tier review %s: %w", mid, err)
			}
		}
		if len(ids) < 500 {
			return res, nil
		}
		after = ids[len(ids)-1]
	}
}

func reviewOne(ctx context.Context, tx *store.Tx, p program.Program, memberID string, since, asOf time.Time) (bool, error) {
	m, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, asOf)
	if err != nil || m.Tier == "" {
		return false, err
	}
	growth, err := tx.GrowthBetween(ctx, p.ID, m.ID, ledger.Growth, since, asOf)
	if err != nil {
		return false, err
	}
	target := p.TierFor(growth)
	if bought, err := tx.LastUpgrade(ctx, p.ID, m.ID, string(m.Tier)); err != nil {
		return false, err
	} else if !bought.IsZero() && bought.After(since) && rank(p, target) < rank(p, string(m.Tier)) {
		target = string(m.Tier)
	}
	cur := rank(p, string(m.Tier))
	if cur < 0 || rank(p, target) >= cur {
		return false, nil
	}
	_, err = set(ctx, tx, p, m, target, ReasonReview, asOf)
	return err == nil, err
}
