package ledger

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// Expiry policy kinds.
const (
	Never     = "never"
	Rolling   = "rolling"
	EndOfYear = "end_of_year"
)

// Policy says when earned points expire.
type Policy struct {
	Kind  string `json:"kind"`
	Days  int    `json:"days,omitempty"`  // rolling
	Years int    `json:"years,omitempty"` // end_of_year
}

// Validate checks a policy; field names the input field for errors.
func (p Policy) Validate(field string) error {
	switch p.Kind {
	case Never:
		if p.Days != 0 || p.Years != 0 {
			return failure.Field(field, "kind never takes no days or years")
		}
	case Rolling:
		if p.Days < 1 || p.Days > 36500 {
			return failure.Field(field+".days", "must be between 1 and 36500")
		}
		if p.Years != 0 {
			return failure.Field(field+".years", "kind rolling takes days, not years")
		}
	case EndOfYear:
		if p.Years < 0 || p.Years > 100 {
			return failure.Field(field+".years", "must be between 0 and 100")
		}
		if p.Days != 0 {
			return failure.Field(field+".days", "kind end_of_year takes years, not days")
		}
	default:
		return failure.Field(field+".kind", "must be one of never, rolling, end_of_year")
	}
	return nil
}

// ParsePolicy reads a stored policy.
func ParsePolicy(b []byte) (Policy, error) {
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return Policy{}, fmt.Errorf("expiry policy %s: %w", b, err)
	}
	return p, p.Validate("expiry")
}

// ExpiresAt returns when points earned at earned expire under p, or nil for
// never. Rolling policies count days of 24 hours from the earn. End-of-year
// policies expire at the last second of the program-local year `Years`
// after the year of the earn (岁末清零): earned on 2026-03-05 with Years 1,
// the points expire at 2027-12-31 23:59:59 in loc. Points earned in the
// very second they would expire count toward the next year instead.
func (p Policy) ExpiresAt(earned time.Time, loc *time.Location) *time.Time {
	var t time.Time
	switch p.Kind {
	case Rolling:
		t = earned.Add(time.Duration(p.Days) * 24 * time.Hour)
	case EndOfYear:
		y := earned.In(loc).Year() + p.Years
		t = startOfYear(y+1, loc).Add(-time.Second)
		if !t.After(earned) {
			// Earned in that year's last second (Years 0): the points would
			// expire as they are earned; they belong to the next year.
			t = startOfYear(y+2, loc).Add(-time.Second)
		}
	default:
		return nil
	}
	t = t.UTC()
	return &t
}

// startOfYear is the first instant of local year y in loc. Where the
// clocks jump across that midnight, time.Date may answer an instant on the
// wrong side of the jump: an hour early in Lima, whose DST began at 00:00
// on 1 January 1986, so that points earned at 23:30 expired at once.
func startOfYear(y int, loc *time.Location) time.Time {
	t := time.Date(y, time.January, 1, 0, 0, 0, 0, loc)
	if t.Year() < y { // midnight was skipped: the year begins after the gap
		if _, end := t.ZoneBounds(); !end.IsZero() {
			t = end
		}
	} else if before := t.Add(-time.Nanosecond); before.Year() >= y { // midnight came twice: take the first
		_, off := before.Zone()
		t = time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(off) * time.Second).In(loc)
	}
	return t
}
