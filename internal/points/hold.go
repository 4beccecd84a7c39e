package points

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// MaxHoldSeconds bounds a hold's life: 30 days.
const MaxHoldSeconds = 30 * 24 * 3600

// HoldInput reserves points for an order.
type HoldInput struct {
	Points           int64  `json:"points" api:"min=1,max=MaxPoints"`
	Currency         string `json:"currency,omitempty" doc:"a spendable point currency of the program (default points)"`
	Reference        string `json:"reference,omitempty" api:"maxlen=128"`
	MerchantID       string `json:"merchant_id,omitempty" doc:"where the points are held; a merchant key is always its own"`
	ExpiresInSeconds int64  `json:"expires_in_seconds,omitempty" api:"min=1,max=2592000,default=900"` // default 900
	// OrderID names the order the points pay part of, and OrderAmount its
	// amount in fen: the order's holds together may take no more than the
	// checkout quote allows, and its refund returns them in proportion.
	OrderID     string `json:"order_id,omitempty" api:"maxlen=128" doc:"the order these points pay part of"`
	OrderAmount *int64 `json:"order_amount,omitempty" api:"min=0,max=MaxAmount" doc:"the order's amount in fen; required with order_id"`
}

// Validate checks the input on its own.
func (in HoldInput) Validate() error {
	var fs failure.Fields
	input.Points(&fs, "points", in.Points)
	input.Text(&fs, "reference", in.Reference, 128)
	if in.ExpiresInSeconds < 0 || in.ExpiresInSeconds > MaxHoldSeconds {
		fs.Add("expires_in_seconds", "must be between 1 and %d", MaxHoldSeconds)
	}
	input.Text(&fs, "order_id", in.OrderID, 128)
	if in.OrderAmount != nil {
		input.Amount(&fs, "order_amount", *in.OrderAmount)
	}
	if (in.OrderID == "") != (in.OrderAmount == nil) {
		fs.Add("order_amount", "order_id and order_amount go together")
	}
	return fs.Err()
}

// PlaceHold takes points out of the member's lots into its held account
// until they are captured or released, or the hold expires.
func (s *Service) PlaceHold(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in HoldInput) (ledger.Hold, error) {
	if err := in.Validate(); err != nil {
		return ledger.Hold{}, err
	}
	p, memberID, now, err := s.begin(ctx, tx, a, ref)
	if err != nil {
		return ledger.Hold{}, err
	}
	mer, err := program.ActingMerchant(ctx, tx, a, in.MerchantID)
	if err != nil {
		return ledger.Hold{}, err
	}
	if in.OrderID != "" {
		if err := checkOffset(ctx, tx, p, memberID, in, now); err != nil {
			return ledger.Hold{}, err
		}
	}
	return ledger.PlaceHold(ctx, tx, p.Ledger(), ledger.HoldInput{
		MemberID: memberID, Points: in.Points, Currency: in.Currency, Reference: in.Reference, MerchantID: mer,
		ExpiresIn: time.Duration(in.ExpiresInSeconds) * time.Second, OrderID: in.OrderID, OrderAmount: in.OrderAmount, Now: now,
	})
}

// checkOffset enforces the checkout cap on an order's holds: with the
// points its earlier holds took (held or captured), the new hold may not
// pass what the checkout quote allows on the order (max_offset_percent, in
// whole-fen steps). The member's lock, taken first, serializes the holds
// of one order.
func checkOffset(ctx context.Context, tx *store.Tx, p program.Program, memberID string, in HoldInput, now time.Time) error {
	if in.Currency != "" && in.Currency != ledger.Points {
		return failure.Field("order_id", "only points pay for orders")
	}
	if _, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now); err != nil {
		return err
	}
	earlier, err := tx.OrderHolds(ctx, p.ID, in.OrderID)
	if err != nil {
		return err
	}
	var taken int64
	for _, h := range earlier {
		if h.MemberID != memberID {
			return failure.Field("order_id", "order %q is another member's", in.OrderID)
		}
		if h.OrderAmount != nil && *h.OrderAmount != *in.OrderAmount {
			return failure.Field("order_amount", "order %q was held with order_amount %d", in.OrderID, *h.OrderAmount)
		}
		switch h.Status {
		case store.HoldHeld:
			taken += h.Points
		case store.HoldCaptured:
			taken += h.Captured
		}
	}
	_, limit := mall.MaxOffset(*in.OrderAmount, -1, p.PointsPerYuan, p.MaxOffsetPercent)
	if taken+in.Points > limit {
		return failure.Field("points", "order %q may be paid with at most %d points (%d%% of %d fen); %d are held already",
			in.OrderID, limit, p.MaxOffsetPercent, *in.OrderAmount, taken)
	}
	return nil
}

// CaptureInput turns held points into a spend.
type CaptureInput struct {
	Points int64 `json:"points,omitempty" api:"min=1,max=MaxPoints" doc:"default: all held; the rest is released"` // default all held
}

// Validate checks the input on its own.
func (in CaptureInput) Validate() error {
	var fs failure.Fields
	input.OptPoints(&fs, "points", in.Points)
	return fs.Err()
}

// Capture spends a hold's points (some of them: the rest go back to the
// lots that expire last).
func (s *Service) Capture(ctx context.Context, tx *store.Tx, a auth.Actor, holdID string, in CaptureInput) (ledger.Hold, error) {
	if err := in.Validate(); err != nil {
		return ledger.Hold{}, err
	}
	p, err := s.holdProgram(ctx, tx, a, holdID)
	if err != nil {
		return ledger.Hold{}, err
	}
	return ledger.Capture(ctx, tx, p.Ledger(), holdID, in.Points, s.clock.Now())
}

// Release gives a hold's points back to the lots they came from.
func (s *Service) Release(ctx context.Context, tx *store.Tx, a auth.Actor, holdID string) (ledger.Hold, error) {
	p, err := s.holdProgram(ctx, tx, a, holdID)
	if err != nil {
		return ledger.Hold{}, err
	}
	return ledger.Release(ctx, tx, p.Ledger(), holdID, s.clock.Now())
}

// holdProgram checks that the actor may act on the hold.
func (s *Service) holdProgram(ctx context.Context, tx *store.Tx, a auth.Actor, holdID string) (program.Program, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return p, err
	}
	h, err := tx.Hold(ctx, p.ID, holdID)
	if err != nil {
		return p, err
	}
	if !a.Sees(string(h.MerchantID)) {
		return p, notFound("hold", holdID)
	}
	return p, nil
}

// GetHold reads a hold.
func (s *Service) GetHold(ctx context.Context, a auth.Actor, holdID string) (ledger.Hold, error) {
	h, err := ledger.GetHold(ctx, s.db.Read(), a.ProgramID, holdID)
	if err != nil {
		return h, err
	}
	if !a.Sees(string(h.MerchantID)) {
		return ledger.Hold{}, notFound("hold", holdID)
	}
	return h, nil
}

// HoldStatuses are the statuses a hold list filters on.
var HoldStatuses = []string{store.HoldHeld, store.HoldCaptured, store.HoldReleased}

// Holds lists a member's holds, newest first.
func (s *Service) Holds(ctx context.Context, a auth.Actor, ref, status string, pg store.Page) ([]ledger.Hold, string, error) {
	var fs failure.Fields
	input.OneOf(&fs, "status", status, HoldStatuses...)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	// The member is resolved on the primary, so one the replica has yet to
	// see is found; its list comes from the replica.
	m, err := identity.Resolve(ctx, s.db.Read(), a, ref)
	if err != nil {
		return nil, "", err
	}
	f := store.HoldFilter{Status: status}
	if a.IsMerchant() {
		f.MerchantID = a.MerchantID
	}
	return ledger.MemberHolds(ctx, s.db.Replica(), a.ProgramID, m.ID, f, pg)
}
