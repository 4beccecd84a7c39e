package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
)

// EarnInput is a request to credit points to a member.
type EarnInput struct {
	MemberID   string
	Points     int64
	Currency   string // default points
	Reason     string
	Reference  string
	MerchantID string
	// AvailableAt in the future makes the points pending until then.
	AvailableAt *time.Time
	// ExpiresAt overrides the expiry policy.
	ExpiresAt *time.Time
	// Expiry overrides the currency's policy (a rule's own policy).
	Expiry *Policy
	// EarnedAt is the instant the expiry is reckoned from (an event's
	// occurred_at); default Now.
	EarnedAt time.Time
	Metadata json.RawMessage
	Now      time.Time
}

// Earn credits points: it opens a lot and posts issuance → member. Debt is
// repaid first from points that are available at once; pending points
// repay it when they become available.
func Earn(ctx context.Context, tx *store.Tx, p Program, in EarnInput) (Txn, error) {
	return credit(ctx, tx, p, TypeEarn, store.AccountIssuance, in)
}

// AdjustInput is an operator's correction: positive credits, negative
// debits.
type AdjustInput struct {
	MemberID string
	Points   int64 // ≠ 0
	Currency string
	Reason   string
	Metadata json.RawMessage
	Now      time.Time
}

// Adjust corrects a balance. A positive adjustment opens a lot issued by
// the program (no merchant); a negative one draws on lots like a spend and
// cannot take more than is available. Adjustments do not count in the
// lifetime earned and spent figures.
func Adjust(ctx context.Context, tx *store.Tx, p Program, in AdjustInput) (Txn, error) {
	if in.Reason == "" {
		return Txn{}, failure.Field("reason", "is required")
	}
	switch {
	case in.Points > 0:
		return credit(ctx, tx, p, TypeAdjust, store.AccountAdjustment, EarnInput{
			MemberID: in.MemberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason,
			Metadata: in.Metadata, Now: in.Now,
		})
	case in.Points < -MaxPoints:
		return Txn{}, failure.Field("points", "must be between -%d and %d", int64(MaxPoints), int64(MaxPoints))
	case in.Points < 0:
		return debit(ctx, tx, p, debitInput{
			typ: TypeAdjust, account: store.AccountAdjustment, memberID: in.MemberID, points: -in.Points,
			currency: in.Currency, reason: in.Reason, metadata: in.Metadata, now: in.Now, spendable: false,
		})
	}
	return Txn{}, failure.Field("points", "must not be zero")
}

func credit(ctx context.Context, tx *store.Tx, p Program, typ, account string, in EarnInput) (Txn, error) {
	if in.Points <= 0 || in.Points > MaxPoints {
		return Txn{}, failure.Field("points", "must be between 1 and %d", int64(MaxPoints))
	}
	cur, err := p.currency(in.Currency, false)
	if err != nil {
		return Txn{}, err
	}
	now := in.Now
	availableAt := now
	if in.AvailableAt != nil && in.AvailableAt.After(now) {
		availableAt = *in.AvailableAt
	}
	earnedAt := in.EarnedAt
	if earnedAt.IsZero() {
		earnedAt = now
	}
	expiresAt := in.ExpiresAt
	if expiresAt == nil {
		pol := p.policy(cur)
		if in.Expiry != nil {
			pol = *in.Expiry
		}
		expiresAt = pol.ExpiresAt(earnedAt, p.Location)
	}
	// An expires_at in the past is allowed (importing old balances, tests):
	// the points are already due, no spend takes them, and the next expiry
	// run expires them.
	if expiresAt != nil && availableAt.After(now) && !expiresAt.After(availableAt) {
		return Txn{}, failure.Field("expires_at", "must be after available_at")
	}

	b, err := lockActive(ctx, tx, p, in.MemberID, cur.Code, now)
	if err != nil {
		return Txn{}, err
	}
	e := newEntry(typ, in.MemberID, cur.Code, now)
	e.txn.Points = in.Points
	e.txn.Reason = store.OptString(in.Reason)
	e.txn.Reference = store.OptString(in.Reference)
	e.txn.MerchantID = store.OptString(in.MerchantID)
	e.txn.Metadata = in.Metadata
	lot := Lot{
		ID: id.New("lot"), MemberID: in.MemberID, Currency: cur.Code, Amount: in.Points, Remaining: in.Points,
		Status: store.LotAvailable, AvailableAt: availableAt, ExpiresAt: expiresAt,
		MerchantID: store.OptString(in.MerchantID), TransactionID: e.txn.ID, CreatedAt: now,
	}
	e.post(account, "", -in.Points)
	e.move(lot, store.MoveIssue, in.Points, "")
	if availableAt.After(now) {
		lot.Status = store.LotPending
		e.txn.Status = StatusPending
		e.post(store.AccountPending, in.MemberID, in.Points)
		b.Pending += in.Points
	} else {
		e.post(store.AccountAvailable, in.MemberID, in.Points)
		b.Available += in.Points
		repayDebt(e, &lot, &b)
	}
	if typ == TypeEarn {
		b.LifetimeEarned += in.Points
	}
	if err := e.write(ctx, tx, p.ID); err != nil {
		return Txn{}, err
	}
	if err := tx.InsertLot(ctx, p.ID, lot); err != nil {
		return Txn{}, err
	}
	if err := tx.SaveBalance(ctx, p.ID, b, now); err != nil {
		return Txn{}, fmt.Errorf("%s: %w", typ, err)
	}
	return e.txn, nil
}

// repayDebt uses points that have just become available in lot to pay the
// member's debt first. The repayment is a redeem move at the program (no
// merchant): the points settle what an earlier clawback could not take.
// The caller has already added the lot's points to b.Available.
func repayDebt(e *entry, lot *Lot, b *store.Balance) {
	r := min(b.Debt, lot.Remaining)
	if r <= 0 {
		return
	}
	lot.Remaining -= r
	if lot.Remaining == 0 {
		lot.Status = store.LotSpent
	}
	e.move(*lot, store.MoveRedeem, -r, "")
	e.post(store.AccountAvailable, b.MemberID, -r)
	e.post(store.AccountDebt, b.MemberID, r)
	b.Available -= r
	b.Debt -= r
}
