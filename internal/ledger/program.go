package ledger

import (
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/outbox"
)

// Negative balance policies.
const (
	AllowDebt = "allow" // a clawback may leave a debt that later earnings repay first
	Floor     = "floor" // a clawback stops at zero
)

// Program is what the ledger needs to know of a program.
type Program struct {
	ID              string
	Location        *time.Location
	NegativeBalance string
	Expiry          Policy // the default policy for earned points
	Currencies      map[string]Currency
	// Webhooks are the programme's subscriptions: flush writes a points.*
	// event to the outbox for each transaction a webhook subscribes to.
	Webhooks outbox.Subs
}

// Currency is one point currency of a program.
type Currency struct {
	Code      string
	Spendable bool
	Expiry    *Policy // nil: the program's policy
}

// MaxPoints bounds any one amount of points (an earn, a spend, a price):
// a trillion, far beyond any real programme and far enough from the int64
// limit that sums of them cannot overflow.
const MaxPoints = 1_000_000_000_000

// Points and growth exist in every program.
const (
	Points = "points"
	Growth = "growth"
)

// currency looks a currency up; spend says the operation takes points out,
// which only spendable currencies allow.
func (p Program) currency(code string, spend bool) (Currency, error) {
	if code == "" {
		code = Points
	}
	c, ok := p.Currencies[code]
	if !ok {
		return Currency{}, failure.Field("currency", "unknown currency %q", code)
	}
	if spend && !c.Spendable {
		return Currency{}, failure.Field("currency", "currency %q cannot be spent", code)
	}
	return c, nil
}

func (p Program) policy(c Currency) Policy {
	if c.Expiry != nil {
		return *c.Expiry
	}
	return p.Expiry
}
