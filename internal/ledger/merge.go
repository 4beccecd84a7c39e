package ledger

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// TypeMerge moves a merged member's points to the member it was merged into.
const TypeMerge = "merge"

// MergeResult is what the ledger's part of a merge moved.
type MergeResult struct {
	Source, Target store.Member // as read under the locks
	Txns           []Txn        // one merge transaction per currency with a balance
	Lots, Holds    int64
}

// Merge moves the ledger of member from to member to, in the caller's
// transaction: it locks both members' balance rows — the lower member ID
// first, each member's points row first and then its other currencies —
// so a merge racing a spend, an earn or another merge of either member
// waits or is waited for, never deadlocks, and reads both members under
// the locks (both must be active: Conflict). Then every lot (same IDs,
// dates, merchant) and every open hold is re-pointed, and each currency
// with a balance gets a merge transaction on the target whose postings
// move the source's available, pending, held and debt across (summing to
// zero). Lifetime figures add up on the target and are zeroed on the
// source, so a later reversal of one of the source's old transactions
// (which acts on the moved lots, see Reverse) subtracts from where they
// are. Debt and available points meeting on the target settle at once,
// as when points become available to a member in debt.
func Merge(ctx context.Context, tx *store.Tx, p Program, from, to, reason string, now time.Time) (MergeResult, error) {
	var res MergeResult
	if from == to {
		return res, failure.Field("source", "must be another member than the target")
	}
	o := newOp(tx, p, now)
	first, second := from, to
	if second < first {
		first, second = second, first
	}
	rows := map[string][]store.Balance{}
	for _, id := range []string{first, second} {
		if _, _, err := o.lock(ctx, id, Points); err != nil {
			return res, err
		}
		bs, err := tx.LockMemberBalances(ctx, p.ID, id)
		if err != nil {
			return res, err
		}
		rows[id] = bs
	}
	res.Source, res.Target = o.mems[from], o.mems[to]
	for _, m := range []store.Member{res.Source, res.Target} {
		if err := Active(m); err != nil {
			return res, err
		}
	}
	var err error
	if res.Lots, err = tx.MoveLots(ctx, p.ID, from, to); err != nil {
		return res, err
	}
	if res.Holds, err = tx.MoveHolds(ctx, p.ID, from, to, now); err != nil {
		return res, err
	}
	meta, _ := json.Marshal(map[string]string{"source": from})
	for _, row := range rows[from] {
		sb, _, err := o.lock(ctx, from, row.Currency)
		if err != nil {
			return res, err
		}
		tb, _, err := o.lock(ctx, to, row.Currency)
		if err != nil {
			return res, err
		}
		tb.LifetimeEarned += sb.LifetimeEarned
		tb.LifetimeSpent += sb.LifetimeSpent
		tb.LifetimeExpired += sb.LifetimeExpired
		sb.LifetimeEarned, sb.LifetimeSpent, sb.LifetimeExpired = 0, 0, 0
		if sb.Available == 0 && sb.Pending == 0 && sb.Held == 0 && sb.Debt == 0 {
			continue
		}
		e := newEntry(TypeMerge, to, row.Currency, now)
		e.txn.Points = sb.Available + sb.Pending + sb.Held
		e.txn.Reason = null.String(reason)
		e.txn.Metadata = meta
		for _, acc := range []struct {
			account string
			src     *int64
			dst     *int64
		}{
			{store.AccountAvailable, &sb.Available, &tb.Available},
			{store.AccountPending, &sb.Pending, &tb.Pending},
			{store.AccountHeld, &sb.Held, &tb.Held},
		} {
			e.post(acc.account, from, -*acc.src)
			e.post(acc.account, to, *acc.src)
			*acc.dst += *acc.src
			*acc.src = 0
		}
		// Debt's postings are negative while owed.
		e.post(store.AccountDebt, from, sb.Debt)
		e.post(store.AccountDebt, to, -sb.Debt)
		tb.Debt += sb.Debt
		sb.Debt = 0
		if tb.Debt > 0 && tb.Available > 0 {
			if err := o.settleDebt(ctx, e, tb); err != nil {
				return res, err
			}
		}
		if err := o.add(e); err != nil {
			return res, err
		}
		res.Txns = append(res.Txns, e.txn)
	}
	return res, o.flush(ctx)
}

// settleDebt pays a member's debt from its available lots, soonest
// expiring first, as redeem moves at the programme.
func (o *op) settleDebt(ctx context.Context, e *entry, b *store.Balance) error {
	rows, err := o.tx.SpendableLots(ctx, o.p.ID, b.MemberID, b.Currency)
	if err != nil {
		return err
	}
	for _, l := range lotsOf(rows) {
		r := min(b.Debt, l.Remaining)
		if r <= 0 {
			break
		}
		o.setLot(&l, l.Remaining-r, store.LotSpent)
		e.move(l, store.MoveRedeem, -r, null.String(""))
		e.post(store.AccountAvailable, b.MemberID, -r)
		e.post(store.AccountDebt, b.MemberID, r)
		b.Available -= r
		b.Debt -= r
	}
	return nil
}

// current locks the member that now has what memberID had: memberID
// itself or, once it was merged, the member it was merged into (a merge
// may happen between the read and the lock, so it checks again under
// the lock).
func (o *op) current(ctx context.Context, memberID, currency string) (*store.Balance, store.Member, error) {
	for range 4 {
		b, m, err := o.lock(ctx, memberID, currency)
		if err != nil || m.Status != "merged" || m.MergedInto == "" {
			return b, m, err
		}
		memberID = string(m.MergedInto)
	}
	return nil, store.Member{}, failure.New(failure.Conflict, "member %s keeps being merged; try again", memberID)
}
