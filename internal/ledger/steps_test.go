package ledger_test

import (
	"time"

	"pgregory.net/rapid"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
)

// Ops the property tests share, numbered as they draw them.
const (
	opEarn    = 0 // and 1: earns are drawn twice as often
	opSpend   = 2
	opHold    = 3
	opSettle  = 4 // capture or release a hold
	opReverse = 5
)

// randomBooks is what a random sequence has made that later steps act on.
type randomBooks struct {
	txns  []ledger.Txn // earns, spends and captures (and what a test adds) to reverse
	holds []ledger.Hold
}

// step is one shared op, drawn: on the member it acts on (a hold's or a
// transaction's own member for opSettle and opReverse).
type step struct {
	op     int
	member string
	hold   ledger.Hold
	txn    ledger.Txn
}

// draw picks what op acts on, for member m; false when there is nothing
// to settle or reverse yet.
func (bk *randomBooks) draw(rt *rapid.T, m string, op int) (step, bool) {
	s := step{op: op, member: m}
	switch op {
	case opSettle:
		if len(bk.holds) == 0 {
			return s, false
		}
		s.hold = rapid.SampledFrom(bk.holds).Draw(rt, "hold")
		s.member = s.hold.MemberID
	case opReverse:
		if len(bk.txns) == 0 {
			return s, false
		}
		s.txn = rapid.SampledFrom(bk.txns).Draw(rt, "txn")
		s.member = s.txn.MemberID
	}
	return s, true
}

// run does the step with drawn amounts — an earn pending or expiring
// sometimes — and keeps what it made in bk.
func (f *fixture) run(rt *rapid.T, bk *randomBooks, s step) error {
	var err error
	switch s.op {
	case opEarn, opEarn + 1:
		in := ledger.EarnInput{MemberID: s.member, Points: rapid.Int64Range(1, 500).Draw(rt, "points")}
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
			bk.txns = append(bk.txns, e)
		}
	case opSpend:
		var t ledger.Txn
		if t, err = f.spend(s.member, rapid.Int64Range(1, 400).Draw(rt, "points")); err == nil {
			bk.txns = append(bk.txns, t)
		}
	case opHold:
		var h ledger.Hold
		if h, err = f.hold(s.member, rapid.Int64Range(1, 300).Draw(rt, "points")); err == nil {
			bk.holds = append(bk.holds, h)
		}
	case opSettle:
		if rapid.Bool().Draw(rt, "capture") {
			var c ledger.Hold
			if c, err = f.capture(s.hold, rapid.Int64Range(0, s.hold.Points).Draw(rt, "points")); err == nil {
				bk.txns = append(bk.txns, ledger.Txn{ID: string(c.TransactionID), MemberID: s.member})
			}
		} else {
			_, err = f.release(s.hold)
		}
	case opReverse:
		_, err = f.reverse(s.txn.ID, rapid.Int64Range(0, 300).Draw(rt, "points"))
	default:
		rt.Fatalf("op %d is not shared", s.op)
	}
	return err
}

// refusedAsExpected fails rt unless err is one of the refusals a random
// step may meet.
func refusedAsExpected(rt *rapid.T, op int, member string, err error) {
	switch failure.KindOf(err) {
	case failure.InsufficientPoints, failure.LimitExceeded, failure.Conflict, failure.Invalid:
	default:
		rt.Fatalf("op %d on %s: %v", op, member, err)
	}
}
