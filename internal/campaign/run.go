package campaign

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Groups of an occurrence.
const (
	Treated = "treated"
	Control = "control"
	Skipped = "skipped"
)

// BudgetExhausted is the reason of a member the budget could not cover.
const BudgetExhausted = "budget_exhausted"

// FromCampaign is the source of a coupon a campaign issued.
const FromCampaign = "campaign"

// RunResult is what a run did: the campaigns it ran and the occurrences
// it recorded in each group.
type RunResult struct {
	Campaigns int64 `json:"campaigns"`
	Treated   int64 `json:"treated"`
	Control   int64 `json:"control"`
	Skipped   int64 `json:"skipped"`
}

func (r *RunResult) add(group string) {
	switch group {
	case Treated:
		r.Treated++
	case Control:
		r.Control++
	case Skipped:
		r.Skipped++
	}
}

// occurrence is one member's occurrence of a campaign's schedule, and
// the member's draw should this be its first.
type occurrence struct {
	memberID string
	key      string
	control  bool
}

// Run runs every active campaign of a programme as of asOf: each
// occurrence due then and not recorded before acts, in a transaction of
// its own. A campaign past its ends_at ends; a once campaign ends after
// its run. It is safe to run again and on several nodes at once.
func (s *Service) Run(ctx context.Context, p program.Program, asOf time.Time) (RunResult, error) {
	return s.run(ctx, p, asOf, "", "")
}

// run runs the active campaigns, those on trigger only when on is set,
// for one member only when memberID is set.
func (s *Service) run(ctx context.Context, p program.Program, asOf time.Time, on, memberID string) (RunResult, error) {
	var res RunResult
	rows, err := s.db.Read().ActiveCampaigns(ctx, p.ID)
	if err != nil {
		return res, err
	}
	for _, r := range rows {
		c := campaignOf(r)
		if on != "" && (c.Schedule.Kind != Trigger || c.Schedule.On != on) {
			continue
		}
		if c.EndsAt != nil && !asOf.Before(*c.EndsAt) {
			if err := s.end(ctx, p, c.ID); err != nil {
				return res, err
			}
			continue
		}
		if c.StartsAt != nil && asOf.Before(*c.StartsAt) {
			continue
		}
		occs, ok, err := s.due(ctx, p, c, asOf)
		if err != nil {
			return res, fmt.Errorf("campaign %s: %w", c.ID, err)
		}
		if !ok {
			continue
		}
		res.Campaigns++
		if err := s.runCampaign(ctx, p, c, occs, memberID, asOf, &res); err != nil {
			return res, fmt.Errorf("campaign %s: %w", c.ID, err)
		}
		if c.Schedule.Kind == Once && memberID == "" {
			if err := s.end(ctx, p, c.ID); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func (s *Service) runCampaign(ctx context.Context, p program.Program, c Campaign, occs []occurrence, memberID string, asOf time.Time, res *RunResult) error {
	var in map[string]bool
	var todo []occurrence
	for _, o := range occs {
		if memberID != "" && o.memberID != memberID {
			continue
		}
		if done, err := s.db.Read().OccurrenceDone(ctx, c.ID, o.memberID, o.key); err != nil {
			return err
		} else if done {
			continue
		}
		if c.SegmentID != "" {
			if in == nil {
				var err error
				if in, err = s.segment(ctx, p, c, memberID); err != nil {
					return err
				}
			}
			if !in[o.memberID] {
				continue
			}
		}
		o.control = c.ControlPercent > 0 && s.draw(c.ControlPercent)
		todo = append(todo, o)
	}
	// Members act in transactions of their own, several at once so that
	// the writer batches them.
	var mu sync.Mutex
	var first error
	work := make(chan occurrence)
	var wg sync.WaitGroup
	for range min(8, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				group, err := s.act(ctx, p, c, o, asOf)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				res.add(group)
				mu.Unlock()
			}
		}()
	}
	for _, o := range todo {
		work <- o
	}
	close(work)
	wg.Wait()
	return first
}

// segment is the members of the campaign's segment now: all of them, or
// whether memberID is one.
func (s *Service) segment(ctx context.Context, p program.Program, c Campaign, memberID string) (map[string]bool, error) {
	a := auth.System(p.ID)
	if memberID != "" {
		ok, err := s.audience.InSegment(ctx, s.db.Read(), a, string(c.SegmentID), memberID)
		return map[string]bool{memberID: ok}, err
	}
	return s.audience.SegmentMemberIDs(ctx, s.db.Read(), a, string(c.SegmentID))
}

func (s *Service) end(ctx context.Context, p program.Program, campaignID string) error {
	return s.db.Write(ctx, campaignID, func(ctx context.Context, tx *store.Tx) error {
		r, err := tx.Campaign(ctx, p.ID, campaignID)
		if err != nil || r.Status != Active {
			return err
		}
		r.Status, r.UpdatedAt = Ended, s.clock.Now()
		return tx.SaveCampaign(ctx, r)
	})
}

// due lists the occurrences of a campaign's schedule as of asOf; ok is
// false when a once campaign is not due yet.
func (s *Service) due(ctx context.Context, p program.Program, c Campaign, asOf time.Time) ([]occurrence, bool, error) {
	conn := s.db.Read()
	since := asOf
	if c.ActivatedAt != nil {
		since = *c.ActivatedAt
	}
	if c.StartsAt != nil && c.StartsAt.After(since) {
		since = *c.StartsAt
	}
	date := func(t time.Time) string { return t.In(p.Location).Format(time.DateOnly) }
	var ds []store.Due
	var key func(store.Due) string
	var err error
	switch c.Schedule.On {
	case "":
		if c.Schedule.At != nil && asOf.Before(*c.Schedule.At) {
			return nil, false, nil
		}
		key = func(store.Due) string { return "once" }
		for after := ""; ; {
			page, err := conn.ActiveMemberIDs(ctx, p.ID, after, 1000)
			if err != nil {
				return nil, false, err
			}
			ds = append(ds, page...)
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1].MemberID
		}
	case OnJoined:
		key = func(store.Due) string { return "joined" }
		ds, err = conn.MembersJoined(ctx, p.ID, since, asOf)
	case OnBirthday:
		local := asOf.In(p.Location)
		year := strconv.Itoa(local.Year())
		key = func(store.Due) string { return year }
		days := []string{local.Format("01-02")}
		if local.Month() == time.February && local.Day() == 28 && !leap(local.Year()) {
			days = append(days, "02-29")
		}
		for after := ""; ; {
			ids, err := conn.MembersBornOn(ctx, p.ID, days, after, 1000)
			if err != nil {
				return nil, false, err
			}
			for _, id := range ids {
				ds = append(ds, store.Due{MemberID: id})
			}
			if len(ids) < 1000 {
				break
			}
			after = ids[len(ids)-1]
		}
	case OnInactive:
		key = func(d store.Due) string { return date(d.At) }
		ds, err = conn.MembersInactiveSince(ctx, p.ID, asOf.AddDate(0, 0, -int(c.Schedule.Days)))
	case OnPointsExpiring:
		key = func(d store.Due) string { return date(d.At) }
		ds, err = conn.PointsExpiring(ctx, p.ID, asOf, asOf.AddDate(0, 0, int(c.Schedule.Days)))
	case OnTierChanged:
		key = func(d store.Due) string { return d.Ref }
		ds, err = conn.TierChanges(ctx, p.ID, c.Schedule.To, since, asOf)
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]occurrence, 0, len(ds))
	for _, d := range ds {
		out = append(out, occurrence{memberID: d.MemberID, key: key(d)})
	}
	return out, true, nil
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// skip rolls back an occurrence's actions: it is recorded as skipped for
// reason instead.
type skip struct{ reason string }

func (e skip) Error() string { return "skipped: " + e.reason }

// act claims one occurrence and, in the same transaction, draws the
// member's group (once per campaign) and acts for a treated member. An
// action the member cannot take (the budget spent, a coupon out of
// stock, a frozen member) rolls it all back and records the occurrence as
// skipped with the reason. Recorded before, by any node: group "".
func (s *Service) act(ctx context.Context, p program.Program, c Campaign, o occurrence, asOf time.Time) (string, error) {
	control := o.control
	row := store.CampaignMember{CampaignID: c.ID, MemberID: o.memberID, Occurrence: o.key, ProgramID: p.ID, Group: Treated, At: asOf}
	var group string
	err := s.db.Write(ctx, o.memberID, func(ctx context.Context, tx *store.Tx) error {
		group, row.Seq = "", id.New("cmm")
		if ok, err := tx.ClaimOccurrence(ctx, row); err != nil || !ok {
			return err
		}
		isControl := false
		if c.ControlPercent > 0 {
			var err error
			if isControl, err = tx.DrawCampaign(ctx, c.ID, o.memberID, control); err != nil {
				return err
			}
		}
		out := row
		if isControl {
			out.Group = Control
		} else if err := s.treat(ctx, tx, p, c, &out, asOf); err != nil {
			return err
		}
		group = out.Group
		return tx.SetOccurrenceOutcome(ctx, out)
	})
	var sk skip
	if !errors.As(err, &sk) {
		return group, err
	}
	err = s.db.Write(ctx, o.memberID, func(ctx context.Context, tx *store.Tx) error {
		group, row.Seq = "", id.New("cmm")
		row.Group, row.Reason = Skipped, null.String(sk.reason)
		if ok, err := tx.ClaimOccurrence(ctx, row); err != nil || !ok {
			return err
		}
		if c.ControlPercent > 0 {
			if _, err := tx.DrawCampaign(ctx, c.ID, o.memberID, control); err != nil {
				return err
			}
		}
		group = Skipped
		return nil
	})
	return group, err
}

// draw is true with percent % chance, from crypto/rand (or the seeded
// source of a demo); the draws are made in order, before the members act
// in parallel, so a seeded source draws the same groups every time.
func (s *Service) draw(percent int64) bool {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	n, err := rand.Int(s.random, big.NewInt(100))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Int64() < percent
}

// treat does a treated member's actions in tx: points paid from the
// budget first (none left: skip), then coupons and messages.
func (s *Service) treat(ctx context.Context, tx *store.Tx, p program.Program, c Campaign, out *store.CampaignMember, now time.Time) error {
	var total int64
	for _, a := range c.Actions {
		if a.Kind == GrantPoints {
			total += a.Points
		}
	}
	if total > 0 && c.Budget != nil {
		if ok, err := tx.ChargeCampaign(ctx, p.ID, c.ID, total); err != nil {
			return err
		} else if !ok {
			return skip{BudgetExhausted}
		}
	} else if total > 0 {
		if _, err := tx.ChargeCampaign(ctx, p.ID, c.ID, total); err != nil {
			return err
		}
	}
	vals := map[string]string{"campaign.name": c.Name}
	for _, a := range c.Actions {
		var err error
		switch a.Kind {
		case GrantPoints:
			if _, err = ledger.LockMember(ctx, tx, p.Ledger(), out.MemberID, now); err == nil {
				_, err = ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{MemberID: out.MemberID, Points: a.Points,
					Currency: a.Currency, Reason: "campaign " + c.Name, Reference: c.ID, MerchantID: string(c.MerchantID),
					Expiry: a.Expires, Now: now})
			}
			out.Points += a.Points
		case IssueCoupon:
			var k coupon.Coupon
			if k, err = coupon.Issue(ctx, tx, p, a.CouponTemplateID, out.MemberID, FromCampaign, now); err == nil {
				out.CouponCode = null.String(k.Code)
				vals["coupon.code"] = k.Code
				if t, err := tx.CouponTemplate(ctx, p.ID, k.TemplateID); err == nil {
					vals["coupon.name"] = t.Name
				}
				vals["coupon.valid_until"] = k.ValidUntil.In(p.Location).Format(time.DateOnly)
			}
		case SendMessage:
			var m message.Message
			if m, err = s.messages.Queue(ctx, tx, p.ID, message.QueueInput{MemberID: out.MemberID, ChannelID: a.ChannelID,
				TemplateID: a.TemplateID, CampaignID: c.ID, Values: vals}); err == nil {
				out.MessageID = null.String(m.ID)
			}
		}
		if k := failure.KindOf(err); err != nil && k != failure.Internal && k != failure.Unavailable {
			return skip{k.Code()}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
