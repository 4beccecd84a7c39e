package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Schedule kinds and triggers.
const (
	Once    = "once"
	Trigger = "trigger"

	OnJoined         = "joined"
	OnBirthday       = "birthday"
	OnTierChanged    = "tier_changed"
	OnInactive       = "inactive"
	OnPointsExpiring = "points_expiring"
)

// Schedule is when a campaign acts: once (at at, or at its first run
// after activation) or on a trigger.
type Schedule struct {
	Kind string     `json:"kind" api:"enum=once|trigger"`
	At   *time.Time `json:"at,omitempty" doc:"once: when; none: on activation"`
	On   string     `json:"on,omitempty" api:"enum=joined|birthday|tier_changed|inactive|points_expiring" doc:"trigger: what fires it"`
	To   string     `json:"to,omitempty" doc:"tier_changed: only changes to this tier code"`
	Days int64      `json:"days,omitempty" api:"min=0,max=3650" doc:"inactive: days without activity; points_expiring: days before the expiry date"`
}

func (s Schedule) validate(fs *failure.Fields) {
	switch s.Kind {
	case Once:
		if s.On != "" {
			fs.Add("schedule.on", "only a trigger takes on")
		}
	case Trigger:
		switch s.On {
		case OnJoined, OnBirthday, OnTierChanged:
			if s.Days != 0 {
				fs.Add("schedule.days", "only inactive and points_expiring take days")
			}
		case OnInactive, OnPointsExpiring:
			if s.Days < 1 || s.Days > 3650 {
				fs.Add("schedule.days", "must be between 1 and 3650")
			}
		case "":
			fs.Add("schedule.on", "is required for a trigger")
		default:
			fs.Add("schedule.on", "must be one of joined, birthday, tier_changed, inactive, points_expiring")
		}
		if s.At != nil {
			fs.Add("schedule.at", "only a once schedule takes at")
		}
		if s.To != "" && s.On != OnTierChanged {
			fs.Add("schedule.to", "only tier_changed takes to")
		}
	case "":
		fs.Add("schedule.kind", "is required")
	default:
		fs.Add("schedule.kind", "must be once or trigger")
	}
}

// check checks what needs the programme: the tier.
func (s Schedule) check(p program.Program) error {
	if s.To == "" {
		return nil
	}
	for _, t := range p.Tiers {
		if t.Code == s.To {
			return nil
		}
	}
	return failure.Field("schedule.to", "no such tier")
}

// Action kinds.
const (
	GrantPoints = "grant_points"
	IssueCoupon = "issue_coupon"
	SendMessage = "send_message"
)

// Action is one thing a campaign does for a treated member.
type Action struct {
	Kind             string         `json:"kind" api:"enum=grant_points|issue_coupon|send_message"`
	Points           int64          `json:"points,omitempty" api:"min=0,max=MaxPoints" doc:"grant_points: paid from the budget"`
	Currency         string         `json:"currency,omitempty" doc:"grant_points: a point currency (default points)"`
	Expires          *ledger.Policy `json:"expires,omitempty" doc:"grant_points: an expiry policy of its own"`
	CouponTemplateID string         `json:"coupon_template_id,omitempty" doc:"issue_coupon"`
	ChannelID        string         `json:"channel_id,omitempty" doc:"send_message"`
	TemplateID       string         `json:"template_id,omitempty" doc:"send_message: a message template"`
}

func validateActions(fs *failure.Fields, as []Action) {
	if len(as) < 1 || len(as) > 10 {
		fs.Add("actions", "must hold 1 to 10 actions")
		return
	}
	for i, a := range as {
		f := fmt.Sprintf("actions[%d]", i)
		switch a.Kind {
		case GrantPoints:
			input.Points(fs, f+".points", a.Points)
			if a.Expires != nil {
				fs.Merge(a.Expires.Validate(f + ".expires"))
			}
		case IssueCoupon:
			input.Required(fs, f+".coupon_template_id", a.CouponTemplateID != "", "a coupon template ID")
		case SendMessage:
			input.Required(fs, f+".channel_id", a.ChannelID != "", "a channel ID")
			input.Required(fs, f+".template_id", a.TemplateID != "", "a message template ID")
		case "":
			fs.Add(f+".kind", "is required")
		default:
			fs.Add(f+".kind", "must be grant_points, issue_coupon or send_message")
		}
		if a.Kind != GrantPoints && (a.Points != 0 || a.Currency != "" || a.Expires != nil) {
			fs.Add(f+".points", "only grant_points takes points, currency and expires")
		}
	}
}

// checkActions checks that what the actions name exists.
func checkActions(ctx context.Context, tx *store.Tx, programID string, as []Action) error {
	for i, a := range as {
		f := fmt.Sprintf("actions[%d]", i)
		var err error
		var field string
		switch a.Kind {
		case IssueCoupon:
			field = f + ".coupon_template_id"
			_, err = tx.CouponTemplate(ctx, programID, a.CouponTemplateID)
		case SendMessage:
			field = f + ".channel_id"
			if _, err = tx.Channel(ctx, programID, a.ChannelID); err == nil {
				field = f + ".template_id"
				_, err = tx.MessageTemplate(ctx, programID, a.TemplateID)
			}
		}
		if failure.KindOf(err) == failure.NotFound {
			return failure.Field(field, "no such %s", field[len(f)+1:])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Conversion is what counts as a member converting: an event of
// event_type within days of an occurrence.
type Conversion struct {
	EventType string `json:"event_type,omitempty" api:"maxlen=64" doc:"default order.paid"`
	Days      int64  `json:"days,omitempty" api:"min=0,max=365" doc:"default 14"`
}

func (c Conversion) validate(fs *failure.Fields) {
	if c.Days < 0 || c.Days > 365 {
		fs.Add("conversion.days", "must be between 1 and 365")
	}
	if len(c.EventType) > 64 {
		fs.Add("conversion.event_type", "must be at most 64 characters")
	}
}

func (c Conversion) withDefaults() Conversion {
	if c.EventType == "" {
		c.EventType = "order.paid"
	}
	if c.Days == 0 {
		c.Days = 14
	}
	return c
}
