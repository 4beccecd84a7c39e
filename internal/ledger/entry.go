package ledger

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/outbox"
	"github.com/jifen/jifen/internal/store"
)

// Transaction types.
const (
	TypeEarn     = "earn"
	TypeSpend    = "spend"
	TypeAdjust   = "adjust"
	TypeExpire   = "expire"
	TypeReverse  = "reverse"
	TypeHold     = "hold"
	TypeCapture  = "capture"
	TypeRelease  = "release"
	TypeActivate = "activate" // pending points became available
	TypeExchange = "exchange" // points of one currency exchanged into another
)

// Transaction statuses.
const (
	StatusCompleted = "completed"
	StatusPending   = "pending" // an earn whose points are not yet available
)

// op is one ledger operation at work: it locks balances, works out its
// effect in memory, and writes everything at the end with one Apply (a few
// multi-row statements on SQLite, one statement on PostgreSQL). Reads it
// makes after a change of its own must flush first.
type op struct {
	tx   *store.Tx
	p    Program
	now  time.Time
	c    store.Changes
	bals map[string]*store.Balance // member/currency → locked balance
	mems map[string]store.Member   // as read under the lock
	keys []string
}

func newOp(tx *store.Tx, p Program, now time.Time) *op {
	return &op{tx: tx, p: p, now: now, bals: map[string]*store.Balance{}, mems: map[string]store.Member{}}
}

// lock locks a member's balance in a currency (once per operation) and
// reads the member under the lock.
func (o *op) lock(ctx context.Context, memberID, currency string) (*store.Balance, store.Member, error) {
	key := memberID + "/" + currency
	if b, ok := o.bals[key]; ok {
		return b, o.mems[memberID], nil // locked before in this operation
	}
	b, m, err := lockMember(ctx, o.tx, o.p, memberID, currency, o.now)
	if err != nil {
		return nil, m, err
	}
	o.bals[key], o.mems[memberID] = &b, m
	o.keys = append(o.keys, key)
	return &b, m, nil
}

// lockMany locks, in one statement per chunk, the balance rows that the
// credits ins (in order) will take one by one, in member order; lock then
// finds them locked. Those not found are locked (and made) by lock.
func (o *op) lockMany(ctx context.Context, ins []EarnInput, order []int) error {
	byCur := map[string][]string{}
	for _, i := range order {
		cur := cmp.Or(ins[i].Currency, Points)
		byCur[cur] = append(byCur[cur], ins[i].MemberID)
	}
	if len(byCur) != 1 {
		return nil // several currencies: each member's rows are locked points first, by lock
	}
	for cur, ids := range byCur {
		bs, ms, err := o.tx.LockBalancesMembers(ctx, o.p.ID, cur, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if b, ok := bs[id]; ok {
				m := ms[id]
				if err := recheck(ctx, o.tx, o.p, b, &m); err != nil {
					return err
				}
				key := id + "/" + cur
				o.bals[key], o.mems[id] = &b, m
				o.keys = append(o.keys, key)
			}
		}
	}
	return nil
}

// lockActive is lock, refusing a member that may not use points.
func (o *op) lockActive(ctx context.Context, memberID, currency string) (*store.Balance, error) {
	b, m, err := o.lock(ctx, memberID, currency)
	if err != nil {
		return nil, err
	}
	return b, Active(m)
}

// setLot changes a lot's remaining points, picks its status, and records
// the change.
func (o *op) setLot(l *Lot, remaining int64, emptyStatus string) {
	l.Remaining = remaining
	switch {
	case remaining > 0 && l.Status != store.LotPending:
		l.Status = store.LotAvailable
	case remaining == 0:
		l.Status = emptyStatus
	}
	o.c.LotChanges = append(o.c.LotChanges, store.LotChange{ID: l.ID, Remaining: l.Remaining, Status: l.Status})
}

func (o *op) newLot(l Lot) { o.c.NewLots = append(o.c.NewLots, l.record()) }

// add records a finished transaction.
func (o *op) add(e *entry) error {
	var sum int64
	for _, p := range e.postings {
		sum += p.Amount
	}
	if sum != 0 {
		// A bug, never an input error: refuse to write unbalanced books.
		return fmt.Errorf("%s transaction %s: postings sum to %d", e.txn.Type, e.txn.ID, sum)
	}
	o.c.Txns = append(o.c.Txns, e.txn.record())
	o.c.Postings = append(o.c.Postings, e.postings)
	for _, m := range e.moves {
		o.c.Moves = append(o.c.Moves, m.record())
	}
	return nil
}

// flush writes what the operation has worked out so far.
func (o *op) flush(ctx context.Context) error {
	for _, k := range o.keys {
		o.c.Balances = append(o.c.Balances, *o.bals[k])
	}
	o.c.Location = o.p.Location
	err := o.tx.Apply(ctx, o.p.ID, o.c, o.now)
	if err == nil {
		err = o.emit(ctx)
	}
	o.c = store.Changes{}
	return err
}

// pointsEvents names the webhook event of each transaction type that has
// one (a capture counts as spent; holds, releases and activations have
// none of their own: hold.* events come from their operations).
var pointsEvents = map[string]string{
	TypeEarn: outbox.PointsEarned, TypeSpend: outbox.PointsSpent, TypeCapture: outbox.PointsSpent,
	TypeAdjust: outbox.PointsAdjusted, TypeReverse: outbox.PointsReversed, TypeExpire: outbox.PointsExpired,
	TypeExchange: outbox.PointsExchanged,
}

// PointsEvent is the data of a points.* webhook event.
type PointsEvent struct {
	Transaction Txn     `json:"transaction"`
	Balance     Balance `json:"balance"`
}

// emit writes the points.* events of the transactions being flushed, each
// with the member's balance in its currency after the operation, to the
// outbox (in this transaction): one map lookup per transaction when no
// webhook subscribes.
func (o *op) emit(ctx context.Context) error {
	for _, t := range o.c.Txns {
		typ, ok := pointsEvents[t.Type]
		if !ok || !o.p.Webhooks.Wants(typ) {
			continue
		}
		ev := PointsEvent{Transaction: txnOf(t)}
		if b, ok := o.bals[t.MemberID+"/"+t.Currency]; ok {
			ev.Balance = balanceOf(*b)
		}
		if err := outbox.Emit(ctx, o.tx, o.p.ID, o.p.Webhooks, typ, t.MemberID, ev, o.now); err != nil {
			return err
		}
	}
	return nil
}

// entry collects one transaction's postings and lot moves while an
// operation works out its effect.
type entry struct {
	txn      Txn
	postings []store.Posting
	moves    []LotMove
	// currency, when set, is the currency post writes in instead of the
	// transaction's: an exchange posts in two.
	currency string
}

func newEntry(typ, memberID, currency string, now time.Time) *entry {
	return &entry{txn: Txn{
		ID: id.New("txn"), Type: typ, MemberID: memberID, Currency: currency,
		Status: StatusCompleted, CreatedAt: now,
	}}
}

// post adds a posting; member is empty for the program's accounts.
func (e *entry) post(account, member string, amount int64) {
	if amount == 0 {
		return
	}
	cur := e.txn.Currency
	if e.currency != "" {
		cur = e.currency
	}
	e.postings = append(e.postings, store.Posting{Account: account, MemberID: member, Currency: cur, Amount: amount})
}

func (e *entry) move(l Lot, kind string, points int64, at null.String) {
	e.moves = append(e.moves, LotMove{
		LotID: l.ID, TransactionID: e.txn.ID, Kind: kind, Points: points,
		IssuerMerchantID: l.MerchantID, AtMerchantID: at, CreatedAt: e.txn.CreatedAt, Currency: l.Currency,
	})
}

// lockMember locks a member's balance row (creating it at zero the first
// time) and reads the member under the lock.
func lockMember(ctx context.Context, tx *store.Tx, p Program, memberID, currency string, now time.Time) (store.Balance, store.Member, error) {
	b, m, found, err := tx.LockBalanceMember(ctx, p.ID, memberID, currency)
	if err != nil {
		return b, m, err
	}
	if found {
		return b, m, recheck(ctx, tx, p, b, &m)
	}
	if currency != Points {
		// The member's first row in this currency: take its lock (the
		// points row) before reading it, as freezing and erasing do.
		if _, _, err := lockMember(ctx, tx, p, memberID, Points, now); err != nil {
			return b, store.Member{}, err
		}
	}
	if m, err = tx.MemberByID(ctx, p.ID, memberID); err != nil {
		return b, m, err
	}
	if b, err = tx.CreateBalance(ctx, p.ID, memberID, currency, now); err != nil {
		return b, m, err
	}
	return b, m, nil
}

// recheck reads the member again when its locked balance row is empty
// and the member active: a merge empties the source's rows, and on
// PostgreSQL a statement that waited for the lock re-reads only the row
// it locked, with the member as it was when it started. A fresh read
// sees the merged status. Rows of members with any history are never
// empty, so this costs a query only for members without one.
func recheck(ctx context.Context, tx *store.Tx, p Program, b store.Balance, m *store.Member) error {
	if m.Status != "active" || b.Available != 0 || b.Pending != 0 || b.Held != 0 || b.Debt != 0 ||
		b.LifetimeEarned != 0 || b.LifetimeSpent != 0 || b.LifetimeExpired != 0 {
		return nil
	}
	fresh, err := tx.MemberByID(ctx, p.ID, m.ID)
	if err != nil {
		return err
	}
	*m = fresh
	return nil
}

// LockMember takes the member's lock — its points balance row, which
// every write concerning the member locks first — and returns the member.
// Operations that touch several of a member's rows (an event with awards
// in several currencies, a check-in, a tier change) take it first, so
// they run one at a time per member on every node.
func LockMember(ctx context.Context, tx *store.Tx, p Program, memberID string, now time.Time) (store.Member, error) {
	_, m, err := lockMember(ctx, tx, p, memberID, Points, now)
	return m, err
}

// Locked is a member whose lock (its points row) an operation took with
// Lock: the member as read under it, and that read, which an earn in the
// same operation uses instead of reading the row again. Nothing but that
// earn may change the member's balances in between.
type Locked struct {
	Member store.Member
	o      *op
}

// Lock is LockMember, keeping what it read for EarnMany.
func Lock(ctx context.Context, tx *store.Tx, p Program, memberID string, now time.Time) (*Locked, error) {
	o := newOp(tx, p, now)
	_, m, err := o.lock(ctx, memberID, Points)
	if err != nil {
		return nil, err
	}
	return &Locked{Member: m, o: o}, nil
}

// EarnMany is EarnMany for the locked member, in the operation that
// locked it (at its time).
func (l *Locked) EarnMany(ctx context.Context, ins []EarnInput) ([]Txn, error) {
	return l.o.credits(ctx, TypeEarn, store.AccountIssuance, ins)
}

// Active fails with Conflict unless the member may earn and spend.
func Active(m store.Member) error {
	if m.Status != "active" {
		return failure.New(failure.Conflict, "member %s is %s", m.ID, m.Status)
	}
	return nil
}
