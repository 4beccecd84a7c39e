package jobs_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/jobs"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// BenchmarkExpire is one expiry run over 1,000 members with a lot due
// each: a write per member, group-committed.
func BenchmarkExpire(b *testing.B) {
	backends := []storetest.Backend{storetest.SQLite}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		backends = append(backends, storetest.Postgres(dsn))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, be, store.Options{})
			now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			if err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
				_, err := program.Create(ctx, tx, program.DefaultID, "default", now)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			p, err := program.NewService(db, clock.System{}, 0).Get(ctx, program.DefaultID)
			if err != nil {
				b.Fatal(err)
			}
			const members = 1000
			var expired int64
			for b.Loop() {
				b.StopTimer()
				due := now.Add(time.Hour)
				var wg sync.WaitGroup
				for range members {
					wg.Go(func() {
						m := store.Member{ID: id.New("mem"), ProgramID: p.ID, Gender: "unknown", Status: "active",
							ReferralCode: id.Secret(8), CreatedAt: now, UpdatedAt: now}
						err := db.Write(ctx, m.ID, func(ctx context.Context, tx *store.Tx) error {
							if _, err := tx.InsertMember(ctx, m); err != nil {
								return err
							}
							_, err := ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{MemberID: m.ID, Points: 10, ExpiresAt: &due, Now: now})
							return err
						})
						if err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
				b.StartTimer()
				res, err := jobs.Expire(ctx, db, p, due)
				if err != nil {
					b.Fatal(err)
				}
				expired += res.LotsExpired
				now = due
			}
			b.ReportMetric(float64(expired)/b.Elapsed().Seconds(), "lots/s")
		})
	}
}
