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
	ts, err := credits(ctx, tx, p, TypeEarn, store.AccountIssuance, []EarnInput{in}, in.Now)
	if err != nil {
		return Txn{}, err
	}
	return ts[0], nil
}

// EarnMany credits several earns to one member in one write: an event's
// awards. Each keeps its own transaction and lot (its own expiry, its own
// reversal); the balance rows are locked once, points first.
func EarnMany(ctx context.Context, tx *store.Tx, p Program, ins []EarnInput, now time.Time) ([]Txn, error) {
	return credits(ctx, tx, p, TypeEarn, store.AccountIssuance, ins, now)
}

// EarnEach credits one earn to each of several members in one write: a
// grant to many members at once, an import, a benchmark's seed. The
// members' balance rows are locked in the order of their IDs (so that two
// such writes cannot deadlock) and everything is written with one Apply;
// a member may appear once. It fails whole when one member may not earn.
func EarnEach(ctx context.Context, tx *store.Tx, p Program, ins []EarnInput, now time.Time) ([]Txn, error) {
	order := make([]int, len(ins))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return ins[order[a]].MemberID < ins[order[b]].MemberID })
	for n := 1; n < len(order); n++ {
		if ins[order[n]].MemberID == ins[order[n-1]].MemberID {
			return nil, failure.New(failure.Internal, "EarnEach: member %s twice", ins[order[n]].MemberID)
		}
	}
	// A chunk per Apply: a statement has a bound on its parameters.
	const chunk = 200
	out := make([]Txn, len(ins))
	for start := 0; start < len(order); start += chunk {
		part := order[start:min(start+chunk, len(order))]
		o := newOp(tx, p, now)
		if err := o.lockMany(ctx, ins, part); err != nil {
			return nil, err
		}
		for _, i := range part {
			c, err := checkCredit(p, ins[i], now)
			if err != nil {
				return nil, err
			}
			b, err := o.lockActive(ctx, ins[i].MemberID, c.cur.Code)
			if err != nil {
				return nil, err
			}
			if out[i], err = o.credit(TypeEarn, store.AccountIssuance, c, b); err != nil {
				return nil, err
			}
		}
		if err := o.flush(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
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
		ts, err := credits(ctx, tx, p, TypeAdjust, store.AccountAdjustment, []EarnInput{{
			MemberID: in.MemberID, Points: in.Points, Currency: in.Currency, Reason: in.Reason,
			Metadata: in.Metadata, Now: in.Now,
		}}, in.Now)
		if err != nil {
			return Txn{}, err
		}
		return ts[0], nil
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

// credit is one credit worked out: its currency and dates, checked.
type credit struct {
	in          EarnInput
	cur         Currency
	availableAt time.Time
	expiresAt   *time.Time
}

func checkCredit(p Program, in EarnInput, now time.Time) (credit, error) {
	if in.Points <= 0 || in.Points > MaxPoints {
		return credit{}, failure.Field("points", "must be between 1 and %d", int64(MaxPoints))
	}
	cur, err := p.currency(in.Currency, false)
	if err != nil {
		return credit{}, err
	}
	c := credit{in: in, cur: cur, availableAt: now}
	if in.AvailableAt != nil && in.AvailableAt.After(now) {
		c.availableAt = *in.AvailableAt
	}
	earnedAt := in.EarnedAt
	if earnedAt.IsZero() {
		earnedAt = now
	}
	c.expiresAt = in.ExpiresAt
	if c.expiresAt == nil {
		pol := p.policy(cur)
		if in.Expiry != nil {
			pol = *in.Expiry
		}
		c.expiresAt = pol.ExpiresAt(earnedAt, p.Location)
	}
	// An expires_at in the past is allowed (importing old balances, tests):
	// the points are already due, no spend takes them, and the next expiry
	// run expires them.
	if c.expiresAt != nil && c.availableAt.After(now) && !c.expiresAt.After(c.availableAt) {
		return credit{}, failure.Field("expires_at", "must be after available_at")
	}
	return c, nil
}

func credits(ctx context.Context, tx *store.Tx, p Program, typ, account string, ins []EarnInput, now time.Time) ([]Txn, error) {
	return newOp(tx, p, now).credits(ctx, typ, account, ins)
}

// credits is credits in the operation o: balance rows o has locked
// already are not read again.
func (o *op) credits(ctx context.Context, typ, account string, ins []EarnInput) ([]Txn, error) {
	p, now := o.p, o.now
	cs := make([]credit, len(ins))
	for i, in := range ins {
		if in.MemberID != ins[0].MemberID {
			return nil, failure.New(failure.Internal, "credits to two members in one write")
		}
		c, err := checkCredit(p, in, now)
		if err != nil {
			return nil, err
		}
		cs[i] = c
	}
	// Lock points first, then the other currencies in order.
	curs := map[string]bool{}
	for _, c := range cs {
		curs[c.cur.Code] = true
	}
	order := make([]string, 0, len(curs))
	for c := range curs {
		order = append(order, c)
	}
	sort.Slice(order, func(i, j int) bool {
		if (order[i] == Points) != (order[j] == Points) {
			return order[i] == Points
		}
		return order[i] < order[j]
	})
	for _, cur := range order {
		if _, err := o.lockActive(ctx, ins[0].MemberID, cur); err != nil {
			return nil, err
		}
	}
	out := make([]Txn, len(cs))
	for i, c := range cs {
		b, _, _ := o.lock(ctx, c.in.MemberID, c.cur.Code)
		t, err := o.credit(typ, account, c, b)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	if err := o.flush(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// credit opens the lot of one credit and posts it into b.
func (o *op) credit(typ, account string, c credit, b *store.Balance) (Txn, error) {
	in, now := c.in, o.now
	e := newEntry(typ, in.MemberID, c.cur.Code, now)
	e.txn.Points = in.Points
	e.txn.Reason = null.String(in.Reason)
	e.txn.Reference = null.String(in.Reference)
	e.txn.MerchantID = null.String(in.MerchantID)
	e.txn.Metadata = in.Metadata
	lot := Lot{
		ID: id.New("lot"), MemberID: in.MemberID, Currency: c.cur.Code, Amount: in.Points, Remaining: in.Points,
		Status: store.LotAvailable, AvailableAt: c.availableAt, ExpiresAt: c.expiresAt,
		MerchantID: null.String(in.MerchantID), TransactionID: e.txn.ID, CreatedAt: now,
	}
	e.post(account, "", -in.Points)
	e.move(lot, store.MoveIssue, in.Points, "")
	if c.availableAt.After(now) {
		lot.Status = store.LotPending
		e.txn.Status = StatusPending
		e.post(store.AccountPending, in.MemberID, in.Points)
		b.Pending += in.Points
	} else {
		e.post(store.AccountAvailable, in.MemberID, in.Points)
		b.Available += in.Points
		repayDebt(e, &lot, b)
	}
	if typ == TypeEarn {
		b.LifetimeEarned += in.Points
	}
	o.newLot(lot)
	return e.txn, o.add(e)
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
