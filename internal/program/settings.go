package program

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/rules"
)

// settings is the JSON document in programs.settings: the configuration
// that has endpoints of its own rather than fields of the program.
type settings struct {
	Tiers    []Tier          `json:"tiers,omitempty"`
	Checkin  *CheckinConfig  `json:"checkin,omitempty"`
	Referral *ReferralConfig `json:"referral,omitempty"`
	// ExpiringNoticeDays: nil (programmes saved before it) is the default.
	ExpiringNoticeDays *int64      `json:"expiring_notice_days,omitempty"`
	Join               *JoinConfig `json:"join,omitempty"`
}

// JoinConfig is one-step join (一键扫码入会): whether join links work, the
// SMS channel and template that carry the one-time code, and the gift a
// new member gets.
type JoinConfig struct {
	Enabled              bool   `json:"enabled"`
	SMSChannelID         string `json:"sms_channel_id" doc:"an sms_http or sms_aliyun channel; required when enabled"`
	SMSTemplateID        string `json:"sms_template_id" doc:"a message template with {{join.code}} (and {{join.minutes}}); required when enabled"`
	GiftPoints           int64  `json:"gift_points" api:"min=0,max=MaxPoints" doc:"points a new member earns, issued by the link's merchant; 0: none"`
	GiftCouponTemplateID string `json:"gift_coupon_template_id" doc:"a coupon template a new member gets one of; \"\": none"`
}

// JoinPatch changes the join setting: the fields given, the others stay
// ("" clears an ID).
type JoinPatch struct {
	Enabled              *bool   `json:"enabled,omitempty"`
	SMSChannelID         *string `json:"sms_channel_id,omitempty" doc:"an sms_http or sms_aliyun channel; required when enabled"`
	SMSTemplateID        *string `json:"sms_template_id,omitempty" doc:"a message template with {{join.code}} (and {{join.minutes}}); required when enabled"`
	GiftPoints           *int64  `json:"gift_points,omitempty" api:"min=0,max=MaxPoints" doc:"points a new member earns, issued by the link's merchant; 0: none"`
	GiftCouponTemplateID *string `json:"gift_coupon_template_id,omitempty" doc:"a coupon template a new member gets one of; \"\": none"`
}

func (pt JoinPatch) apply(c JoinConfig) JoinConfig {
	if pt.Enabled != nil {
		c.Enabled = *pt.Enabled
	}
	if pt.SMSChannelID != nil {
		c.SMSChannelID = *pt.SMSChannelID
	}
	if pt.SMSTemplateID != nil {
		c.SMSTemplateID = *pt.SMSTemplateID
	}
	if pt.GiftPoints != nil {
		c.GiftPoints = *pt.GiftPoints
	}
	if pt.GiftCouponTemplateID != nil {
		c.GiftCouponTemplateID = *pt.GiftCouponTemplateID
	}
	return c
}

// Validate checks a join configuration on its own (that its channel and
// templates exist is checked against the database by the operation).
func (c JoinConfig) Validate() error {
	var fs failure.Fields
	if c.Enabled {
		input.Required(&fs, "join.sms_channel_id", c.SMSChannelID != "", "an SMS channel ID")
		input.Required(&fs, "join.sms_template_id", c.SMSTemplateID != "", "a message template ID")
	}
	if c.GiftPoints < 0 || c.GiftPoints > input.MaxPoints {
		fs.Add("join.gift_points", "must be 0 to %d", int64(input.MaxPoints))
	}
	return fs.Err()
}

// Tier is a membership level reached by growth value.
type Tier struct {
	Code              string          `json:"code" api:"pattern=^[a-z0-9][a-z0-9_-]{0,31}$"`
	Name              string          `json:"name" api:"minlen=1,maxlen=64"`
	Threshold         int64           `json:"threshold" api:"min=0" doc:"growth value that reaches the tier; above the previous tier's"`
	Multiplier        rules.Rate      `json:"multiplier" api:"optional,default=\"1\"" doc:"multiplies every rule's points for members of the tier"`
	Benefits          json.RawMessage `json:"benefits,omitempty" doc:"a JSON object, kept as given"`
	UpgradeCostPoints *int64          `json:"upgrade_cost_points,omitempty" api:"min=1" doc:"points that buy the tier (POST /v1/members/{member}/tier/upgrade); absent: not for sale"`
}

// CheckinConfig is the daily check-in: base points, bonuses on given days
// of a streak, and an optional cycle after which the streak starts again.
type CheckinConfig struct {
	Points        int64         `json:"points" api:"min=0" doc:"points for every check-in"`
	StreakBonuses []StreakBonus `json:"streak_bonuses" api:"optional"`
	CycleDays     int64         `json:"cycle_days,omitempty" api:"min=1,max=366" doc:"day N+1 of a streak starts a new cycle at 1; absent: no cycle"`
}

// StreakBonus adds points on the day-th day of a streak.
type StreakBonus struct {
	Day    int64 `json:"day" api:"min=1" doc:"day of the streak (within the cycle)"`
	Points int64 `json:"points" api:"min=1"`
}

// ReferralConfig rewards inviter and invitee when the invitee joins or
// places a first order.
type ReferralConfig struct {
	InviterPoints int64  `json:"inviter_points" api:"min=0"`
	InviteePoints int64  `json:"invitee_points" api:"min=0"`
	On            string `json:"on" api:"enum=join|first_order"`
	MaxPerInviter *int64 `json:"max_per_inviter,omitempty" api:"min=0" doc:"rewarded referrals per inviter; later ones are recorded as capped"`
	// MinOrderAmount is the smallest order (fen) that qualifies a
	// first_order referral; smaller orders pay no referral reward.
	MinOrderAmount int64 `json:"min_order_amount,omitempty" api:"min=0,max=MaxAmount" doc:"fen; the smallest invitee order that pays a first_order referral"`
	// PendingDays keeps both first_order rewards pending that many days
	// after the qualifying order (the return window, 冻结期).
	PendingDays int64 `json:"pending_days,omitempty" api:"min=0,max=365" doc:"days both first_order rewards stay pending after the qualifying order"`
}

// Referral triggers.
const (
	OnJoin       = "join"
	OnFirstOrder = "first_order"
)

var tierCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidateTiers checks a tier list ordered low to high.
func ValidateTiers(ts []Tier) error {
	var fs failure.Fields
	if len(ts) > 20 {
		fs.Add("tiers", "at most 20 tiers")
	}
	seen := map[string]bool{}
	for i, t := range ts {
		f := fmt.Sprintf("[%d]", i)
		if !tierCode.MatchString(t.Code) {
			fs.Add(f+".code", "must be 1 to 32 of a-z, 0-9, _ and -")
		} else if seen[t.Code] {
			fs.Add(f+".code", "%q appears twice", t.Code)
		}
		seen[t.Code] = true
		if n := len([]rune(t.Name)); n < 1 || n > 64 {
			fs.Add(f+".name", "must be 1 to 64 characters")
		}
		if err := t.Multiplier.Check(f + ".multiplier"); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
		if t.Threshold < 0 {
			fs.Add(f+".threshold", "must not be negative")
		}
		if i > 0 && t.Threshold <= ts[i-1].Threshold {
			fs.Add(f+".threshold", "must be above the previous tier's (tiers go low to high)")
		}
		if t.UpgradeCostPoints != nil && *t.UpgradeCostPoints < 1 {
			fs.Add(f+".upgrade_cost_points", "must be at least 1")
		}
		if len(t.Benefits) > 0 && string(t.Benefits) != "null" {
			var obj map[string]any
			if json.Unmarshal(t.Benefits, &obj) != nil || obj == nil {
				fs.Add(f+".benefits", "must be a JSON object")
			}
		}
	}
	return fs.Err()
}

// Validate checks a check-in configuration.
func (c CheckinConfig) Validate() error {
	var fs failure.Fields
	if c.Points < 0 {
		fs.Add("points", "must not be negative")
	}
	if c.CycleDays < 0 || c.CycleDays > 366 {
		fs.Add("cycle_days", "must be between 1 and 366")
	}
	seen := map[int64]bool{}
	for i, b := range c.StreakBonuses {
		if b.Day < 1 || (c.CycleDays > 0 && b.Day > c.CycleDays) {
			fs.Add(fmt.Sprintf("streak_bonuses[%d].day", i), "must be at least 1 and within the cycle")
		}
		if seen[b.Day] {
			fs.Add(fmt.Sprintf("streak_bonuses[%d].day", i), "day %d appears twice", b.Day)
		}
		seen[b.Day] = true
		if b.Points < 1 {
			fs.Add(fmt.Sprintf("streak_bonuses[%d].points", i), "must be at least 1")
		}
	}
	return fs.Err()
}

// Validate checks a referral configuration.
func (c ReferralConfig) Validate() error {
	var fs failure.Fields
	if c.InviterPoints < 0 {
		fs.Add("inviter_points", "must not be negative")
	}
	if c.InviteePoints < 0 {
		fs.Add("invitee_points", "must not be negative")
	}
	if c.On != OnJoin && c.On != OnFirstOrder {
		fs.Add("on", "must be join or first_order")
	}
	if c.MaxPerInviter != nil && *c.MaxPerInviter < 0 {
		fs.Add("max_per_inviter", "must not be negative")
	}
	input.Amount(&fs, "min_order_amount", c.MinOrderAmount)
	if c.PendingDays < 0 || c.PendingDays > 365 {
		fs.Add("pending_days", "must be 0 to 365")
	}
	return fs.Err()
}

// TierByCode finds a tier.
func (p Program) TierByCode(code string) (Tier, int, bool) {
	for i, t := range p.Tiers {
		if t.Code == code {
			return t, i, true
		}
	}
	return Tier{}, -1, false
}

// TierFor is the highest tier whose threshold growth reaches ("" when
// there are no tiers or none is reached).
func (p Program) TierFor(growth int64) string {
	code := ""
	for _, t := range p.Tiers {
		if growth >= t.Threshold {
			code = t.Code
		}
	}
	return code
}

// Multiplier is a tier's points multiplier (1 for no tier).
func (p Program) Multiplier(code string) rules.Rate {
	if t, _, ok := p.TierByCode(code); ok {
		return t.Multiplier
	}
	return rules.One
}
