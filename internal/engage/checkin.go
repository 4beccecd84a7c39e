// Package engage owns the engagement mechanics that feed the ledger:
// daily check-in with streaks, tasks that count events toward a target,
// and referral rewards for inviter and invitee. Each runs inside the
// caller's transaction, under the member's lock.
package engage

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// CheckIn records the member's check-in for the program-local day of now.
// A streak continues when the member checked in the day before, else it
// starts again at 1; with a cycle of N days, day N+1 starts a new cycle.
// The day's points are the base points plus the bonus for that day of the
// streak. A second check-in the same day is a Conflict.
func CheckIn(ctx context.Context, tx *store.Tx, p program.Program, memberID string, now time.Time) (store.Checkin, error) {
	cfg := p.Checkin
	if cfg == nil {
		return store.Checkin{}, failure.New(failure.Conflict, "check-in is not configured: PUT /v1/checkin first")
	}
	m, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now)
	if err != nil {
		return store.Checkin{}, err
	}
	if err := ledger.Active(m); err != nil {
		return store.Checkin{}, err
	}
	local := now.In(p.Location)
	today := local.Format(time.DateOnly)
	if _, done, err := tx.CheckinOn(ctx, p.ID, m.ID, today); err != nil {
		return store.Checkin{}, err
	} else if done {
		return store.Checkin{}, failure.New(failure.Conflict, "member %s has already checked in on %s", m.ID, today)
	}
	yesterday := time.Date(local.Year(), local.Month(), local.Day()-1, 12, 0, 0, 0, p.Location).Format(time.DateOnly)
	prev, ok, err := tx.CheckinOn(ctx, p.ID, m.ID, yesterday)
	if err != nil {
		return store.Checkin{}, err
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
			return store.Checkin{}, err
		}
		ch.TransactionID = null.String(t.ID)
	}
	if inserted, err := tx.InsertCheckin(ctx, p.ID, ch); err != nil {
		return store.Checkin{}, err
	} else if !inserted {
		return store.Checkin{}, failure.New(failure.Conflict, "member %s has already checked in on %s", m.ID, today)
	}
	return ch, nil
}
