package ledger

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// expireLots ends the given lots (available or pending) with one expire
// transaction dated at, and takes their points out of b.
func (o *op) expireLots(b *store.Balance, lots []Lot, at time.Time, reason string) error {
	e := newEntry(TypeExpire, b.MemberID, b.Currency, at)
	e.txn.Reason = null.String(reason)
	var avail, pend int64
	for i := range lots {
		l := &lots[i]
		r := l.Remaining
		wasPending := l.Status == store.LotPending
		l.Status = store.LotExpired // before setLot, so an empty lot stays expired
		o.setLot(l, 0, store.LotExpired)
		if r <= 0 {
			continue
		}
		e.move(*l, store.MoveExpire, -r, "")
		if wasPending {
			pend += r
		} else {
			avail += r
		}
	}
	if avail+pend == 0 {
		return nil
	}
	e.txn.Points = avail + pend
	e.post(store.AccountAvailable, b.MemberID, -avail)
	e.post(store.AccountPending, b.MemberID, -pend)
	e.post(store.AccountExpired, "", avail+pend)
	b.Available -= avail
	b.Pending -= pend
	b.LifetimeExpired += avail + pend
	return o.add(e)
}

// ExpireDue expires one member's lots in one currency whose expires_at is
// at or before asOf; the expire transaction is dated asOf. It returns how
// many lots and points expired.
func ExpireDue(ctx context.Context, tx *store.Tx, p Program, memberID, currency string, asOf time.Time) (lots, points int64, err error) {
	o := newOp(tx, p, asOf)
	b, _, err := o.lock(ctx, memberID, currency)
	if err != nil {
		return 0, 0, err
	}
	rows, err := tx.MemberLotsDue(ctx, p.ID, memberID, currency, asOf)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	due := lotsOf(rows)
	before := b.LifetimeExpired
	if err := o.expireLots(b, due, asOf, "expired"); err != nil {
		return 0, 0, err
	}
	return int64(len(due)), b.LifetimeExpired - before, o.flush(ctx)
}

// ActivateDue makes one member's pending lots whose available_at is at or
// before asOf available, with one activate transaction. Debt is repaid from
// them first. It returns how many lots and points became available.
func ActivateDue(ctx context.Context, tx *store.Tx, p Program, memberID, currency string, asOf time.Time) (lots, points int64, err error) {
	o := newOp(tx, p, asOf)
	b, _, err := o.lock(ctx, memberID, currency)
	if err != nil {
		return 0, 0, err
	}
	rows, err := tx.MemberPendingDue(ctx, p.ID, memberID, currency, asOf)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	due := lotsOf(rows)
	e := newEntry(TypeActivate, memberID, currency, asOf)
	var total int64
	for i := range due {
		l := &due[i]
		total += l.Remaining
		e.post(store.AccountPending, memberID, -l.Remaining)
		e.post(store.AccountAvailable, memberID, l.Remaining)
		b.Pending -= l.Remaining
		b.Available += l.Remaining
		l.Status = store.LotAvailable
		repayDebt(e, l, b)
		o.setLot(l, l.Remaining, store.LotSpent)
		if err := tx.SetTxnStatus(ctx, p.ID, l.TransactionID, StatusCompleted); err != nil {
			return 0, 0, err
		}
	}
	e.txn.Points = total
	if err := o.add(e); err != nil {
		return 0, 0, err
	}
	return int64(len(due)), total, o.flush(ctx)
}

// Forfeit releases a member's holds and expires every point it has in a
// currency, with reason; erasure uses it. It returns the points forfeited.
func Forfeit(ctx context.Context, tx *store.Tx, p Program, memberID, currency, reason string, now time.Time) (int64, error) {
	o := newOp(tx, p, now)
	b, _, err := o.lock(ctx, memberID, currency)
	if err != nil {
		return 0, err
	}
	holds, err := tx.MemberHeldHolds(ctx, p.ID, memberID, currency)
	if err != nil {
		return 0, err
	}
	for _, h := range holds {
		if _, err := o.release(ctx, b, holdOf(h), reason); err != nil {
			return 0, err
		}
	}
	// The released points are back in their lots: write that before
	// reading the lots.
	if err := o.flush(ctx); err != nil {
		return 0, err
	}
	lots, err := tx.MemberLiveLots(ctx, p.ID, memberID, currency)
	if err != nil {
		return 0, err
	}
	before := b.LifetimeExpired
	if err := o.expireLots(b, lotsOf(lots), now, reason); err != nil {
		return 0, err
	}
	return b.LifetimeExpired - before, o.flush(ctx)
}
