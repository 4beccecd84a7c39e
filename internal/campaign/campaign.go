// Package campaign runs campaigns: actions (points from a budget, a
// coupon, a message) for the members of a segment, once or on a trigger
// (joined, birthday, tier changed, inactive, points expiring), with a
// sticky control group held back to measure the uplift. Each (campaign,
// member, occurrence) is claimed by a row that is unique in the database
// and written in the transaction of its actions, so it acts at most once
// whatever the nodes and restarts (run.go); report.go measures it.
package campaign

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jifen/jifen/internal/audience"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Statuses of a campaign.
const (
	Draft  = "draft"
	Active = "active"
	Paused = "paused"
	Ended  = "ended"
)

// Service runs the campaign operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	audience *audience.Service
	messages *message.Service
	clock    clock.Clock
	random   io.Reader  // the control draws' source: crypto/rand unless a demo seeds one
	randMu   sync.Mutex // random is read by one draw at a time

	mu      sync.Mutex
	queue   []signal // members that joined or changed tier, to fire for
	running bool
	idle    sync.WaitGroup
}

// NewService returns the campaign service; random is the source of the
// control draws (crypto/rand when nil).
func NewService(db *store.DB, programs *program.Service, aud *audience.Service, msgs *message.Service, clk clock.Clock, random io.Reader) *Service {
	if random == nil {
		random = rand.Reader
	}
	return &Service{db: db, programs: programs, audience: aud, messages: msgs, clock: clk, random: random}
}

// Campaign is what the API shows of a campaign.
type Campaign struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Status         string      `json:"status" api:"enum=draft|active|paused|ended"`
	Schedule       Schedule    `json:"schedule"`
	Actions        []Action    `json:"actions"`
	SegmentID      null.String `json:"segment_id"`
	ControlPercent int64       `json:"control_percent"`
	Budget         *int64      `json:"budget" doc:"points grant_points may pay in all; null: no limit"`
	BudgetUsed     int64       `json:"budget_used"`
	MerchantID     null.String `json:"merchant_id" doc:"the issuer of the points it grants"`
	Conversion     Conversion  `json:"conversion"`
	StartsAt       *time.Time  `json:"starts_at"`
	EndsAt         *time.Time  `json:"ends_at"`
	ActivatedAt    *time.Time  `json:"activated_at"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

func campaignOf(r store.Campaign) Campaign {
	c := Campaign{ID: r.ID, Name: r.Name, Status: r.Status, SegmentID: r.SegmentID, ControlPercent: r.ControlPercent,
		Budget: r.Budget, BudgetUsed: r.BudgetUsed, MerchantID: r.MerchantID, StartsAt: r.StartsAt, EndsAt: r.EndsAt,
		ActivatedAt: r.ActivatedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	_ = json.Unmarshal(r.Schedule, &c.Schedule)
	_ = json.Unmarshal(r.Actions, &c.Actions)
	_ = json.Unmarshal(r.Conversion, &c.Conversion)
	c.Conversion = c.Conversion.withDefaults()
	if c.Actions == nil {
		c.Actions = []Action{}
	}
	return c
}

func (c Campaign) record(programID string) store.Campaign {
	sched, _ := json.Marshal(c.Schedule)
	acts, _ := json.Marshal(c.Actions)
	conv, _ := json.Marshal(c.Conversion)
	return store.Campaign{ID: c.ID, ProgramID: programID, Name: c.Name, Status: c.Status, Schedule: sched, Actions: acts,
		SegmentID: c.SegmentID, ControlPercent: c.ControlPercent, Budget: c.Budget, BudgetUsed: c.BudgetUsed,
		MerchantID: c.MerchantID, Conversion: conv, StartsAt: c.StartsAt, EndsAt: c.EndsAt, ActivatedAt: c.ActivatedAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Input creates a campaign or (nil fields unchanged) changes one.
type Input struct {
	Name           *string     `json:"name,omitempty" api:"minlen=1,maxlen=100"`
	Schedule       *Schedule   `json:"schedule,omitempty"`
	Actions        *[]Action   `json:"actions,omitempty" doc:"1 to 10 actions, done in order in one transaction per member"`
	SegmentID      *string     `json:"segment_id,omitempty" doc:"only the segment's members at the occurrence; none: every active member"`
	ControlPercent *int64      `json:"control_percent,omitempty" api:"min=0,max=50" doc:"the share of members held back, drawn once per member"`
	Budget         *int64      `json:"budget,omitempty" api:"min=0,max=MaxPoints" doc:"points grant_points may pay in all"`
	MerchantID     *string     `json:"merchant_id,omitempty" doc:"the issuer of the points it grants; a merchant key's is its own"`
	Conversion     *Conversion `json:"conversion,omitempty"`
	StartsAt       *string     `json:"starts_at,omitempty" api:"format=date-time"`
	EndsAt         *string     `json:"ends_at,omitempty" api:"format=date-time"`
}

// Validate checks the input on its own (create: name, schedule and
// actions are required).
func (in Input) validate(create bool) error {
	var fs failure.Fields
	if in.Name != nil {
		if n := utf8.RuneCountInString(strings.TrimSpace(*in.Name)); n < 1 || n > 100 {
			fs.Add("name", "must be 1 to 100 characters")
		}
	} else if create {
		fs.Add("name", "is required")
	}
	if in.Schedule != nil {
		in.Schedule.validate(&fs)
	} else if create {
		fs.Add("schedule", "is required")
	}
	if in.Actions != nil {
		validateActions(&fs, *in.Actions)
	} else if create {
		fs.Add("actions", "is required")
	}
	if in.ControlPercent != nil && (*in.ControlPercent < 0 || *in.ControlPercent > 50) {
		fs.Add("control_percent", "must be between 0 and 50")
	}
	if in.Budget != nil && *in.Budget < 0 {
		fs.Add("budget", "must not be negative")
	}
	if in.Conversion != nil {
		in.Conversion.validate(&fs)
	}
	starts, err := timeField("starts_at", in.StartsAt)
	fs.Merge(err)
	ends, err := timeField("ends_at", in.EndsAt)
	fs.Merge(err)
	if starts != nil && ends != nil && !ends.After(*starts) {
		fs.Add("ends_at", "must be after starts_at")
	}
	return fs.Err()
}

// Validate checks a new campaign.
func (in Input) Validate() error { return in.validate(true) }

// apply copies the given fields onto c, checking what needs the database:
// the segment, the coupon templates, channels and message templates, the
// merchant and the tier.
func (in Input) apply(ctx context.Context, tx *store.Tx, a auth.Actor, p program.Program, c *Campaign, create bool) error {
	if err := in.validate(create); err != nil {
		return err
	}
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Schedule != nil {
		if err := in.Schedule.check(p); err != nil {
			return err
		}
		c.Schedule = *in.Schedule
	}
	if in.Actions != nil {
		if err := checkActions(ctx, tx, p.ID, *in.Actions); err != nil {
			return err
		}
		c.Actions = *in.Actions
	}
	if in.SegmentID != nil {
		if *in.SegmentID == "" {
			c.SegmentID = ""
		} else if _, err := tx.SegmentByID(ctx, p.ID, *in.SegmentID); err != nil {
			if failure.KindOf(err) == failure.NotFound {
				return failure.Field("segment_id", "no such segment")
			}
			return err
		} else {
			c.SegmentID = null.String(*in.SegmentID)
		}
	}
	if in.ControlPercent != nil {
		c.ControlPercent = *in.ControlPercent
	}
	if in.Budget != nil {
		b := *in.Budget
		c.Budget = &b
	}
	if in.Conversion != nil {
		c.Conversion = in.Conversion.withDefaults()
	}
	if create || in.MerchantID != nil {
		named := ""
		if in.MerchantID != nil {
			named = *in.MerchantID
		}
		mer, err := program.ActingMerchant(ctx, tx, a, named)
		if err != nil {
			return err
		}
		c.MerchantID = null.String(mer)
	}
	if in.StartsAt != nil {
		c.StartsAt, _ = timeField("starts_at", in.StartsAt)
	}
	if in.EndsAt != nil {
		c.EndsAt, _ = timeField("ends_at", in.EndsAt)
	}
	if c.StartsAt != nil && c.EndsAt != nil && !c.EndsAt.After(*c.StartsAt) {
		return failure.Field("ends_at", "must be after starts_at")
	}
	return nil
}

func timeField(field string, v *string) (*time.Time, error) {
	if v == nil || *v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return nil, failure.Field(field, "must be an RFC 3339 time")
	}
	t = t.UTC()
	return &t, nil
}

// Create saves a draft campaign.
func (s *Service) Create(ctx context.Context, tx *store.Tx, a auth.Actor, in Input) (Campaign, error) {
	if err := in.Validate(); err != nil {
		return Campaign{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Campaign{}, err
	}
	now := s.clock.Now()
	c := Campaign{ID: id.New("cmp"), Status: Draft, Conversion: Conversion{}.withDefaults(), CreatedAt: now, UpdatedAt: now}
	if err := in.apply(ctx, tx, a, p, &c, true); err != nil {
		return Campaign{}, err
	}
	return c, tx.SaveCampaign(ctx, c.record(p.ID))
}

// own reads a campaign the actor may see: a merchant key only its own
// merchant's (another's is not found).
func own(ctx context.Context, c *store.Conn, a auth.Actor, campaignID string) (Campaign, error) {
	r, err := c.Campaign(ctx, a.ProgramID, campaignID)
	if err != nil {
		return Campaign{}, err
	}
	if a.IsMerchant() && string(r.MerchantID) != a.MerchantID {
		return Campaign{}, failure.New(failure.NotFound, "campaign %s not found", campaignID)
	}
	return campaignOf(r), nil
}

// Update changes a campaign that is not active (409 conflict when it is).
func (s *Service) Update(ctx context.Context, tx *store.Tx, a auth.Actor, campaignID string, in Input) (Campaign, error) {
	if err := in.validate(false); err != nil {
		return Campaign{}, err
	}
	c, err := own(ctx, &tx.Conn, a, campaignID)
	if err != nil {
		return Campaign{}, err
	}
	if c.Status == Active {
		return Campaign{}, failure.New(failure.Conflict, "campaign %s is active: pause it to change it", campaignID)
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Campaign{}, err
	}
	if err := in.apply(ctx, tx, a, p, &c, false); err != nil {
		return Campaign{}, err
	}
	c.UpdatedAt = s.clock.Now()
	return c, tx.SaveCampaign(ctx, c.record(p.ID))
}

// Activate starts a draft or paused campaign (an ended one: 409). A
// "once" campaign without at fires at its first run after activation.
func (s *Service) Activate(ctx context.Context, tx *store.Tx, a auth.Actor, campaignID string) (Campaign, error) {
	return s.setStatus(ctx, tx, a, campaignID, Active)
}

// Pause stops a campaign until it is activated again.
func (s *Service) Pause(ctx context.Context, tx *store.Tx, a auth.Actor, campaignID string) (Campaign, error) {
	return s.setStatus(ctx, tx, a, campaignID, Paused)
}

func (s *Service) setStatus(ctx context.Context, tx *store.Tx, a auth.Actor, campaignID, status string) (Campaign, error) {
	c, err := own(ctx, &tx.Conn, a, campaignID)
	if err != nil {
		return Campaign{}, err
	}
	if c.Status == Ended {
		return Campaign{}, failure.New(failure.Conflict, "campaign %s has ended", campaignID)
	}
	if c.Status == status {
		return c, nil
	}
	if status == Paused && c.Status != Active {
		return Campaign{}, failure.New(failure.Conflict, "campaign %s is %s, not active", campaignID, c.Status)
	}
	now := s.clock.Now()
	if status == Active && c.ActivatedAt == nil {
		c.ActivatedAt = &now
	}
	c.Status, c.UpdatedAt = status, now
	return c, tx.SaveCampaign(ctx, c.record(a.ProgramID))
}

// Get reads a campaign.
func (s *Service) Get(ctx context.Context, a auth.Actor, campaignID string) (Campaign, error) {
	return own(ctx, s.db.Read(), a, campaignID)
}

// List lists campaigns, newest first: a merchant key's only its own.
func (s *Service) List(ctx context.Context, a auth.Actor, pg store.Page) ([]Campaign, string, error) {
	mer := ""
	if a.IsMerchant() {
		mer = a.MerchantID
	}
	rows, next, err := s.db.Replica().Campaigns(ctx, a.ProgramID, mer, pg)
	out := make([]Campaign, 0, len(rows))
	for _, r := range rows {
		out = append(out, campaignOf(r))
	}
	return out, next, err
}
