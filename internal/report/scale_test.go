package report_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/report"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkReports reads the reports of a programme whose year of ledger
// has JIFEN_BENCH_REPORT_MEMBERS members (default 2,000) and about
// JIFEN_BENCH_REPORT_TXNS transactions (default 50,000): each day, earns
// at one of three merchants (nine in ten) and spends. The figures of
// docs/benchmarks.md come from 100,000 members and 10,000,000
// transactions. PostgreSQL runs when JIFEN_TEST_POSTGRES is set.
func BenchmarkReports(b *testing.B) {
	members := envInt("JIFEN_BENCH_REPORT_MEMBERS", 2000)
	txns := envInt("JIFEN_BENCH_REPORT_TXNS", 50_000)
	backends := []storetest.Backend{storetest.SQLite}
	if os.Getenv(storetest.EnvPostgres) != "" {
		backends = append(backends, storetest.Postgres(os.Getenv(storetest.EnvPostgres)))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			db := storetest.Open(b, be, store.Options{})
			ctx := context.Background()
			end := time.Now().Truncate(24 * time.Hour)
			clk := clock.NewFake(end)
			start := time.Now()
			n := seedYear(b, db, members, txns, end)
			b.Logf("%s: %d members, %d transactions seeded in %.0fs", be.Name, members, n, time.Since(start).Seconds())
			svc := report.NewService(db, program.NewService(db, clk, time.Minute), clk)
			a := auth.System(program.DefaultID)
			to := end.In(shanghai).Format(time.DateOnly)
			for _, days := range []int{30, 365} {
				from := end.In(shanghai).AddDate(0, 0, 1-days).Format(time.DateOnly)
				q := report.Query{From: from, To: to}
				b.Run(fmt.Sprintf("summary/%dd", days), func(b *testing.B) {
					for b.Loop() {
						if _, err := svc.Summary(ctx, a, q); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(fmt.Sprintf("daily/%dd", days), func(b *testing.B) {
					for b.Loop() {
						if _, err := svc.Daily(ctx, a, q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// seedYear writes a year of earns and spends ending at end through the
// ledger, a day's operations a few thousand to a transaction (the earns
// with one EarnEach, the spends one by one), and returns how many
// transactions it wrote.
func seedYear(b *testing.B, db *store.DB, members, txns int, end time.Time) int {
	b.Helper()
	ctx := context.Background()
	first := end.AddDate(0, 0, -365)
	var p program.Program
	ids := make([]string, members)
	err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		if _, err := program.Create(ctx, tx, program.DefaultID, "default", first); err != nil {
			return err
		}
		var ms []store.NewMember
		for i := range ids {
			ids[i] = id.New("mem")
			ms = append(ms, store.NewMember{ID: ids[i], ExternalID: fmt.Sprintf("r-%d", i), ReferralCode: fmt.Sprintf("R%07d", i)})
		}
		return tx.InsertMembers(ctx, program.DefaultID, ms, first)
	})
	if err != nil {
		b.Fatal(err)
	}
	mers := []string{""}
	err = db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		for i := range 3 {
			m := store.Merchant{ID: id.New("mer"), Name: fmt.Sprintf("Store %d", i+1), CreatedAt: first}
			if err := tx.InsertMerchant(ctx, program.DefaultID, m); err != nil {
				return err
			}
			mers = append(mers, m.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if p, err = program.NewService(db, clock.NewFake(first), 0).Get(ctx, program.DefaultID); err != nil {
		b.Fatal(err)
	}
	lp := p.Ledger()
	rng := rand.New(rand.NewPCG(1, 2))
	perDay := max(txns/365, 1)
	written := 0
	for d := range 365 {
		day := first.Add(time.Duration(d)*24*time.Hour + 2*time.Hour)
		for done := 0; done < perDay; {
			n := min(2000, perDay-done)
			err := db.Write(ctx, "seed", func(ctx context.Context, tx *store.Tx) error {
				at := day.Add(time.Duration(rng.IntN(20*3600)) * time.Second)
				var earns []ledger.EarnInput
				seen := map[string]bool{}
				for range n * 9 / 10 {
					m := ids[rng.IntN(len(ids))]
					if !seen[m] {
						seen[m] = true
						earns = append(earns, ledger.EarnInput{MemberID: m, Points: int64(50 + rng.IntN(500)),
							MerchantID: mers[rng.IntN(len(mers))], Now: at})
					}
				}
				if _, err := ledger.EarnEach(ctx, tx, lp, earns, at); err != nil {
					return err
				}
				written += len(earns)
				for range n - n*9/10 {
					_, err := ledger.Spend(ctx, tx, lp, ledger.SpendInput{MemberID: ids[rng.IntN(len(ids))], Points: int64(1 + rng.IntN(40)),
						MerchantID: mers[rng.IntN(len(mers))], Now: at})
					if err == nil {
						written++
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			done += n
		}
	}
	if err := db.AnalyzeSeeded(ctx); err != nil {
		b.Fatal(err)
	}
	return written
}
