package engage

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Referral statuses.
const (
	ReferralPending  = "pending"  // waiting for the trigger (a first order)
	ReferralRewarded = "rewarded" // both sides got their points
	ReferralCapped   = "capped"   // the inviter had reached max_per_inviter; no points
	ReferralReversed = "reversed" // the qualifying order was refunded in full: both clawed back
)

// Credit is a referral reward paid (or, clawed back, negative points) to
// one side of a referral.
type Credit struct {
	MemberID      string
	Points        int64
	TransactionID string
}

// referralMeta is kept with a first_order referral's transactions: the
// order that qualified it, so that its full refund claws them back.
type referralMeta struct {
	OrderID string `json:"order_id"`
	EventID string `json:"event_id,omitempty"`
}

// Referred records that a new member was brought by its referred_by, and
// rewards both sides at once when the program rewards on join.
func Referred(ctx context.Context, tx *store.Tx, p program.Program, invitee store.Member, now time.Time) (*store.Referral, error) {
	if invitee.ReferredBy == "" {
		return nil, nil
	}
	r := store.Referral{InviteeID: invitee.ID, InviterID: string(invitee.ReferredBy), Status: ReferralPending, CreatedAt: now}
	if inserted, err := tx.InsertReferral(ctx, p.ID, r); err != nil || !inserted {
		return nil, err // already recorded: never pay twice
	}
	if p.Referral == nil || p.Referral.On != program.OnJoin {
		return &r, nil
	}
	_, err := reward(ctx, tx, p, &r, nil, now)
	return &r, err
}

// FirstOrder rewards a pending referral when the program rewards on first
// orders and the invitee pays an order of at least min_order_amount: both
// rewards are pending for pending_days, and carry the order, so that its
// full refund claws them back. The caller holds the invitee's lock.
func FirstOrder(ctx context.Context, tx *store.Tx, p program.Program, inviteeID, orderID, eventID string, amount int64, now time.Time) ([]Credit, error) {
	cfg := p.Referral
	if cfg == nil || cfg.On != program.OnFirstOrder || amount < cfg.MinOrderAmount {
		return nil, nil
	}
	r, ok, err := tx.ReferralOf(ctx, p.ID, inviteeID)
	if err != nil || !ok || r.Status != ReferralPending {
		return nil, err
	}
	return reward(ctx, tx, p, &r, &referralMeta{OrderID: orderID, EventID: eventID}, now)
}

// ClawBack reverses both rewards of the invitee's referral when the order
// that qualified it is refunded in full: what remains of each (pending
// points first, then available; what was spent becomes debt as for any
// reversal). The caller holds the invitee's lock.
func ClawBack(ctx context.Context, tx *store.Tx, p program.Program, inviteeID, orderID string, now time.Time) ([]Credit, error) {
	r, ok, err := tx.ReferralOf(ctx, p.ID, inviteeID)
	if err != nil || !ok || r.Status != ReferralRewarded {
		return nil, err
	}
	var out []Credit
	qualified := false
	for _, tid := range []null.String{r.InviteeTxnID, r.InviterTxnID} {
		if tid == "" {
			continue
		}
		t, err := tx.Txn(ctx, p.ID, string(tid))
		if err != nil {
			return nil, err
		}
		var meta referralMeta
		if json.Unmarshal(t.Metadata, &meta) != nil || meta.OrderID != orderID {
			return nil, nil // rewarded on join, or for another order
		}
		qualified = true
		left := t.Points - t.Reversed
		if left <= 0 {
			continue
		}
		rev, err := ledger.Reverse(ctx, tx, p.Ledger(), ledger.ReverseInput{
			TransactionID: t.ID, Points: left, Reason: "referral: order " + orderID + " refunded", Now: now,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, Credit{MemberID: t.MemberID, Points: -left, TransactionID: rev.ID})
	}
	if !qualified {
		return nil, nil
	}
	r.Status = ReferralReversed
	return out, tx.UpdateReferral(ctx, p.ID, r)
}

// reward pays both sides of a referral, unless the inviter has reached its
// cap. The inviter's lock is taken before counting, so two invitees of one
// inviter cannot both squeeze under the cap. Locks go invitee, then
// inviter: up the referral tree, which has no cycles.
func reward(ctx context.Context, tx *store.Tx, p program.Program, r *store.Referral, order *referralMeta, now time.Time) ([]Credit, error) {
	cfg := p.Referral
	inviter, err := ledger.LockMember(ctx, tx, p.Ledger(), r.InviterID, now)
	if err != nil {
		return nil, err
	}
	if cfg.MaxPerInviter != nil {
		n, err := tx.CountRewardedReferrals(ctx, p.ID, r.InviterID)
		if err != nil {
			return nil, err
		}
		if n >= *cfg.MaxPerInviter {
			r.Status = ReferralCapped
			return nil, tx.UpdateReferral(ctx, p.ID, *r)
		}
	}
	base := ledger.EarnInput{Reference: "referral:" + r.InviteeID, Now: now}
	if order != nil {
		base.Metadata, _ = json.Marshal(order)
		if cfg.PendingDays > 0 {
			at := now.Add(time.Duration(cfg.PendingDays) * 24 * time.Hour)
			base.AvailableAt = &at
		}
	}
	var out []Credit
	earn := func(memberID string, points int64, reason string) (null.String, error) {
		in := base
		in.MemberID, in.Points, in.Reason = memberID, points, reason
		t, err := ledger.Earn(ctx, tx, p.Ledger(), in)
		if err != nil {
			return "", err
		}
		out = append(out, Credit{MemberID: memberID, Points: points, TransactionID: t.ID})
		return null.String(t.ID), nil
	}
	if cfg.InviterPoints > 0 && inviter.Status == "active" {
		if r.InviterTxnID, err = earn(r.InviterID, cfg.InviterPoints, "referral: inviter"); err != nil {
			return nil, err
		}
	}
	if cfg.InviteePoints > 0 {
		if r.InviteeTxnID, err = earn(r.InviteeID, cfg.InviteePoints, "referral: invitee"); err != nil {
			return nil, err
		}
	}
	r.Status, r.RewardedAt = ReferralRewarded, &now
	return out, tx.UpdateReferral(ctx, p.ID, *r)
}
