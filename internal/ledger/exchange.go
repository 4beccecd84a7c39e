package ledger

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// ExchangeInput exchanges a member's points of one currency for points of
// another. The caller has worked out Received from the rate
// (floor(points × rate)).
type ExchangeInput struct {
	MemberID   string
	From, To   string
	Points     int64 // taken from From
	Received   int64 // given in To
	Reference  string
	MerchantID string // where it happened: the source lots' redeem moves are there
	Metadata   json.RawMessage
	Now        time.Time
	// Check, when set, runs once the member's rows are locked and before
	// anything is taken (the daily limit, read under the lock).
	Check func(ctx context.Context) error
}

// lockPair takes the member's lock (its points row) and then its rows in
// the two currencies in code order: the order every operation on several
// of a member's rows uses, so two of them cannot deadlock.
func (o *op) lockPair(ctx context.Context, memberID, a, b string, active bool) error {
	curs := []string{Points, a, b}
	sort.Slice(curs[1:], func(i, j int) bool { return curs[1+i] < curs[1+j] })
	for _, c := range curs {
		var err error
		if active {
			_, err = o.lockActive(ctx, memberID, c)
		} else {
			_, _, err = o.lock(ctx, memberID, c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Exchange writes one transaction of type exchange, in the From currency
// with points = Points: it takes Points from the member's From lots as a
// spend does (past-due lots expired first, then soonest-expiring first,
// redeem moves at MerchantID), and opens one To lot of Received issued by
// the programme (no merchant), available at once and expiring by the To
// currency's policy. Each currency's postings balance through the
// programme's exchange account. Received repays a debt in To first, as
// any points that become available do. Neither currency's lifetime earned
// or spent changes.
func Exchange(ctx context.Context, tx *store.Tx, p Program, in ExchangeInput) (Txn, error) {
	from, ok := p.Currencies[in.From]
	if !ok {
		return Txn{}, failure.Field("from", "unknown currency %q", in.From)
	}
	if !from.Spendable {
		return Txn{}, failure.Field("from", "currency %q cannot be spent", in.From)
	}
	to, ok := p.Currencies[in.To]
	if !ok {
		return Txn{}, failure.Field("to", "unknown currency %q", in.To)
	}
	if in.From == in.To {
		return Txn{}, failure.Field("to", "must differ from from")
	}
	if in.Points <= 0 || in.Points > MaxPoints {
		return Txn{}, failure.Field("points", "must be between 1 and %d", int64(MaxPoints))
	}
	if in.Received <= 0 || in.Received > MaxPoints {
		return Txn{}, failure.Field("points", "would receive %d %s; must be between 1 and %d", in.Received, in.To, int64(MaxPoints))
	}
	o := newOp(tx, p, in.Now)
	if err := o.lockPair(ctx, in.MemberID, in.From, in.To, true); err != nil {
		return Txn{}, err
	}
	if in.Check != nil {
		if err := in.Check(ctx); err != nil {
			return Txn{}, err
		}
	}
	e, err := o.debitEntry(ctx, debitInput{
		typ: TypeExchange, account: store.AccountExchange, memberID: in.MemberID, points: in.Points,
		currency: in.From, reference: in.Reference, merchantID: in.MerchantID, metadata: in.Metadata,
		now: in.Now, spendable: true,
	})
	if err != nil {
		return Txn{}, err
	}
	bt, _, _ := o.lock(ctx, in.MemberID, to.Code) // locked above
	lot := Lot{
		ID: id.New("lot"), MemberID: in.MemberID, Currency: to.Code, Amount: in.Received, Remaining: in.Received,
		Status: store.LotAvailable, AvailableAt: in.Now, ExpiresAt: p.policy(to).ExpiresAt(in.Now, p.Location),
		TransactionID: e.txn.ID, CreatedAt: in.Now,
	}
	e.currency = to.Code
	e.post(store.AccountExchange, "", -in.Received)
	e.move(lot, store.MoveIssue, in.Received, "")
	e.post(store.AccountAvailable, in.MemberID, in.Received)
	bt.Available += in.Received
	repayDebt(e, &lot, bt)
	e.currency = ""
	o.newLot(lot)
	if err := o.add(e); err != nil {
		return Txn{}, err
	}
	return e.txn, o.flush(ctx)
}

// reverseExchange undoes an exchange whole, in one reverse transaction
// (in the source currency, points = the exchange's): the received points
// leave the lot the exchange opened (claw; InsufficientPoints when it no
// longer holds them all) and the source points return to the lots they
// came from (return moves at the exchange's merchant).
func reverseExchange(ctx context.Context, tx *store.Tx, p Program, in ReverseInput, orig Txn) (Txn, error) {
	rec, err := tx.LotOfTransaction(ctx, p.ID, orig.ID)
	if err != nil {
		return Txn{}, err
	}
	o := newOp(tx, p, in.Now)
	if err := o.lockPair(ctx, orig.MemberID, orig.Currency, rec.Currency, false); err != nil {
		return Txn{}, err
	}
	if m := o.mems[orig.MemberID]; m.Status == "erased" {
		return Txn{}, failure.New(failure.Conflict, "member %s is erased; its points were forfeited", m.ID)
	}
	// Again, under the locks.
	t, err := tx.Txn(ctx, p.ID, orig.ID)
	if err != nil {
		return Txn{}, err
	}
	orig = txnOf(t)
	if rec, err = tx.LotOfTransaction(ctx, p.ID, orig.ID); err != nil {
		return Txn{}, err
	}
	own := lotOf(rec)
	total := orig.Points
	switch {
	case orig.Reversed > 0:
		return Txn{}, failure.New(failure.LimitExceeded, "exchange %s is reversed already", orig.ID)
	case in.Points < 0 || in.Points > total:
		return Txn{}, failure.New(failure.LimitExceeded, "transaction %s has %d of %d points left to reverse", orig.ID, total, total)
	case in.Points != 0 && in.Points != total:
		return Txn{}, failure.Field("points", "an exchange is reversed whole: omit points or give %d", total)
	}
	if own.Remaining < own.Amount || own.Status != store.LotAvailable {
		return Txn{}, failure.New(failure.InsufficientPoints,
			"the %d %s received are no longer all in their lot %s (%d left)", own.Amount, own.Currency, own.ID, own.Remaining)
	}
	e := newEntry(TypeReverse, orig.MemberID, orig.Currency, in.Now)
	e.txn.Points = total
	e.txn.Reverses = null.String(orig.ID)
	e.txn.MerchantID = orig.MerchantID
	e.txn.Reference = orig.Reference
	e.txn.Reason = null.String(in.Reason)
	e.txn.Metadata = in.Metadata

	bt, _, _ := o.lock(ctx, orig.MemberID, own.Currency)
	received := own.Remaining
	e.currency = own.Currency
	o.setLot(&own, 0, store.LotReversed)
	e.move(own, store.MoveClaw, -received, "")
	e.post(store.AccountAvailable, orig.MemberID, -received)
	e.post(store.AccountExchange, "", received)
	bt.Available -= received
	e.currency = ""

	bf, _, _ := o.lock(ctx, orig.MemberID, orig.Currency)
	if err := o.refill(ctx, e, bf, []string{orig.ID}, total, orig.MerchantID); err != nil {
		return Txn{}, err
	}
	e.post(store.AccountExchange, "", -total)
	e.post(store.AccountAvailable, orig.MemberID, total)
	bf.Available += total
	if err := o.add(e); err != nil {
		return Txn{}, err
	}
	if err := tx.AddReversed(ctx, p.ID, orig.ID, total); err != nil {
		return Txn{}, err
	}
	return e.txn, o.flush(ctx)
}
