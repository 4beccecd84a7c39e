package rules

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/jifen/jifen/internal/failure"
)

// Rate is an exact non-negative decimal (a bracket rate, a multiplier),
// written in the API as a decimal string such as "1.5". A rate read from
// JSON that is not such a string keeps its text in bad, so that the
// validation of the object holding it can name the field.
type Rate struct {
	r   *big.Rat
	bad string
}

// Check reports a rate that did not parse; field names it.
func (r Rate) Check(field string) error {
	if r.bad != "" {
		return failure.Field(field, "%s is not a decimal string such as \"1.5\" (at most 6 decimals)", r.bad)
	}
	return nil
}

var rateSyntax = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,6})?$`)

// ParseRate reads a decimal string with at most 9 integer and 6 fraction
// digits.
func ParseRate(s string) (Rate, error) {
	if !rateSyntax.MatchString(s) {
		return Rate{}, fmt.Errorf("%q is not a decimal such as \"1.5\" (at most 6 decimals)", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Rate{}, fmt.Errorf("%q is not a decimal", s)
	}
	return Rate{r: r}, nil
}

// MustRate parses s or panics; for constants and tests.
func MustRate(s string) Rate {
	r, err := ParseRate(s)
	if err != nil {
		panic(err)
	}
	return r
}

// One is the rate 1.
var One = MustRate("1")

// Rat returns the rate as a rational (1 for the zero Rate).
func (r Rate) Rat() *big.Rat {
	if r.r == nil {
		return big.NewRat(1, 1)
	}
	return r.r
}

// IsZero reports whether the rate is unset.
func (r Rate) IsZero() bool { return r.r == nil }

// String writes the rate as a decimal string without trailing zeros.
func (r Rate) String() string {
	if r.r == nil {
		return "1"
	}
	s := r.r.FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// MarshalJSON writes the decimal string.
func (r Rate) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// UnmarshalJSON reads a decimal string. A JSON number is refused (rates
// cross the API as strings so that no float is involved); the refusal is
// reported by Check, not here.
func (r *Rate) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		*r = Rate{bad: string(b)}
		return nil
	}
	v, err := ParseRate(s)
	if err != nil {
		*r = Rate{bad: strconv.Quote(s)}
		return nil
	}
	*r = v
	return nil
}

// maxAward bounds one award (the ledger refuses more than a trillion
// points at once).
const maxAward = 1_000_000_000_000

// floor rounds a non-negative rational down to an integer (points are
// always rounded down).
func floor(r *big.Rat) int64 {
	if r.Sign() <= 0 {
		return 0
	}
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsInt64() || q.Int64() > maxAward {
		return maxAward
	}
	return q.Int64()
}
