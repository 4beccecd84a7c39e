package ledger

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// ReverseInput undoes all or part of a transaction.
type ReverseInput struct {
	TransactionID string
	Points        int64 // 0: all that is left to reverse
	Reason        string
	Metadata      json.RawMessage
	Now           time.Time
}

// Reverse undoes an earn (its points are clawed back: from its own lot,
// then the member's other available lots, then as debt or not at all per
// negative_balance), or a spend or capture (its points return to the lots
// they came from). The sum reversed never exceeds the original: asking for
// more is LimitExceeded.
func Reverse(ctx context.Context, tx *store.Tx, p Program, in ReverseInput) (Txn, error) {
	rec, err := tx.Txn(ctx, p.ID, in.TransactionID)
	if err != nil {
		return Txn{}, err
	}
	orig := txnOf(rec)
	if orig.Type == TypeExchange {
		return reverseExchange(ctx, tx, p, in, orig)
	}
	o := newOp(tx, p, in.Now)
	// The member that has the transaction's lots now: its own, or the one
	// it was merged into. The reversal is that member's.
	b, m, err := o.current(ctx, orig.MemberID, orig.Currency)
	if err != nil {
		return Txn{}, err
	}
	if m.Status == "erased" {
		return Txn{}, failure.New(failure.Conflict, "member %s is erased; its points were forfeited", m.ID)
	}
	if rec, err = tx.Txn(ctx, p.ID, in.TransactionID); err != nil { // again, under the lock
		return Txn{}, err
	}
	orig = txnOf(rec)
	owner := m.ID
	clawback := orig.Type == TypeEarn || (orig.Type == TypeAdjust && orig.Points > 0)
	refund := orig.Type == TypeSpend || orig.Type == TypeCapture || (orig.Type == TypeAdjust && orig.Points < 0)
	if !clawback && !refund {
		return Txn{}, failure.New(failure.Conflict, "a %s transaction cannot be reversed", orig.Type)
	}
	if in.Points < 0 {
		return Txn{}, failure.Field("points", "must be greater than zero")
	}
	total := orig.Points
	if total < 0 {
		total = -total
	}
	left := total - orig.Reversed
	x := in.Points
	if x == 0 {
		x = left
	}
	if x == 0 || x > left {
		return Txn{}, failure.New(failure.LimitExceeded, "transaction %s has %d of %d points left to reverse", orig.ID, left, total)
	}

	e := newEntry(TypeReverse, owner, orig.Currency, in.Now)
	e.txn.Points = x
	e.txn.Reverses = null.String(orig.ID)
	e.txn.MerchantID = orig.MerchantID
	e.txn.Reference = orig.Reference
	e.txn.Reason = null.String(in.Reason)
	e.txn.Metadata = in.Metadata
	if clawback {
		err = o.claw(ctx, e, b, owner, orig, x)
	} else {
		err = o.giveBack(ctx, e, b, owner, orig, x)
	}
	if err != nil {
		return Txn{}, err
	}
	if err := o.add(e); err != nil {
		return Txn{}, err
	}
	if err := tx.AddReversed(ctx, p.ID, orig.ID, x); err != nil {
		return Txn{}, err
	}
	return e.txn, o.flush(ctx)
}

func (o *op) claw(ctx context.Context, e *entry, b *store.Balance, owner string, orig Txn, x int64) error {
	rec, err := o.tx.LotOfTransaction(ctx, o.p.ID, orig.ID)
	if err != nil {
		return err
	}
	own := lotOf(rec)
	var others []Lot
	if own.Remaining < x {
		rows, err := o.tx.SpendableLots(ctx, o.p.ID, owner, orig.Currency)
		if err != nil {
			return err
		}
		others = lotsOf(rows)
	}
	plan := Claw(own, others, x, o.p.NegativeBalance != Floor)
	account := store.AccountIssuance
	if orig.Type == TypeAdjust {
		account = store.AccountAdjustment
	}
	if plan.Own > 0 {
		fromPending := own.Status == store.LotPending
		o.setLot(&own, own.Remaining-plan.Own, store.LotReversed)
		e.move(own, store.MoveClaw, -plan.Own, "")
		if fromPending {
			e.post(store.AccountPending, owner, -plan.Own)
			b.Pending -= plan.Own
		} else {
			e.post(store.AccountAvailable, owner, -plan.Own)
			b.Available -= plan.Own
		}
	}
	byID := make(map[string]*Lot, len(others))
	for i := range others {
		byID[others[i].ID] = &others[i]
	}
	for _, t := range plan.Others {
		l := byID[t.LotID]
		o.setLot(l, l.Remaining-t.Points, store.LotSpent)
		e.move(*l, store.MoveClaw, -t.Points, "")
		e.post(store.AccountAvailable, owner, -t.Points)
		b.Available -= t.Points
	}
	if plan.Debt > 0 {
		e.post(store.AccountDebt, owner, -plan.Debt)
		b.Debt += plan.Debt
	}
	e.post(account, "", x-plan.Forgiven)
	if plan.Forgiven > 0 {
		e.txn.Metadata, _ = json.Marshal(map[string]int64{"forgiven": plan.Forgiven})
	}
	if orig.Type == TypeEarn {
		b.LifetimeEarned -= x
	}
	return nil
}

func (o *op) giveBack(ctx context.Context, e *entry, b *store.Balance, owner string, orig Txn, x int64) error {
	from := []string{orig.ID}
	if orig.Type == TypeCapture {
		h, err := o.tx.Hold(ctx, o.p.ID, string(orig.HoldID))
		if err != nil {
			return err
		}
		releases, err := o.tx.HoldTxnIDs(ctx, o.p.ID, h.ID, TypeRelease)
		if err != nil {
			return err
		}
		from = append([]string{h.HoldTxnID}, releases...)
	}
	reversals, err := o.tx.Reversals(ctx, o.p.ID, orig.ID)
	if err != nil {
		return err
	}
	for _, r := range reversals {
		from = append(from, r.ID)
	}
	if err := o.refill(ctx, e, b, from, x, orig.MerchantID); err != nil {
		return err
	}
	account := store.AccountRedemption
	if orig.Type == TypeAdjust {
		account = store.AccountAdjustment
	}
	e.post(account, "", -x)
	e.post(store.AccountAvailable, owner, x)
	b.Available += x
	if orig.Type != TypeAdjust {
		b.LifetimeSpent -= x
	}
	return nil
}
