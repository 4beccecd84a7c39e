package jobs_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/jobs"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Several nodes on one database: each scheduled run happens once.
func TestSchedulerRunsEachJobOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		dsn := b.DSN(t)
		clk := clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		const nodes = 3
		var mu sync.Mutex
		runs := map[string]int{}
		var scheds []*jobs.Scheduler
		for i := 0; i < nodes; i++ {
			db := storetest.OpenDSN(t, dsn, store.Options{}) // a pool of its own, like another process
			if i == 0 {
				err := db.Write(context.Background(), "", func(ctx context.Context, tx *store.Tx) error {
					_, err := program.Create(ctx, tx, program.DefaultID, "default", clk.Now())
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			s := jobs.NewScheduler(db, program.NewService(db, clk, time.Minute), clk, slog.New(slog.DiscardHandler), nil)
			s.Add(jobs.Job{Name: "count", Every: time.Minute, Run: func(ctx context.Context, p program.Program, now time.Time) error {
				mu.Lock()
				runs[now.Format(time.RFC3339)]++
				mu.Unlock()
				return nil
			}})
			scheds = append(scheds, s)
		}
		for tick := 0; tick < 5; tick++ {
			var wg sync.WaitGroup
			for _, s := range scheds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.RunDue(context.Background())
				}()
			}
			wg.Wait()
			clk.Advance(time.Minute)
		}
		if len(runs) != 5 {
			t.Fatalf("runs at %d instants, want 5: %v", len(runs), runs)
		}
		for at, n := range runs {
			if n != 1 {
				t.Fatalf("the run due at %s happened %d times", at, n)
			}
		}
	})
}
