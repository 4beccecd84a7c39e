package ledger_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Random sequences of earn, spend, hold, capture, release, reverse, expire,
// activate and exchange (points ⇄ stars) keep every invariant of the books,
// a refused operation changes nothing, and for every member and currency
//
//	lifetime earned − spent − expired − exchanged away (net) = available + pending + held − debt.
func TestLedgerProperties(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		f.addCurrency("stars")
		// The books are verified at the end of each sequence and after each
		// job run, and on SQLite, where it is cheap, every few steps too.
		everyStep := b.Name == "sqlite"
		switch {
		case raceEnabled:
			defer setChecks(10)()
		case !everyStep:
			defer setChecks(30)()
		}
		rapid.Check(t, func(rt *rapid.T) {
			members := []string{f.member(), f.member(), f.member()}
			var bk randomBooks
			type swap struct {
				member, from, to string
				points, received int64
			}
			swaps := map[string]swap{} // exchange transactions
			away := map[string]int64{} // member/currency → net points exchanged away
			stars := func(m string) ledger.Balance { return f.balanceIn(m, "stars") }
			steps := rapid.IntRange(5, 40).Draw(rt, "steps")
			for i := 0; i < steps; i++ {
				m := rapid.SampledFrom(members).Draw(rt, "member")
				before, beforeStars := f.balance(m), stars(m)
				var err error
				op := rapid.IntRange(0, 9).Draw(rt, "op")
				switch op {
				case opEarn, opEarn + 1, opSpend, opHold, opSettle, opReverse:
					s, ok := bk.draw(rt, m, op)
					if !ok {
						continue
					}
					m = s.member
					before, beforeStars = f.balance(m), stars(m)
					if err = f.run(rt, &bk, s); err == nil && op == opReverse {
						if x, ok := swaps[s.txn.ID]; ok {
							away[x.member+"/"+x.from] -= x.points
							away[x.member+"/"+x.to] += x.received
						}
					}
				case 6:
					f.clock.Advance(time.Duration(rapid.IntRange(1, 100).Draw(rt, "hours")) * time.Hour)
					continue
				case 7:
					f.expire(f.clock.Now())
					f.verify()
					continue
				case 8:
					f.activate(f.clock.Now())
					f.verify()
					continue
				case 9: // exchange either way; sometimes for nothing, refused
					from, to := ledger.Points, "stars"
					if rapid.Bool().Draw(rt, "back") {
						from, to = to, from
					}
					x := swap{member: m, from: from, to: to, points: rapid.Int64Range(1, 300).Draw(rt, "points")}
					x.received = x.points * rapid.Int64Range(0, 3).Draw(rt, "rate") / 2
					var t ledger.Txn
					if t, err = f.exchange(m, from, to, x.points, x.received); err == nil {
						swaps[t.ID] = x
						bk.txns = append(bk.txns, t)
						away[m+"/"+from] += x.points
						away[m+"/"+to] -= x.received
					}
				}
				if err != nil {
					refusedAsExpected(rt, op, m, err)
					if after := f.balance(m); after != before {
						rt.Fatalf("refused op %d (%v) changed the balance %+v → %+v", op, err, before, after)
					}
					if after := stars(m); after != beforeStars {
						rt.Fatalf("refused op %d (%v) changed the stars %+v → %+v", op, err, beforeStars, after)
					}
				}
				if everyStep && i%4 == 3 {
					f.verify()
				}
			}
			f.verify()
			for _, m := range members {
				for _, b := range []ledger.Balance{f.balance(m), stars(m)} {
					if l, r := b.LifetimeEarned-b.LifetimeSpent-b.LifetimeExpired-away[m+"/"+b.Currency], b.Available+b.Pending+b.Held-b.Debt; l != r {
						rt.Fatalf("member %s: earned−spent−expired−exchanged = %d, available+pending+held−debt = %d (%+v)", m, l, r, b)
					}
				}
			}
		})
	})
}

// setChecks lowers rapid's number of checks for one test unless the run
// asked for a number with -rapid.checks; it returns the undo.
func setChecks(n int) func() {
	f := flag.Lookup("rapid.checks")
	if f == nil || f.Value.String() != f.DefValue {
		return func() {}
	}
	f.Value.Set(fmt.Sprint(n))
	return func() { f.Value.Set(f.DefValue) }
}
