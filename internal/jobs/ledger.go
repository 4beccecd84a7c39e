// Package jobs runs the scheduled work: expiry, pending activation, hold
// expiry and idempotency-key cleanup, each on a schedule and each run on
// one node only (a lease row in the database decides). The same runs are
// exposed to operators and tests through the API with an as_of instant.
package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// batch is how many members one read of due work lists. Each member's
// change is its own write operation; up to sweepers of them are in flight
// at once, so group commit carries many in one transaction.
const (
	batch    = 500
	sweepers = 64
)

// sweep runs op on every item due lists, a batch at a time, until a batch
// comes back short. The items of a batch are written concurrently; a batch
// is finished before the next is read, so the next read sees its effects.
func sweep[T any](ctx context.Context, due func(ctx context.Context) ([]T, error), op func(ctx context.Context, item T) error) error {
	for {
		items, err := due(ctx)
		if err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(sweepers)
		for _, it := range items {
			g.Go(func() error { return op(gctx, it) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
		if len(items) < batch {
			return nil
		}
	}
}

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
	var mu sync.Mutex
	lp := p.Ledger()
	err := sweep(ctx, func(ctx context.Context) ([]store.MemberCurrency, error) {
		due, err := db.Read().LotsDue(ctx, p.ID, asOf, batch)
		if err != nil {
			return nil, fmt.Errorf("expire: %w", err)
		}
		return due, nil
	}, func(ctx context.Context, mc store.MemberCurrency) error {
		var lots, points int64 // set by the operation's last run (it may be retried)
		err := db.Write(ctx, mc.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
			lots, points, err = ledger.ExpireDue(ctx, tx, lp, mc.MemberID, mc.Currency, asOf)
			return err
		})
		if err != nil {
			return fmt.Errorf("expire %s: %w", mc.MemberID, err)
		}
		mu.Lock()
		res.LotsExpired += lots
		res.PointsExpired += points
		mu.Unlock()
		return nil
	})
	return res, err
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
	var mu sync.Mutex
	lp := p.Ledger()
	err := sweep(ctx, func(ctx context.Context) ([]store.MemberCurrency, error) {
		due, err := db.Read().PendingDue(ctx, p.ID, asOf, batch)
		if err != nil {
			return nil, fmt.Errorf("activate pending: %w", err)
		}
		return due, nil
	}, func(ctx context.Context, mc store.MemberCurrency) error {
		var lots, points int64
		err := db.Write(ctx, mc.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
			lots, points, err = ledger.ActivateDue(ctx, tx, lp, mc.MemberID, mc.Currency, asOf)
			return err
		})
		if err != nil {
			return fmt.Errorf("activate pending %s: %w", mc.MemberID, err)
		}
		mu.Lock()
		res.LotsActivated += lots
		res.PointsActivated += points
		mu.Unlock()
		return nil
	})
	return res, err
}

// HoldsResult is what a hold-expiry run did.
type HoldsResult struct {
	HoldsReleased  int64 `json:"holds_released"`
	PointsReleased int64 `json:"points_released"`
}

// ExpireHolds releases every hold still held at its expires_at ≤ asOf.
func ExpireHolds(ctx context.Context, db *store.DB, p program.Program, asOf time.Time) (HoldsResult, error) {
	var res HoldsResult
	var mu sync.Mutex
	lp := p.Ledger()
	err := sweep(ctx, func(ctx context.Context) ([]store.Hold, error) {
		due, err := db.Read().HoldsDue(ctx, p.ID, asOf, batch)
		if err != nil {
			return nil, fmt.Errorf("expire holds: %w", err)
		}
		return due, nil
	}, func(ctx context.Context, h store.Hold) error {
		var ok bool
		err := db.Write(ctx, h.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
			ok, err = ledger.ExpireHold(ctx, tx, lp, h.ID, asOf)
			return err
		})
		if err != nil {
			return fmt.Errorf("expire hold %s: %w", h.ID, err)
		}
		if ok {
			mu.Lock()
			res.HoldsReleased++
			res.PointsReleased += h.Points
			mu.Unlock()
		}
		return nil
	})
	return res, err
}
