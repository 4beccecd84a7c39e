package ledger

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

// GetTxn reads a transaction with its lot moves.
func GetTxn(ctx context.Context, c *store.Conn, programID, id string) (TxnWithMoves, error) {
	t, err := c.Txn(ctx, programID, id)
	if err != nil {
		return TxnWithMoves{}, err
	}
	moves, err := c.MovesOf(ctx, programID, t.ID)
	if err != nil {
		return TxnWithMoves{}, err
	}
	return TxnWithMoves{Txn: txnOf(t), LotMoves: movesOf(moves)}, nil
}

// MemberTxns lists a member's transactions, newest first.
func MemberTxns(ctx context.Context, c *store.Conn, programID, memberID string, f store.TxnFilter, pg store.Page) ([]Txn, string, error) {
	rows, next, err := c.MemberTxns(ctx, programID, memberID, f, pg)
	return txnsOf(rows), next, err
}

// MemberLots lists a member's lots, newest first.
func MemberLots(ctx context.Context, c *store.Conn, programID, memberID string, f store.LotFilter, pg store.Page) ([]Lot, string, error) {
	rows, next, err := c.MemberLots(ctx, programID, memberID, f, pg)
	return lotsOf(rows), next, err
}

// GetHold reads a hold.
func GetHold(ctx context.Context, c *store.Conn, programID, id string) (Hold, error) {
	h, err := c.Hold(ctx, programID, id)
	return holdOf(h), err
}

// MemberHolds lists a member's holds, newest first.
func MemberHolds(ctx context.Context, c *store.Conn, programID, memberID string, f store.HoldFilter, pg store.Page) ([]Hold, string, error) {
	rows, next, err := c.MemberHolds(ctx, programID, memberID, f, pg)
	return holdsOf(rows), next, err
}

// MemberBalance is a member's balance in one currency with the dates on
// which its available points expire.
type MemberBalance struct {
	Balance
	Expiring []Expiring `json:"expiring"`
}

// Expiring is how many available points expire on a programme-local date.
type Expiring struct {
	Date   string `json:"date"`
	Points int64  `json:"points"`
}

// MaxExpiringDates is how many expiry dates a balance lists per currency.
const MaxExpiringDates = 12

// Balances reads a member's balance in every currency of the programme:
// one query, two when it has points that may expire (a balance read is
// the most frequent request of a points programme).
func Balances(ctx context.Context, c *store.Conn, p Program, memberID string, now time.Time) (map[string]*MemberBalance, error) {
	_, bals, found, err := c.MemberBalances(ctx, p.ID, memberID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, failure.New(failure.NotFound, "member %s not found", memberID)
	}
	out := make(map[string]*MemberBalance, len(p.Currencies))
	for code := range p.Currencies {
		out[code] = &MemberBalance{Expiring: []Expiring{}}
	}
	any := false
	for _, b := range bals {
		if mb, ok := out[b.Currency]; ok {
			mb.Balance = balanceOf(b)
			any = any || b.Available > 0
		}
	}
	if !any {
		return out, nil
	}
	exp, err := c.ExpiringPoints(ctx, p.ID, memberID, 50)
	if err != nil {
		return nil, err
	}
	// Points past their expiry are not available, whenever the expiry job
	// runs: the next spend or the job expires them in the books.
	if len(exp) > 0 && !exp[0].ExpiresAt.After(now) {
		due, err := c.DuePoints(ctx, p.ID, memberID, now)
		if err != nil {
			return nil, err
		}
		for cur, n := range due {
			if mb, ok := out[cur]; ok {
				mb.Available -= n
			}
		}
	}
	for _, e := range exp {
		mb, ok := out[e.Currency]
		if !ok || !e.ExpiresAt.After(now) {
			continue
		}
		date := e.ExpiresAt.In(p.Location).Format(time.DateOnly)
		if n := len(mb.Expiring); n > 0 && mb.Expiring[n-1].Date == date {
			mb.Expiring[n-1].Points += e.Points
		} else if n < MaxExpiringDates {
			mb.Expiring = append(mb.Expiring, Expiring{Date: date, Points: e.Points})
		}
	}
	return out, nil
}
