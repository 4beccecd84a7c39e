// Package checkin is the daily check-in (签到): one a day per member in
// the programme's time zone, with streaks, bonuses on given days of a
// streak and cycles. A check-in earns its points and posts a
// member.checked_in event, so rules and tasks on check-ins apply, all in
// one transaction. Its configuration is a programme setting.
package checkin

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jifen/jifen/internal/outbox"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Service runs check-ins.
type Service struct {
	db       *store.DB
	programs *program.Service
	events   *events.Service
	clock    clock.Clock
}

// NewService returns the check-in service.
func NewService(db *store.DB, programs *program.Service, evs *events.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, events: evs, clock: clk}
}

// Checkin is one day's check-in of a member.
type Checkin struct {
	MemberID      string      `json:"member_id"`
	Date          string      `json:"date"` // programme-local
	Streak        int64       `json:"streak"`
	Points        int64       `json:"points"`
	TransactionID null.String `json:"transaction_id"`
	CreatedAt     time.Time   `json:"created_at"`
}

func checkinOf(r store.Checkin) Checkin {
	return Checkin{MemberID: r.MemberID, Date: r.Date, Streak: r.Streak, Points: r.Points, TransactionID: r.TransactionID,
		CreatedAt: r.CreatedAt}
}

// CheckedIn is a check-in and what the member.checked_in event it posted
// earned through the rules and tasks.
type CheckedIn struct {
	Checkin
	Event json.RawMessage `json:"event"`
}

// CheckIn records the member's check-in for today (programme-local). A
// streak continues when the member checked in the day before, else it
// starts again at 1; with a cycle of N days, day N+1 starts a new cycle.
// The day's points are the base points plus the bonus for that day of the
// streak. A second check-in the same day is conflict.
func (s *Service) CheckIn(ctx context.Context, tx *store.Tx, a auth.Actor, ref string) (CheckedIn, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return CheckedIn{}, err
	}
	cfg := p.Checkin
	if cfg == nil {
		return CheckedIn{}, failure.New(failure.Conflict, "check-in is not configured: PUT /v1/checkin first")
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, ref)
	if err != nil {
		return CheckedIn{}, err
	}
	now := s.clock.Now()
	m, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now)
	if err != nil {
		return CheckedIn{}, err
	}
	if err := ledger.Active(m); err != nil {
		return CheckedIn{}, err
	}
	local := now.In(p.Location)
	today := local.Format(time.DateOnly)
	if _, done, err := tx.CheckinOn(ctx, p.ID, m.ID, today); err != nil {
		return CheckedIn{}, err
	} else if done {
		return CheckedIn{}, failure.New(failure.Conflict, "member %s has already checked in on %s", m.ID, today)
	}
	yesterday := time.Date(local.Year(), local.Month(), local.Day()-1, 12, 0, 0, 0, p.Location).Format(time.DateOnly)
	prev, ok, err := tx.CheckinOn(ctx, p.ID, m.ID, yesterday)
	if err != nil {
		return CheckedIn{}, err
	}
	streak := int64(1)
	if ok {
		streak = prev.Streak + 1
		if cfg.CycleDays > 0 && streak > cfg.CycleDays {
			streak = 1
		}
	}
	points := cfg.Points
	for _, b := range cfg.StreakBonuses {
		if b.Day == streak {
			points += b.Points
		}
	}
	ch := store.Checkin{MemberID: m.ID, Date: today, Streak: streak, Points: points, CreatedAt: now}
	if points > 0 {
		t, err := ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{
			MemberID: m.ID, Points: points, Reason: "check-in", Reference: "checkin:" + today, Now: now,
		})
		if err != nil {
			return CheckedIn{}, err
		}
		ch.TransactionID = null.String(t.ID)
	}
	if inserted, err := tx.InsertCheckin(ctx, p.ID, ch); err != nil {
		return CheckedIn{}, err
	} else if !inserted {
		return CheckedIn{}, failure.New(failure.Conflict, "member %s has already checked in on %s", m.ID, today)
	}
	ev, err := s.events.Post(ctx, tx, a, events.Input{
		ID: fmt.Sprintf("checkin:%s:%s", m.ID, today), Type: events.MemberCheckedIn, Member: m.ID,
	})
	if err != nil {
		return CheckedIn{}, err
	}
	hook := Created{MemberID: m.ID, Date: today, Streak: streak, Points: points}
	if err := outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.CheckinCreated, m.ID, hook, now); err != nil {
		return CheckedIn{}, err
	}
	return CheckedIn{Checkin: checkinOf(ch), Event: ev.Body}, nil
}

// Created is the data of a checkin.created webhook event.
type Created struct {
	MemberID string `json:"member_id"`
	Date     string `json:"date"`
	Streak   int64  `json:"streak"`
	Points   int64  `json:"points"`
}

// List lists a member's recent check-ins, newest first.
func (s *Service) List(ctx context.Context, a auth.Actor, ref string, limit int) ([]Checkin, error) {
	c := s.db.Replica()
	m, err := identity.Resolve(ctx, c, a, ref)
	if err != nil {
		return nil, err
	}
	rows, err := c.Checkins(ctx, a.ProgramID, m.ID, limit)
	out := make([]Checkin, len(rows))
	for i, r := range rows {
		out[i] = checkinOf(r)
	}
	return out, err
}
