package ledger_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

func benchBackends(b *testing.B) []storetest.Backend {
	bs := []storetest.Backend{storetest.SQLite}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		bs = append(bs, storetest.Postgres(dsn))
	}
	return bs
}

// BenchmarkAllocate is the pure lot allocation of a spend across 50 lots.
func BenchmarkAllocate(b *testing.B) {
	lots := make([]ledger.Lot, 50)
	for i := range lots {
		lots[i] = lot(fmt.Sprintf("l%02d", i), 20, 1+i%30, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ledger.Allocate(lots, 333); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEarn is one ledger write per operation, from many goroutines,
// through the group-committing writer: earns for 1,000 members.
func BenchmarkEarn(b *testing.B) { benchEarn(b, false, false) }

// BenchmarkEarnWebhook is BenchmarkEarn with a webhook subscribed to
// points.earned: each earn also writes its outbox event and delivery.
func BenchmarkEarnWebhook(b *testing.B) { benchEarn(b, true, false) }

// BenchmarkBatchApply is the batch apply of issue 19: 64 goroutines earn
// for 1,000 members, each earn with the audit entry and the statistics
// every API write adds, so that a group commit carries tens of operations
// whose postings, rollups, statistics, activity and audit rows are written
// once per batch (store/deferred.go). It reports the operations per commit
// and the writer's statements per operation.
func BenchmarkBatchApply(b *testing.B) { benchEarn(b, false, true) }

func benchEarn(b *testing.B, hook, batch bool) {
	for _, be := range benchBackends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f := newFixture(b, be)
			members := make([]string, 1000)
			for i := range members {
				members[i] = f.member()
			}
			if hook {
				f.write("", func(ctx context.Context, tx *store.Tx) error {
					now := f.clock.Now()
					return tx.InsertWebhook(ctx, store.Webhook{ID: "whk_bench", ProgramID: program.DefaultID, URL: "http://127.0.0.1:9/",
						Events: []string{"points.earned"}, Active: true, Secret: "whsec_bench", CreatedAt: now, UpdatedAt: now})
				})
			}
			p := f.prog()
			var n, seq atomic.Int64
			b.SetParallelism(16)
			if batch {
				b.SetParallelism(64 / runtime.GOMAXPROCS(0))
			}
			stmts := f.db.WriterStatements()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := members[n.Add(1)%int64(len(members))]
					err := f.db.Write(context.Background(), m, func(ctx context.Context, tx *store.Tx) error {
						now := f.clock.Now()
						if _, err := ledger.Earn(ctx, tx, p, ledger.EarnInput{MemberID: m, Points: 10, Now: now}); err != nil || !batch {
							return err
						}
						if err := tx.AddStats(ctx, program.DefaultID, m, store.StatsDelta{Orders: 1, Spend: 1000, OrderAt: &now, ActivityAt: now}); err != nil {
							return err
						}
						return tx.InsertAudit(ctx, store.AuditEntry{ProgramID: program.DefaultID, ID: fmt.Sprintf("aud_%d", seq.Add(1)), At: now,
							ActorKind: "api_key", ActorID: "key_bench", Action: "points.earn", TargetType: "member", TargetID: m,
							Method: "POST", Route: "/v1/members/{member}/points/earn", Status: 201, Summary: `{"points":10}`})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "earns/s")
			batches, ops := f.db.WriterStats()
			b.ReportMetric(float64(ops)/float64(max(batches, 1)), "ops/commit")
			b.ReportMetric(float64(f.db.WriterStatements()-stmts)/float64(b.N), "stmts/op")
		})
	}
}

// BenchmarkSpend spends from members with enough balance in several lots.
func BenchmarkSpend(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f := newFixture(b, be)
			members := make([]string, 1000)
			for i := range members {
				members[i] = f.member()
				for j := 0; j < 3; j++ {
					f.mustEarn(members[i], 1_000_000)
				}
			}
			p := f.prog()
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := members[n.Add(1)%int64(len(members))]
					err := f.db.Write(context.Background(), m, func(ctx context.Context, tx *store.Tx) error {
						_, err := ledger.Spend(ctx, tx, p, ledger.SpendInput{MemberID: m, Points: 7, Now: f.clock.Now()})
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spends/s")
		})
	}
}
