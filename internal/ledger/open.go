package ledger

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

// Opening is a member's opening balance in points.
type Opening struct {
	MemberID string
	Points   int64
}

// Open credits the opening balances of members that have no balance yet
// (an import from another system, a benchmark's seed), in bulk: each is an
// earn like any other, with its transaction, postings, lot and lot move,
// and the lot follows the programme's expiry policy; all of them are
// written a few hundred at a time with one Apply and one multi-row insert of
// balances, so that
// 100,000 members load in seconds. A member that has a balance already
// makes the insert fail.
func Open(ctx context.Context, tx *store.Tx, p Program, openings []Opening, reason string, now time.Time) error {
	// One Apply per chunk: a statement has a bound on its parameters.
	const chunk = 200
	for start := 0; start < len(openings); start += chunk {
		if err := open(ctx, tx, p, openings[start:min(start+chunk, len(openings))], reason, now); err != nil {
			return err
		}
	}
	return nil
}

func open(ctx context.Context, tx *store.Tx, p Program, openings []Opening, reason string, now time.Time) error {
	o := newOp(tx, p, now)
	bals := make([]store.Balance, 0, len(openings))
	for _, op := range openings {
		c, err := checkCredit(p, EarnInput{MemberID: op.MemberID, Points: op.Points, Reason: reason, Now: now}, now)
		if err != nil {
			return err
		}
		if c.cur.Code != Points {
			return failure.New(failure.Internal, "an opening is in points")
		}
		b := store.Balance{MemberID: op.MemberID, Currency: Points}
		if _, err := o.credit(TypeEarn, store.AccountIssuance, c, &b); err != nil {
			return err
		}
		bals = append(bals, b)
	}
	// The balances are new rows, not locked ones: flush writes none of them.
	if err := o.flush(ctx); err != nil {
		return err
	}
	return tx.InsertBalances(ctx, p.ID, bals, now)
}
