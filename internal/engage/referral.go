package engage

import (
	"context"
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
)

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
	return &r, reward(ctx, tx, p, &r, now)
}

// FirstOrder rewards a pending referral when the invitee's first order is
// paid and the program rewards on first orders. The caller holds the
// invitee's lock.
func FirstOrder(ctx context.Context, tx *store.Tx, p program.Program, inviteeID string, now time.Time) (*store.Referral, error) {
	if p.Referral == nil || p.Referral.On != program.OnFirstOrder {
		return nil, nil
	}
	r, ok, err := tx.ReferralOf(ctx, p.ID, inviteeID)
	if err != nil || !ok || r.Status != ReferralPending {
		return nil, err
	}
	return &r, reward(ctx, tx, p, &r, now)
}

// reward pays both sides of a referral, unless the inviter has reached its
// cap. The inviter's lock is taken before counting, so two invitees of one
// inviter cannot both squeeze under the cap. Locks go invitee, then
// inviter: up the referral tree, which has no cycles.
func reward(ctx context.Context, tx *store.Tx, p program.Program, r *store.Referral, now time.Time) error {
	cfg := p.Referral
	inviter, err := ledger.LockMember(ctx, tx, p.Ledger(), r.InviterID, now)
	if err != nil {
		return err
	}
	if cfg.MaxPerInviter != nil {
		n, err := tx.CountRewardedReferrals(ctx, p.ID, r.InviterID)
		if err != nil {
			return err
		}
		if n >= *cfg.MaxPerInviter {
			r.Status = ReferralCapped
			return tx.UpdateReferral(ctx, p.ID, *r)
		}
	}
	if cfg.InviterPoints > 0 && inviter.Status == "active" {
		t, err := ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{MemberID: r.InviterID, Points: cfg.InviterPoints,
			Reason: "referral: inviter", Reference: "referral:" + r.InviteeID, Now: now})
		if err != nil {
			return err
		}
		r.InviterTxnID = null.String(t.ID)
	}
	if cfg.InviteePoints > 0 {
		t, err := ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{MemberID: r.InviteeID, Points: cfg.InviteePoints,
			Reason: "referral: invitee", Reference: "referral:" + r.InviteeID, Now: now})
		if err != nil {
			return err
		}
		r.InviteeTxnID = null.String(t.ID)
	}
	r.Status, r.RewardedAt = ReferralRewarded, &now
	return tx.UpdateReferral(ctx, p.ID, *r)
}
