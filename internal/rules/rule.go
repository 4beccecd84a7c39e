// Package rules decides what an event is worth: rule definitions and their
// validation, CEL conditions and point expressions (compiled and
// type-checked when a rule is saved, bounded in cost when run), the reward
// formulas, recurring promotions, and the calendar periods of per-member
// caps in the program's time zone. It is pure: caps and budgets are
// counted by the events package in the database.
package rules

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
)

// Rule statuses.
const (
	Draft   = "draft"
	Active  = "active"
	Paused  = "paused"
	Deleted = "deleted"
)

// Def is a rule as an operator writes it. Every change is a new version.
type Def struct {
	Name       string      `json:"name"`
	EventType  string      `json:"event_type"`
	Condition  string      `json:"condition"`
	Reward     Reward      `json:"reward"`
	Limits     *Limits     `json:"limits"`
	StartsAt   *time.Time  `json:"starts_at"`
	EndsAt     *time.Time  `json:"ends_at"`
	Priority   int         `json:"priority"`
	Exclusive  bool        `json:"exclusive"`
	Status     string      `json:"status"`
	Recurrence *Recurrence `json:"recurrence"`
	MerchantID string      `json:"merchant_id"`
	// TierMultiplier says whether the member's tier multiplier applies to
	// the rule's points: by default yes for spendable currencies and no
	// for growth, so that a tier does not speed its own climb.
	TierMultiplier *bool `json:"tier_multiplier"`
}

// Limits caps a rule. Per-member caps count points per calendar period in
// the program's zone (ISO weeks start on Monday); Budget is the rule's pool
// across all members, never overspent.
type Limits struct {
	PerMember *PerMember `json:"per_member,omitempty"`
	Budget    *int64     `json:"budget,omitempty"`
}

// PerMember holds points caps per member and period.
type PerMember struct {
	Day   *int64 `json:"day,omitempty"`
	Week  *int64 `json:"week,omitempty"`
	Month *int64 `json:"month,omitempty"`
	Total *int64 `json:"total,omitempty"`
}

var eventType = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// ValidEventType reports whether s is a well-formed event type.
func ValidEventType(s string) bool { return len(s) <= 64 && eventType.MatchString(s) }

// Rule is a compiled rule version.
type Rule struct {
	ID      string
	Version int
	Def
	cond *Program
}

// Compile validates a definition and compiles its CEL.
func Compile(id string, version int, d Def) (*Rule, error) {
	var fs failure.Fields
	d.Name = strings.TrimSpace(d.Name)
	if n := len([]rune(d.Name)); n < 1 || n > 100 {
		fs.Add("name", "must be 1 to 100 characters")
	}
	if !ValidEventType(d.EventType) {
		fs.Add("event_type", "must be a type such as order.paid or my_app.clicked")
	}
	if d.TierMultiplier == nil {
		on := d.Reward.Currency != ledger.Growth
		d.TierMultiplier = &on
	}
	r := &Rule{ID: id, Version: version, Def: d}
	if d.Condition != "" {
		p, err := CompileCondition("condition", d.Condition)
		if err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
		r.cond = p
	}
	if err := r.Reward.Compile(); err != nil {
		fs = append(fs, failure.As(err).Fields...)
	}
	if l := d.Limits; l != nil {
		if pm := l.PerMember; pm != nil {
			for name, v := range map[string]*int64{"day": pm.Day, "week": pm.Week, "month": pm.Month, "total": pm.Total} {
				if v != nil && *v < 1 {
					fs.Add("limits.per_member."+name, "must be at least 1")
				}
			}
		}
		if l.Budget != nil && *l.Budget < 1 {
			fs.Add("limits.budget", "must be at least 1")
		}
	}
	if d.StartsAt != nil && d.EndsAt != nil && !d.EndsAt.After(*d.StartsAt) {
		fs.Add("ends_at", "must be after starts_at")
	}
	if d.Priority < -1_000_000 || d.Priority > 1_000_000 {
		fs.Add("priority", "must be between -1000000 and 1000000")
	}
	switch d.Status {
	case Draft, Active, Paused:
	default:
		fs.Add("status", "must be draft, active or paused")
	}
	if d.Recurrence != nil {
		if err := d.Recurrence.Validate("recurrence"); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// Currency is the currency the rule awards.
func (r *Rule) Currency() string { return cmp.Or(r.Reward.Currency, "points") }

// Budget is the rule's pool, 0 when it has none.
func (r *Rule) Budget() int64 {
	if r.Limits == nil || r.Limits.Budget == nil {
		return 0
	}
	return *r.Limits.Budget
}

// Ruleset is a program's active rules by event type, highest priority
// first (then oldest first).
type Ruleset struct {
	byType map[string][]*Rule
}

// NewRuleset orders rules for evaluation; only active ones are kept.
func NewRuleset(rs []*Rule) *Ruleset {
	s := &Ruleset{byType: map[string][]*Rule{}}
	for _, r := range rs {
		if r.Status == Active {
			s.byType[r.EventType] = append(s.byType[r.EventType], r)
		}
	}
	for _, list := range s.byType {
		slices.SortStableFunc(list, func(a, b *Rule) int {
			if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
	}
	return s
}

// Rules lists the active rules for an event type, in evaluation order.
func (s *Ruleset) Rules(eventType string) []*Rule { return s.byType[eventType] }

// Match is a rule that matched an event and what it is worth, after the
// tier multiplier and rounding down, before caps and budgets.
type Match struct {
	Rule   *Rule
	Points int64
	Err    error // the condition or expression failed to evaluate; no award
}

// Evaluate runs the event through the rules of its type, highest priority
// first; an exclusive rule that matches stops the lower ones. A condition
// that fails at run time counts as not matching and is reported in Err.
func (s *Ruleset) Evaluate(ctx context.Context, in *Input) []Match {
	var out []Match
	local := in.OccurredAt.In(in.Location)
	for _, r := range s.byType[in.Type] {
		if r.MerchantID != "" && r.MerchantID != in.MerchantID {
			continue
		}
		if (r.StartsAt != nil && in.OccurredAt.Before(*r.StartsAt)) || (r.EndsAt != nil && !in.OccurredAt.Before(*r.EndsAt)) {
			continue
		}
		if r.Recurrence != nil && !r.Recurrence.Matches(local) {
			continue
		}
		if r.cond != nil {
			ok, err := r.cond.Bool(ctx, in.Activation())
			if err != nil {
				out = append(out, Match{Rule: r, Err: err})
				continue
			}
			if !ok {
				continue
			}
		}
		v, err := r.Reward.Value(ctx, in)
		if err != nil {
			out = append(out, Match{Rule: r, Err: err})
		} else {
			if r.TierMultiplier == nil || *r.TierMultiplier {
				v.Mul(v, in.TierMultiplier.Rat())
			}
			out = append(out, Match{Rule: r, Points: floor(v)})
		}
		if r.Exclusive {
			break
		}
	}
	return out
}

// Periods are the cap periods an instant falls in, in the program's zone:
// "day:2026-03-01", "week:2026-W09", "month:2026-03" and "total".
func Periods(t time.Time, loc *time.Location) (day, week, month string) {
	l := t.In(loc)
	y, w := l.ISOWeek()
	return "day:" + l.Format(time.DateOnly), fmt.Sprintf("week:%04d-W%02d", y, w), "month:" + l.Format("2006-01")
}

// Value exposes the exact reward value for tests of the formulas.
func (r *Rule) Value(ctx context.Context, in *Input) (*big.Rat, error) {
	return r.Reward.Value(ctx, in)
}
