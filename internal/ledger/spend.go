package ledger

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// SpendInput is a request to take points from a member.
type SpendInput struct {
	MemberID   string
	Points     int64
	Currency   string
	Reason     string
	Reference  string
	MerchantID string // where the points were spent
	Metadata   json.RawMessage
	Now        time.Time
}

// Spend takes points from the member's lots, soonest-expiring first, and
// fails with InsufficientPoints when fewer are available.
func Spend(ctx context.Context, tx *store.Tx, p Program, in SpendInput) (Txn, error) {
	return debit(ctx, tx, p, debitInput{
		typ: TypeSpend, account: store.AccountRedemption, memberID: in.MemberID, points: in.Points,
		currency: in.Currency, reason: in.Reason, reference: in.Reference, merchantID: in.MerchantID,
		metadata: in.Metadata, now: in.Now, spendable: true,
	})
}

type debitInput struct {
	typ, account      string
	memberID          string
	points            int64
	currency          string
	reason, reference string
	merchantID        string
	metadata          json.RawMessage
	now               time.Time
	spendable         bool // the currency must be spendable
	holdID            string
	toHeld            bool // a hold: the points go to the member's held account
}

func debit(ctx context.Context, tx *store.Tx, p Program, in debitInput) (Txn, error) {
	o := newOp(tx, p, in.now)
	t, err := o.debit(ctx, in)
	if err != nil {
		return Txn{}, err
	}
	return t, o.flush(ctx)
}

// debit draws points from lots into account (or into held, for a hold).
func (o *op) debit(ctx context.Context, in debitInput) (Txn, error) {
	e, err := o.debitEntry(ctx, in)
	if err != nil {
		return Txn{}, err
	}
	return e.txn, o.add(e)
}

// debitEntry works out a debit and returns its entry, not yet added: an
// exchange adds its other currency's side to it.
func (o *op) debitEntry(ctx context.Context, in debitInput) (*entry, error) {
	if in.points <= 0 || in.points > MaxPoints {
		return nil, failure.Field("points", "must be between 1 and %d", int64(MaxPoints))
	}
	cur, err := o.p.currency(in.currency, in.spendable)
	if err != nil {
		return nil, err
	}
	b, err := o.lockActive(ctx, in.memberID, cur.Code)
	if err != nil {
		return nil, err
	}
	if b.Available < in.points {
		return nil, failure.New(failure.InsufficientPoints, "%d points are needed, %d are available", in.points, b.Available)
	}
	lots, err := o.tx.SpendableLots(ctx, o.p.ID, in.memberID, cur.Code)
	if err != nil {
		return nil, err
	}
	// Points past their expiry are not spent: expire them here, in this
	// transaction, rather than wait for the next expiry run.
	due, live := splitDue(lotsOf(lots), in.now)
	if len(due) > 0 {
		if err := o.expireLots(b, due, in.now, "expired"); err != nil {
			return nil, err
		}
		if b.Available < in.points {
			return nil, failure.New(failure.InsufficientPoints, "%d points are needed, %d are available", in.points, b.Available)
		}
	}
	takes, err := Allocate(live, in.points)
	if err != nil {
		return nil, err
	}
	e := newEntry(in.typ, in.memberID, cur.Code, in.now)
	e.txn.Points = in.points
	if in.typ == TypeAdjust {
		e.txn.Points = -in.points
	}
	e.txn.Reason = null.String(in.reason)
	e.txn.Reference = null.String(in.reference)
	e.txn.MerchantID = null.String(in.merchantID)
	e.txn.Metadata = in.metadata
	e.txn.HoldID = null.String(in.holdID)
	byID := make(map[string]*Lot, len(live))
	for i := range live {
		byID[live[i].ID] = &live[i]
	}
	for _, t := range takes {
		l := byID[t.LotID]
		o.setLot(l, l.Remaining-t.Points, store.LotSpent)
		e.move(*l, store.MoveRedeem, -t.Points, null.String(in.merchantID))
	}
	e.post(store.AccountAvailable, in.memberID, -in.points)
	b.Available -= in.points
	if in.toHeld {
		e.post(store.AccountHeld, in.memberID, in.points)
		b.Held += in.points
	} else {
		e.post(in.account, "", in.points)
	}
	if in.typ == TypeSpend {
		b.LifetimeSpent += in.points
	}
	return e, nil
}
