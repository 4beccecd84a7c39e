package ledger_test

import (
	"context"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// merge merges from into to as the member service does for the ledger:
// ledger.Merge, then the source marked merged, in one transaction.
func (f *fixture) merge(from, to string) (ledger.MergeResult, error) {
	var out ledger.MergeResult
	err := f.db.Write(context.Background(), to, func(ctx context.Context, tx *store.Tx) (err error) {
		if out, err = ledger.Merge(ctx, tx, f.prog(), from, to, "", f.clock.Now()); err != nil {
			return err
		}
		return tx.SetMerged(ctx, program.DefaultID, from, to, f.clock.Now())
	})
	return out, err
}

// Random sequences of earns (pending and expiring too), spends, holds,
// captures, releases, reversals — of transactions whose member has since
// been merged, too — expiry, activation and merges keep every invariant
// of the books; a refused operation changes nothing; points are neither
// made nor lost by a merge; and each member's lifetime figures still add
// up to its balance.
func TestMergeProperties(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		switch {
		case raceEnabled:
			defer setChecks(10)()
		case b.Name != "sqlite":
			defer setChecks(30)()
		}
		rapid.Check(t, func(rt *rapid.T) {
			members := []string{f.member(), f.member(), f.member(), f.member()}
			merged := map[string]bool{}
			var bk randomBooks
			total := func() (held int64) {
				for _, m := range members {
					bl := f.balance(m)
					held += bl.Available + bl.Pending + bl.Held - bl.Debt
				}
				return held
			}
			steps := rapid.IntRange(5, 40).Draw(rt, "steps")
			for i := 0; i < steps; i++ {
				m := rapid.SampledFrom(members).Draw(rt, "member")
				var err error
				op := rapid.IntRange(0, 9).Draw(rt, "op")
				before := f.balance(m)
				switch op {
				case opEarn, opEarn + 1, opSpend, opHold, opSettle, opReverse:
					s, ok := bk.draw(rt, m, op)
					if !ok {
						continue
					}
					m = s.member
					before = f.balance(m)
					err = f.run(rt, &bk, s)
				case 6:
					f.clock.Advance(time.Duration(rapid.IntRange(1, 100).Draw(rt, "hours")) * time.Hour)
					continue
				case 7:
					f.expire(f.clock.Now())
					f.activate(f.clock.Now())
					f.verify()
					continue
				case 8, 9:
					to := rapid.SampledFrom(members).Draw(rt, "target")
					sum := total()
					_, err = f.merge(m, to)
					if err == nil {
						merged[m] = true
						if after := total(); after != sum {
							rt.Fatalf("merge %s → %s: members hold %d points, had %d", m, to, after, sum)
						}
						if bl := f.balance(m); bl != (ledger.Balance{MemberID: m, Currency: ledger.Points}) {
							rt.Fatalf("merged source keeps %+v", bl)
						}
						f.verify()
						continue
					}
					if m == to && failure.KindOf(err) != failure.Invalid {
						rt.Fatalf("merging %s into itself: %v", m, err)
					}
					if m != to && !merged[m] && !merged[to] {
						rt.Fatalf("merge %s → %s of active members: %v", m, to, err)
					}
				}
				if err != nil {
					refusedAsExpected(rt, op, m, err)
					if after := f.balance(m); after != before {
						rt.Fatalf("refused op %d (%v) changed the balance %+v → %+v", op, err, before, after)
					}
				} else if merged[m] && op <= 3 {
					rt.Fatalf("op %d on merged member %s succeeded", op, m)
				}
			}
			f.verify()
			for _, m := range members {
				b := f.balance(m)
				if l, r := b.LifetimeEarned-b.LifetimeSpent-b.LifetimeExpired, b.Available+b.Pending+b.Held-b.Debt; l != r {
					rt.Fatalf("member %s: earned−spent−expired = %d, available+pending+held−debt = %d (%+v)", m, l, r, b)
				}
			}
		})
	})
}
