package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
)

// Reward kinds.
const (
	Fixed      = "fixed"
	PerAmount  = "per_amount"
	Expression = "expression"
)

// Reward says what a matching event is worth.
//
//	{"kind":"fixed","points":10}
//	{"kind":"per_amount","per":100,"points":1,
//	 "brackets":[{"up_to":100000,"rate":"1"},{"up_to":500000,"rate":"1.5"},{"rate":"2"}],
//	 "category_multipliers":{"B":"2"}}
//	{"kind":"expression","points":"order.amount / 100 * 2"}
//
// Any kind may add "currency" (default points) and "expires" (an expiry
// policy for the points it awards).
type Reward struct {
	Kind                string          `json:"kind"`
	Points              int64           `json:"-"` // fixed, per_amount
	Expression          string          `json:"-"` // expression: "points" is CEL text
	Per                 int64           `json:"per,omitempty"`
	Brackets            []Bracket       `json:"brackets,omitempty"`
	CategoryMultipliers map[string]Rate `json:"category_multipliers,omitempty"`
	Currency            string          `json:"currency,omitempty"`
	Expires             *ledger.Policy  `json:"expires,omitempty"`

	expr     *Program
	badInput string // what UnmarshalJSON could not read, reported by Compile
}

// Bracket is a slice of the order amount and its rate: the part of the
// amount above the previous bracket's up_to and up to this one (fen, the
// last bracket open-ended) earns at rate.
type Bracket struct {
	UpTo *int64 `json:"up_to,omitempty"`
	Rate Rate   `json:"rate"`
}

type rewardJSON struct {
	Kind                string          `json:"kind"`
	Points              json.RawMessage `json:"points,omitempty"`
	Per                 int64           `json:"per,omitempty"`
	Brackets            []Bracket       `json:"brackets,omitempty"`
	CategoryMultipliers map[string]Rate `json:"category_multipliers,omitempty"`
	Currency            string          `json:"currency,omitempty"`
	Expires             *ledger.Policy  `json:"expires,omitempty"`
}

// MarshalJSON writes "points" as a number, or as the CEL text for an
// expression reward.
func (r Reward) MarshalJSON() ([]byte, error) {
	w := rewardJSON{Kind: r.Kind, Per: r.Per, Brackets: r.Brackets, CategoryMultipliers: r.CategoryMultipliers,
		Currency: r.Currency, Expires: r.Expires}
	if r.Kind == Expression {
		w.Points, _ = json.Marshal(r.Expression)
	} else {
		w.Points, _ = json.Marshal(r.Points)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads either form of "points".
func (r *Reward) UnmarshalJSON(b []byte) error {
	var w rewardJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Reward{Kind: w.Kind, Per: w.Per, Brackets: w.Brackets, CategoryMultipliers: w.CategoryMultipliers,
		Currency: w.Currency, Expires: w.Expires}
	if len(w.Points) == 0 || string(w.Points) == "null" {
		return nil
	}
	if w.Kind == Expression {
		if err := json.Unmarshal(w.Points, &r.Expression); err != nil {
			r.badInput = "an expression reward's points is CEL text"
		}
		return nil
	}
	if err := json.Unmarshal(w.Points, &r.Points); err != nil {
		r.badInput = "must be an integer"
	}
	return nil
}

var categoryName = regexp.MustCompile(`^[^\x00-\x1f]{1,64}$`)

// Compile validates the reward and compiles its expression.
func (r *Reward) Compile() error {
	var fs failure.Fields
	if r.badInput != "" {
		fs.Add("reward.points", "%s", r.badInput)
		return fs.Err()
	}
	switch r.Kind {
	case Fixed:
		if r.Points < 1 {
			fs.Add("reward.points", "must be at least 1")
		}
	case PerAmount:
		if r.Points < 1 {
			fs.Add("reward.points", "must be at least 1")
		}
		if r.Per < 1 {
			fs.Add("reward.per", "must be at least 1 (fen)")
		}
		var last int64
		for i, b := range r.Brackets {
			if err := b.Rate.Check(fmt.Sprintf("reward.brackets[%d].rate", i)); err != nil {
				fs = append(fs, failure.As(err).Fields...)
			} else if b.Rate.IsZero() {
				fs.Add(fmt.Sprintf("reward.brackets[%d].rate", i), "is required")
			}
			switch {
			case b.UpTo == nil && i != len(r.Brackets)-1:
				fs.Add(fmt.Sprintf("reward.brackets[%d].up_to", i), "only the last bracket may be open-ended")
			case b.UpTo != nil && *b.UpTo <= last:
				fs.Add(fmt.Sprintf("reward.brackets[%d].up_to", i), "must be greater than the previous bracket's")
			case b.UpTo != nil:
				last = *b.UpTo
			}
		}
		if len(r.CategoryMultipliers) > 200 {
			fs.Add("reward.category_multipliers", "at most 200 categories")
		}
		for c, m := range r.CategoryMultipliers {
			if !categoryName.MatchString(c) {
				fs.Add("reward.category_multipliers", "category %q is not 1 to 64 printable characters", c)
			}
			if err := m.Check("reward.category_multipliers." + c); err != nil {
				fs = append(fs, failure.As(err).Fields...)
			}
		}
	case Expression:
		p, err := CompileExpression("reward.points", r.Expression)
		if err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
		r.expr = p
	default:
		fs.Add("reward.kind", "must be fixed, per_amount or expression")
	}
	if r.Kind != PerAmount && (r.Per != 0 || len(r.Brackets) > 0 || len(r.CategoryMultipliers) > 0) {
		fs.Add("reward.kind", "per, brackets and category_multipliers belong to per_amount rewards")
	}
	if r.Expires != nil {
		if err := r.Expires.Validate("reward.expires"); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
	}
	return fs.Err()
}

// Value is what the reward is worth for one event, exact (before the tier
// multiplier and before rounding down).
func (r *Reward) Value(ctx context.Context, in *Input) (*big.Rat, error) {
	switch r.Kind {
	case Fixed:
		return new(big.Rat).SetInt64(r.Points), nil
	case PerAmount:
		if in.Order == nil {
			return new(big.Rat), nil
		}
		return PerAmountValue(r, in.Order), nil
	case Expression:
		v, err := r.expr.Int(ctx, in.Activation())
		if err != nil {
			return nil, err
		}
		return new(big.Rat).SetInt64(max(v, 0)), nil
	}
	return new(big.Rat), nil
}

// PerAmountValue is the exact worth of an order under a per_amount reward:
//
//	bracketed(A) × M × points / per
//
// where A is the order amount, bracketed(A) sums the part of A inside each
// bracket times its rate (A itself without brackets), and M is the items'
// category multipliers averaged by item amount (1 without multipliers or
// items). The amount comes from the order and the mix from its items, so
// items that sum to more or less than the order (a discount, postage) shift
// the mix but never the total the brackets see.
func PerAmountValue(r *Reward, o *Order) *big.Rat {
	a := max(o.Amount, 0)
	var value *big.Rat
	if len(r.Brackets) == 0 {
		value = new(big.Rat).SetInt64(a)
	} else {
		value = new(big.Rat)
		var lo int64
		for _, b := range r.Brackets {
			hi := a
			if b.UpTo != nil {
				hi = min(a, *b.UpTo)
			}
			if hi > lo {
				part := new(big.Rat).SetInt64(hi - lo)
				value.Add(value, part.Mul(part, b.Rate.Rat()))
			}
			if b.UpTo == nil || a <= *b.UpTo {
				break
			}
			lo = *b.UpTo
		}
	}
	if len(r.CategoryMultipliers) > 0 {
		// Exact sums: item amounts are any int64s, and a sum that wrapped
		// around would make the mix worth many times the top multiplier.
		sum, weighted := new(big.Rat), new(big.Rat)
		for _, it := range o.Items {
			if it.Amount <= 0 {
				continue
			}
			m, ok := r.CategoryMultipliers[it.Category]
			if !ok {
				m = One
			}
			w := new(big.Rat).SetInt64(it.Amount)
			sum.Add(sum, w)
			weighted.Add(weighted, w.Mul(w, m.Rat()))
		}
		if sum.Sign() > 0 {
			value.Mul(value, weighted.Quo(weighted, sum))
		}
	}
	value.Mul(value, new(big.Rat).SetFrac64(r.Points, r.Per))
	return value
}
