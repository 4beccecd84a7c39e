package ledger_test

import (
	"context"
	"testing"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// One member's earn, spends and a refused spend in one group-commit
// batch. On SQLite the earn's transaction, lot and moves wait for the
// commit (store/deferred.go); the spend after it reads the member's lots,
// which writes the waiting lot first, and spends from it FIFO; the
// refused spend fails alone. The books verify.
func TestLedgerInOneBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		m := f.member()
		f.mustEarn(m, 100) // an older lot
		p := f.prog()
		var ran []string // the order the operations ran in, on the lane
		earn := func(ctx context.Context, tx *store.Tx) error {
			ran = append(ran, "earn")
			_, err := ledger.Earn(ctx, tx, p, ledger.EarnInput{MemberID: m, Points: 50, Now: f.clock.Now()})
			return err
		}
		spend := func(name string, points int64) store.Op {
			return func(ctx context.Context, tx *store.Tx) error {
				ran = append(ran, name)
				_, err := ledger.Spend(ctx, tx, p, ledger.SpendInput{MemberID: m, Points: points, Now: f.clock.Now()})
				return err
			}
		}
		errs := storetest.InOneBatch(t, f.db, earn, spend("120", 120), spend("40", 40), spend("30", 30))
		// The last run of each (a batch with a failing operation runs
		// again, with savepoints).
		order := ran[len(ran)-4:]
		if order[0] != "earn" || order[1] != "120" {
			t.Skipf("the operations were queued in the order %v, not as given", order)
		}
		if errs[0] != nil || errs[1] != nil || errs[3] != nil {
			t.Fatalf("earn, spend 120, spend 30: %v", errs)
		}
		if failure.KindOf(errs[2]) != failure.InsufficientPoints {
			t.Fatalf("spend 40 of 30 left: %v, want insufficient_points", errs[2])
		}
		if got := f.balance(m); got.Available != 0 || got.LifetimeEarned != 150 || got.LifetimeSpent != 150 {
			t.Errorf("balance %+v: want 0 available, 150 earned, 150 spent", got)
		}
		f.verify()
	})
}
