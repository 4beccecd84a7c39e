package ledger

import (
	"context"
	"github.com/jifen/jifen/internal/outbox"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// HoldInput reserves points for an order.
type HoldInput struct {
	MemberID   string
	Points     int64
	Currency   string
	Reference  string
	MerchantID string
	ExpiresIn  time.Duration // default 15 minutes
	// OrderID and OrderAmount name the order the hold pays part of.
	OrderID     string
	OrderAmount *int64
	Now         time.Time
}

// DefaultHoldTTL is how long a hold lasts when the request does not say.
const DefaultHoldTTL = 15 * time.Minute

// PlaceHold takes points out of the member's lots into its held account.
// The lots are drawn now (soonest-expiring first), so expiry cannot take
// held points; a release puts them back into the same lots.
func PlaceHold(ctx context.Context, tx *store.Tx, p Program, in HoldInput) (Hold, error) {
	ttl := in.ExpiresIn
	if ttl == 0 {
		ttl = DefaultHoldTTL
	}
	if ttl < time.Second {
		return Hold{}, failure.Field("expires_in_seconds", "must be at least 1")
	}
	h := Hold{
		ID: id.New("hold"), MemberID: in.MemberID, Points: in.Points, Status: store.HoldHeld,
		Reference: null.String(in.Reference), MerchantID: null.String(in.MerchantID),
		ExpiresAt: in.Now.Add(ttl), OrderID: null.String(in.OrderID), OrderAmount: in.OrderAmount,
		CreatedAt: in.Now, UpdatedAt: in.Now,
	}
	o := newOp(tx, p, in.Now)
	txn, err := o.debit(ctx, debitInput{
		typ: TypeHold, memberID: in.MemberID, points: in.Points, currency: in.Currency,
		reference: in.Reference, merchantID: in.MerchantID, now: in.Now, spendable: true,
		holdID: h.ID, toHeld: true,
	})
	if err != nil {
		return Hold{}, err
	}
	if err := o.flush(ctx); err != nil {
		return Hold{}, err
	}
	h.Currency, h.HoldTxnID = txn.Currency, txn.ID
	if err := tx.InsertHold(ctx, p.ID, h.record()); err != nil {
		return Hold{}, err
	}
	return h, nil
}

// lockHold reads a hold, locks its member's balance and reads the hold
// again under the lock.
func (o *op) lockHold(ctx context.Context, holdID string) (Hold, *store.Balance, store.Member, error) {
	h, err := o.tx.Hold(ctx, o.p.ID, holdID)
	if err != nil {
		return Hold{}, nil, store.Member{}, err
	}
	for {
		b, m, err := o.lock(ctx, h.MemberID, h.Currency)
		if err != nil {
			return Hold{}, b, m, err
		}
		locked := h.MemberID
		if h, err = o.tx.Hold(ctx, o.p.ID, holdID); err != nil || h.MemberID == locked {
			return holdOf(h), b, m, err
		}
		// A merge moved the hold to another member meanwhile: lock that one.
	}
}

func checkOpen(h Hold, now time.Time) error {
	if h.Status != store.HoldHeld {
		return failure.New(failure.Conflict, "hold %s is %s", h.ID, h.Status)
	}
	if !now.Before(h.ExpiresAt) {
		return failure.New(failure.Conflict, "hold %s expired at %s", h.ID, h.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// Capture turns held points into a spend. points 0 captures all; fewer than
// held captures that many and releases the rest into the lots that expire
// last.
func Capture(ctx context.Context, tx *store.Tx, p Program, holdID string, points int64, now time.Time) (Hold, error) {
	o := newOp(tx, p, now)
	h, b, m, err := o.lockHold(ctx, holdID)
	if err != nil {
		return Hold{}, err
	}
	if err := checkOpen(h, now); err != nil {
		return Hold{}, err
	}
	if err := Active(m); err != nil {
		return Hold{}, err
	}
	c := points
	if c == 0 {
		c = h.Points
	}
	if c < 0 || c > h.Points {
		return Hold{}, failure.Field("points", "must be between 1 and the %d points held", h.Points)
	}
	if rest := h.Points - c; rest > 0 {
		if err := o.refillHold(ctx, b, h, rest, "partial capture"); err != nil {
			return Hold{}, err
		}
	}
	e := newEntry(TypeCapture, h.MemberID, h.Currency, now)
	e.txn.Points = c
	e.txn.Reference = h.Reference
	e.txn.MerchantID = h.MerchantID
	e.txn.HoldID = null.String(h.ID)
	e.post(store.AccountHeld, h.MemberID, -c)
	e.post(store.AccountRedemption, "", c)
	b.Held -= c
	b.LifetimeSpent += c
	if err := o.add(e); err != nil {
		return Hold{}, err
	}
	if err := o.flush(ctx); err != nil {
		return Hold{}, err
	}
	h.Status, h.Captured, h.TransactionID, h.UpdatedAt = store.HoldCaptured, c, null.String(e.txn.ID), now
	if err := tx.UpdateHold(ctx, p.ID, h.record()); err != nil {
		return Hold{}, err
	}
	return h, outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.HoldCaptured, h.MemberID, HoldEvent{h}, now)
}

// HoldEvent is the data of a hold.captured or hold.released event.
type HoldEvent struct {
	Hold Hold `json:"hold"`
}

// Release gives a held hold's points back to the lots they came from.
func Release(ctx context.Context, tx *store.Tx, p Program, holdID string, now time.Time) (Hold, error) {
	o := newOp(tx, p, now)
	h, b, _, err := o.lockHold(ctx, holdID)
	if err != nil {
		return Hold{}, err
	}
	if err := checkOpen(h, now); err != nil {
		return Hold{}, err
	}
	if h, err = o.release(ctx, b, h, ""); err != nil {
		return Hold{}, err
	}
	return h, o.flush(ctx)
}

// ExpireHold releases a hold that has passed its expires_at at asOf; it
// reports false when the hold was no longer held or not yet due.
func ExpireHold(ctx context.Context, tx *store.Tx, p Program, holdID string, asOf time.Time) (bool, error) {
	o := newOp(tx, p, asOf)
	h, b, _, err := o.lockHold(ctx, holdID)
	if err != nil {
		return false, err
	}
	if h.Status != store.HoldHeld || h.ExpiresAt.After(asOf) {
		return false, nil
	}
	if _, err := o.release(ctx, b, h, "expired"); err != nil {
		return false, err
	}
	return true, o.flush(ctx)
}

// release puts all of a hold's points back and marks it released.
func (o *op) release(ctx context.Context, b *store.Balance, h Hold, reason string) (Hold, error) {
	if err := o.refillHold(ctx, b, h, h.Points, reason); err != nil {
		return Hold{}, err
	}
	h.Status, h.UpdatedAt = store.HoldReleased, o.now
	if err := o.tx.UpdateHold(ctx, o.p.ID, h.record()); err != nil {
		return Hold{}, err
	}
	return h, outbox.Emit(ctx, o.tx, o.p.ID, o.p.Webhooks, outbox.HoldReleased, h.MemberID, HoldEvent{h}, o.now)
}

// refillHold records a release transaction that returns n of a hold's
// points from held to the lots the hold drew on.
func (o *op) refillHold(ctx context.Context, b *store.Balance, h Hold, n int64, reason string) error {
	e := newEntry(TypeRelease, h.MemberID, h.Currency, o.now)
	e.txn.Points = n
	e.txn.Reference = h.Reference
	e.txn.MerchantID = h.MerchantID
	e.txn.HoldID = null.String(h.ID)
	e.txn.Reason = null.String(reason)
	if err := o.refill(ctx, e, b, []string{h.HoldTxnID}, n, h.MerchantID); err != nil {
		return err
	}
	e.post(store.AccountHeld, h.MemberID, -n)
	e.post(store.AccountAvailable, h.MemberID, n)
	b.Held -= n
	b.Available += n
	return o.add(e)
}

// refill returns n points to the lots that the transactions in from drew
// on (net of what later moves of those transactions already returned), and
// records return moves on e. Points coming back to a member in debt repay
// the debt first, as later earnings do; b is adjusted for that, and the
// caller posts and counts the n points themselves. The transactions in
// from must be written already (they are earlier operations').
func (o *op) refill(ctx context.Context, e *entry, b *store.Balance, from []string, n int64, at null.String) error {
	moves, err := o.tx.MovesOf(ctx, o.p.ID, from...)
	if err != nil {
		return err
	}
	taken := make(map[string]int64)
	var ids []string
	for _, m := range moves {
		if m.Kind != store.MoveRedeem && m.Kind != store.MoveReturn {
			continue
		}
		if _, ok := taken[m.LotID]; !ok {
			ids = append(ids, m.LotID)
		}
		taken[m.LotID] -= m.Points
	}
	byID, err := o.tx.LotsByID(ctx, o.p.ID, ids)
	if err != nil {
		return err
	}
	lots := make([]Lot, 0, len(byID))
	for _, id := range ids {
		lots = append(lots, lotOf(byID[id]))
	}
	takes, err := Refill(lots, taken, n)
	if err != nil {
		return err
	}
	for _, t := range takes {
		l := lotOf(byID[t.LotID])
		l.Status = store.LotAvailable // a lot past its expiry expires again at the next run
		l.Remaining += t.Points
		e.move(l, store.MoveReturn, t.Points, at)
		if b.Debt > 0 {
			b.Available += t.Points // as the caller will count it, so repayDebt can take it back out
			repayDebt(e, &l, b)
			b.Available -= t.Points
		}
		o.setLot(&l, l.Remaining, store.LotSpent)
	}
	return nil
}
