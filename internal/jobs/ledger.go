// Package jobs runs the scheduled work: expiry, pending activation, hold
// expiry and idempotency-key cleanup, each on a schedule and each run on
// one node only (a lease row in the database decides). The same runs are
// exposed to operators and tests through the API with an as_of instant.
package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// batch is how many members one read of due work lists; each member's
// change is its own write operation (group-committed with the others).
const batch = 500

// ExpireResult is what an expiry run did.
type ExpireResult struct {
	LotsExpired   int64 `json:"lots_expired"`
	PointsExpired int64 `json:"points_expired"`
}

// Expire expires every lot of the program whose expires_at is at or before
// asOf, one member and currency per write, each expire transaction dated
// asOf.
func Expire(ctx context.Context, db *store.DB, p program.Program, asOf time.Time) (ExpireResult, error) {
	var res ExpireResult
	lp := p.Ledger()
	for {
		due, err := db.Read().LotsDue(ctx, p.ID, asOf, batch)
		if err != nil {
			return res, fmt.Errorf("expire: %w", err)
		}
		for _, mc := range due {
			var lots, points int64 // set by the operation's last run (it may be retried)
			err := db.Write(ctx, mc.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
				lots, points, err = ledger.ExpireDue(ctx, tx, lp, mc.MemberID, mc.Currency, asOf)
				return err
			})
			res.LotsExpired += lots
			res.PointsExpired += points
			if err != nil {
				return res, fmt.Errorf("expire %s: %w", mc.MemberID, err)
			}
		}
		if len(due) < batch {
			return res, nil
		}
	}
}

// ActivateResult is what a pending-activation run did.
type ActivateResult struct {
	LotsActivated   int64 `json:"lots_activated"`
	PointsActivated int64 `json:"points_activated"`
}

// ActivatePending makes pending points whose available_at is at or before
// asOf available.
func ActivatePending(ctx context.Context, db *store.DB, p program.Program, asOf time.Time) (ActivateResult, error) {
	var res ActivateResult
	lp := p.Ledger()
	for {
		due, err := db.Read().PendingDue(ctx, p.ID, asOf, batch)
		if err != nil {
			return res, fmt.Errorf("activate pending: %w", err)
		}
		for _, mc := range due {
			var lots, points int64
			err := db.Write(ctx, mc.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
				lots, points, err = ledger.ActivateDue(ctx, tx, lp, mc.MemberID, mc.Currency, asOf)
				return err
			})
			res.LotsActivated += lots
			res.PointsActivated += points
			if err != nil {
				return res, fmt.Errorf("activate pending %s: %w", mc.MemberID, err)
			}
		}
		if len(due) < batch {
			return res, nil
		}
	}
}

// HoldsResult is what a hold-expiry run did.
type HoldsResult struct {
	HoldsReleased  int64 `json:"holds_released"`
	PointsReleased int64 `json:"points_released"`
}

// ExpireHolds releases every hold still held at its expires_at ≤ asOf.
func ExpireHolds(ctx context.Context, db *store.DB, p program.Program, asOf time.Time) (HoldsResult, error) {
	var res HoldsResult
	lp := p.Ledger()
	for {
		due, err := db.Read().HoldsDue(ctx, p.ID, asOf, batch)
		if err != nil {
			return res, fmt.Errorf("expire holds: %w", err)
		}
		for _, h := range due {
			var ok bool
			err := db.Write(ctx, h.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
				ok, err = ledger.ExpireHold(ctx, tx, lp, h.ID, asOf)
				return err
			})
			if ok && err == nil {
				res.HoldsReleased++
				res.PointsReleased += h.Points
			}
			if err != nil {
				return res, fmt.Errorf("expire hold %s: %w", h.ID, err)
			}
		}
		if len(due) < batch {
			return res, nil
		}
	}
}
