package ledger_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jifen/jifen/internal/failure"
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
			var txns []ledger.Txn // earns, spends and captures to reverse
			var holds []ledger.Hold
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
				case 0, 1: // earn, sometimes pending, sometimes expiring
					in := ledger.EarnInput{MemberID: m, Points: rapid.Int64Range(1, 500).Draw(rt, "points")}
					if rapid.Bool().Draw(rt, "pending") {
						at := f.clock.Now().Add(time.Duration(rapid.IntRange(1, 72).Draw(rt, "hours")) * time.Hour)
						in.AvailableAt = &at
					}
					if rapid.Bool().Draw(rt, "expiring") {
						at := f.clock.Now().Add(time.Duration(rapid.IntRange(73, 400).Draw(rt, "hours")) * time.Hour)
						in.ExpiresAt = &at
					}
					var e ledger.Txn
					if e, err = f.earn(in); err == nil {
						txns = append(txns, e)
					}
				case 2:
					var s ledger.Txn
					if s, err = f.spend(m, rapid.Int64Range(1, 400).Draw(rt, "points")); err == nil {
						txns = append(txns, s)
					}
				case 3:
					var h ledger.Hold
					if h, err = f.hold(m, rapid.Int64Range(1, 300).Draw(rt, "points")); err == nil {
						holds = append(holds, h)
					}
				case 4:
					if len(holds) == 0 {
						continue
					}
					h := rapid.SampledFrom(holds).Draw(rt, "hold")
					m = h.MemberID
					before, beforeStars = f.balance(m), stars(m)
					if rapid.Bool().Draw(rt, "capture") {
						var c ledger.Hold
						if c, err = f.capture(h, rapid.Int64Range(0, h.Points).Draw(rt, "points")); err == nil {
							txns = append(txns, ledger.Txn{ID: string(c.TransactionID), MemberID: m})
						}
					} else {
						_, err = f.release(h)
					}
				case 5:
					if len(txns) == 0 {
						continue
					}
					tx := rapid.SampledFrom(txns).Draw(rt, "txn")
					m = tx.MemberID
					before, beforeStars = f.balance(m), stars(m)
					if _, err = f.reverse(tx.ID, rapid.Int64Range(0, 300).Draw(rt, "points")); err == nil {
						if x, ok := swaps[tx.ID]; ok {
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
						txns = append(txns, t)
						away[m+"/"+from] += x.points
						away[m+"/"+to] -= x.received
					}
				}
				if err != nil {
					switch failure.KindOf(err) {
					case failure.InsufficientPoints, failure.LimitExceeded, failure.Conflict, failure.Invalid:
					default:
						rt.Fatalf("op %d on %s: %v", op, m, err)
					}
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
