package rulebook

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
)

// The rules' merchant rule: every key reads every rule (an event at any
// merchant may earn by the programme's rules); a merchant key creates,
// changes and deletes only its own merchant's, which fire only for events
// at that merchant.

// Input creates a rule or, in a change, sets the fields it names; in a
// change "" and null clear the optional ones.
type Input struct {
	Name           *string           `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	EventType      *string           `json:"event_type,omitempty" api:"maxlen=64,pattern=^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$"`
	Condition      *string           `json:"condition,omitempty" doc:"CEL over event, member, order, now, local; must be a bool"`
	Reward         *rules.Reward     `json:"reward,omitempty"`
	Limits         json.RawMessage   `json:"limits,omitempty"`
	StartsAt       *string           `json:"starts_at,omitempty" api:"format=date-time"`
	EndsAt         *string           `json:"ends_at,omitempty" api:"format=date-time"`
	Priority       *int              `json:"priority,omitempty" api:"min=-1000000,max=1000000" doc:"higher first"`
	Exclusive      *bool             `json:"exclusive,omitempty"`
	Status         *string           `json:"status,omitempty" api:"enum=draft|active|paused"`
	Recurrence     *rules.Recurrence `json:"recurrence,omitempty"`
	MerchantID     *string           `json:"merchant_id,omitempty"`
	TierMultiplier *bool             `json:"tier_multiplier,omitempty" doc:"apply the tier multiplier; default true for points, false for growth"`
}

// FromDef is the input that creates a rule of definition d.
func FromDef(d rules.Def) Input {
	in := Input{Name: &d.Name, EventType: &d.EventType, Condition: &d.Condition, Reward: &d.Reward,
		Priority: &d.Priority, Exclusive: &d.Exclusive, Status: &d.Status, Recurrence: d.Recurrence,
		MerchantID: &d.MerchantID, TierMultiplier: d.TierMultiplier, StartsAt: timeText(d.StartsAt), EndsAt: timeText(d.EndsAt)}
	if d.Limits != nil {
		in.Limits, _ = json.Marshal(d.Limits)
	}
	return in
}

// apply writes the input's fields into d. The definition as a whole is
// checked by rules.Compile.
func (in Input) apply(d *rules.Def) error {
	var fs failure.Fields
	set(&d.Name, in.Name)
	set(&d.EventType, in.EventType)
	set(&d.Condition, in.Condition)
	set(&d.Reward, in.Reward)
	set(&d.Priority, in.Priority)
	set(&d.Exclusive, in.Exclusive)
	set(&d.Status, in.Status)
	set(&d.MerchantID, in.MerchantID)
	if in.TierMultiplier != nil {
		d.TierMultiplier = in.TierMultiplier
	}
	if len(in.Limits) > 0 {
		if string(in.Limits) == "null" {
			d.Limits = nil
		} else {
			var l rules.Limits
			if err := input.DecodeAt("limits", in.Limits, &l); err != nil {
				if fe := failure.As(err); fe != nil {
					fs = append(fs, fe.Fields...)
				} else {
					fs.Add("limits", "must be {per_member:{day,week,month,total}, budget}")
				}
			}
			d.Limits = &l
		}
	}
	if in.StartsAt != nil {
		d.StartsAt = nil
		input.TimeInto(&fs, "starts_at", in.StartsAt, &d.StartsAt)
	}
	if in.EndsAt != nil {
		d.EndsAt = nil
		input.TimeInto(&fs, "ends_at", in.EndsAt, &d.EndsAt)
	}
	if in.Recurrence != nil {
		d.Recurrence = in.Recurrence
		if in.Recurrence.Kind == "" {
			d.Recurrence = nil
		}
	}
	return fs.Err()
}

func timeText(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(time.RFC3339Nano)
	return &s
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Create validates and stores a new rule (version 1); a merchant key's
// rule is its merchant's.
func (b *Book) Create(ctx context.Context, tx *store.Tx, a auth.Actor, in Input) (Rule, error) {
	var d rules.Def
	if err := in.apply(&d); err != nil {
		return Rule{}, err
	}
	mer, err := a.ActingMerchant(d.MerchantID)
	if err != nil {
		return Rule{}, err
	}
	d.MerchantID = mer
	return b.create(ctx, tx, a.ProgramID, d, b.clock.Now())
}

// Checked is the answer to Check: the rule would save.
type Checked struct {
	OK bool `json:"ok"`
}

// Check runs a new rule through every check Create makes — its fields, its
// CEL condition and reward compiled and probed on a sample, the actor's
// merchant — and saves nothing: an editor checks as the operator types.
func (b *Book) Check(a auth.Actor, in Input) (Checked, error) {
	var d rules.Def
	if err := in.apply(&d); err != nil {
		return Checked{}, err
	}
	if _, err := a.ActingMerchant(d.MerchantID); err != nil {
		return Checked{}, err
	}
	if d.Status == "" {
		d.Status = rules.Active
	}
	if _, err := rules.Compile("rule_check", 1, d); err != nil {
		return Checked{}, err
	}
	return Checked{OK: true}, nil
}

// Update changes a rule the actor may edit, as a new version.
func (b *Book) Update(ctx context.Context, tx *store.Tx, a auth.Actor, ruleID string, in Input) (Rule, error) {
	r, _, err := b.lock(ctx, tx, a, ruleID)
	if err != nil {
		return Rule{}, err
	}
	if err := in.apply(&r.Def); err != nil {
		return Rule{}, err
	}
	if a.IsMerchant() && r.MerchantID != a.MerchantID {
		return Rule{}, failure.New(failure.Forbidden, "a merchant key's rules stay its merchant's")
	}
	return b.update(ctx, tx, a.ProgramID, r, b.clock.Now())
}

// Delete marks a rule the actor may edit deleted.
func (b *Book) Delete(ctx context.Context, tx *store.Tx, a auth.Actor, ruleID string) error {
	_, cur, err := b.lock(ctx, tx, a, ruleID)
	if err != nil {
		return err
	}
	return b.remove(ctx, tx, a.ProgramID, cur, b.clock.Now())
}

// lock reads a rule that is not deleted, under its row lock, and checks
// the actor may edit it.
func (b *Book) lock(ctx context.Context, tx *store.Tx, a auth.Actor, ruleID string) (Rule, store.Rule, error) {
	cur, err := tx.LockRule(ctx, a.ProgramID, ruleID)
	if err != nil {
		return Rule{}, cur, err
	}
	if cur.Status == rules.Deleted {
		return Rule{}, cur, failure.New(failure.NotFound, "rule %s not found", ruleID)
	}
	if err := a.MayEdit(string(cur.MerchantID)); err != nil {
		return Rule{}, cur, err
	}
	r, err := ruleOf(cur)
	return r, cur, err
}

// Get reads a rule.
func (b *Book) Get(ctx context.Context, a auth.Actor, ruleID string) (Rule, error) {
	return b.get(ctx, b.db.Read(), a.ProgramID, ruleID)
}

// Statuses are the statuses a rule list filters on.
var Statuses = []string{rules.Draft, rules.Active, rules.Paused}

// List returns the programme's rules, newest first.
func (b *Book) List(ctx context.Context, a auth.Actor, status, eventType string, pg store.Page) ([]Rule, string, error) {
	var fs failure.Fields
	input.OneOf(&fs, "status", status, Statuses...)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	return b.list(ctx, a.ProgramID, status, eventType, pg)
}

// Versions lists a rule's versions, newest first.
func (b *Book) Versions(ctx context.Context, a auth.Actor, ruleID string) ([]Version, error) {
	return b.versions(ctx, a.ProgramID, ruleID)
}
