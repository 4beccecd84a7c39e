package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Many draws at once on a prize with a small stock: exactly the stock is
// won, never more, and the stock ends at zero. Each draw is a write of its
// own member (its own lane on PostgreSQL), once with group commit off, so
// every draw is a transaction racing the others for the prize row, and
// once with it on.
func TestTakePrizeConcurrent(t *testing.T) {
	const (
		stock   = 5
		drawers = 64
	)
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		for _, opt := range []store.Options{{Lanes: 8, MaxBatch: 1}, {Lanes: 8}} {
			t.Run(fmt.Sprintf("batch=%d", opt.MaxBatch), func(t *testing.T) {
				db := storetest.Open(t, b, opt)
				ctx := context.Background()
				now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				const prog, lot = "prog_race", "lot_race"
				err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
					if _, err := program.Create(ctx, tx, prog, prog, now); err != nil {
						return err
					}
					s := int64(stock)
					return tx.SaveLottery(ctx, store.Lottery{ID: lot, ProgramID: prog, Name: "wheel", CostPoints: 10,
						Fallback: []byte(`{}`), Status: "active", CreatedAt: now, UpdatedAt: now},
						[]store.Prize{
							{Index: 0, Name: "scarce", Weight: 1, Stock: &s, Reward: []byte(`{}`)},
							{Index: 1, Name: "plenty", Weight: 1, Reward: []byte(`{}`)},
						})
				})
				if err != nil {
					t.Fatal(err)
				}

				var winners, losers, plenty atomic.Int64
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make(chan error, drawers)
				for i := range drawers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						errs <- db.Write(ctx, fmt.Sprintf("mem_%d", i), func(ctx context.Context, tx *store.Tx) error {
							ok, err := tx.TakePrize(ctx, prog, lot, 0)
							if err != nil {
								return err
							}
							// The unlimited prize is always there.
							more, err := tx.TakePrize(ctx, prog, lot, 1)
							if err != nil {
								return err
							}
							// Counted once the write commits (a retried
							// write runs its op again).
							tx.After(func() {
								if ok {
									winners.Add(1)
								} else {
									losers.Add(1)
								}
								if more {
									plenty.Add(1)
								}
							})
							return nil
						})
					}()
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Error(err)
					}
				}

				_, prizes, err := db.Read().Lottery(ctx, prog, lot)
				if err != nil {
					t.Fatal(err)
				}
				if len(prizes) != 2 {
					t.Fatalf("%d prizes stored, want 2", len(prizes))
				}
				p := prizes[0]
				if p.Stock == nil || *p.Stock < 0 {
					t.Errorf("stock after the draws = %v, want 0", p.Stock)
				} else if *p.Stock != 0 {
					t.Errorf("stock after %d draws = %d, want 0", drawers, *p.Stock)
				}
				if winners.Load() != stock || p.Won != stock {
					t.Errorf("the prize of stock %d was won %d times (won column %d): over- or under-issued",
						stock, winners.Load(), p.Won)
				}
				if got := winners.Load() + losers.Load(); got != drawers {
					t.Errorf("%d draws committed, want %d", got, drawers)
				}
				if q := prizes[1]; q.Stock != nil || q.Won != drawers || plenty.Load() != drawers {
					t.Errorf("unlimited prize: stock %v, won %d, taken %d; want nil, %d, %d",
						q.Stock, q.Won, plenty.Load(), drawers, drawers)
				}
			})
		}
	})
}
