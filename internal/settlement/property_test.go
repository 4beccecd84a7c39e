package settlement_test

import (
	"context"
	"fmt"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/settlement"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

var programs atomic.Int64

// world is one programme of an alliance under test: three merchants,
// three members, a fake clock, and what the test itself knows of the
// statements closed so far.
type world struct {
	t        *rapid.T
	db       *store.DB
	clock    *clock.Fake
	programs *program.Service
	svc      *settlement.Service
	a        auth.Actor
	mers     []string // "" is the programme
	members  []string
	terms    map[string]settlement.Terms // as set now
	settled  map[string]int              // transaction → the statement (index) that settled its moves
	txns     []ledger.Txn                // earns and spends, to reverse
}

func (w *world) write(op store.Op) error {
	return w.db.Write(context.Background(), "", op)
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil && !isRefusal(err) {
		w.t.Fatal(err)
	}
}

// isRefusal is an operation the ledger refuses for the state it finds
// (not enough points, nothing left to reverse): fine in a random walk.
func isRefusal(err error) bool {
	switch failure.KindOf(err) {
	case failure.InsufficientPoints, failure.Conflict, failure.Invalid, failure.LimitExceeded:
		return true
	}
	return false
}

func (w *world) prog() ledger.Program {
	p, err := w.programs.Get(context.Background(), w.a.ProgramID)
	if err != nil {
		w.t.Fatal(err)
	}
	return p.Ledger()
}

// allMoves reads every lot move of the programme, by transaction.
func (w *world) allMoves() map[string][]store.LotMove {
	ctx := context.Background()
	c := w.db.Read()
	var ids []string
	for _, m := range w.members {
		pg := store.Page{Limit: 500}
		for {
			ts, next, err := c.MemberTxns(ctx, w.a.ProgramID, m, store.TxnFilter{}, pg)
			if err != nil {
				w.t.Fatal(err)
			}
			for _, t := range ts {
				ids = append(ids, t.ID)
			}
			if next == "" {
				break
			}
			pg.Cursor = next
		}
	}
	out := map[string][]store.LotMove{}
	for start := 0; start < len(ids); start += 200 {
		ms, err := c.MovesOf(ctx, w.a.ProgramID, ids[start:min(start+200, len(ids))]...)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, m := range ms {
			out[m.TransactionID] = append(out[m.TransactionID], m)
		}
	}
	return out
}

// expected works out a statement's pairs and lines from its moves, the
// long way: exact rationals, one move at a time.
func (w *world) expected(moves []store.LotMove) (map[string]settlement.Pair, map[string]settlement.Line) {
	value := func(m null.String) *big.Rat {
		if t, ok := w.terms[string(m)]; ok && m != "" {
			r, _ := new(big.Rat).SetString(t.PointValueFen)
			return r
		}
		return big.NewRat(1, 1) // 100 / points_per_yuan (100)
	}
	fee := func(m null.String) *big.Rat {
		if t, ok := w.terms[string(m)]; ok && m != "" {
			r, _ := new(big.Rat).SetString(t.FeePercent)
			return r
		}
		return new(big.Rat)
	}
	trunc := func(r *big.Rat) int64 { return new(big.Int).Quo(r.Num(), r.Denom()).Int64() }
	lines := map[string]settlement.Line{"": {}}
	pts := map[string]int64{}
	type key struct{ kind, payer, payee string }
	keys := map[string]key{}
	add := func(k key, n int64) {
		s := k.kind + "|" + k.payer + "|" + k.payee
		pts[s] += n
		keys[s] = k
	}
	for _, m := range moves {
		is, at := string(m.IssuerMerchantID), string(m.AtMerchantID)
		li := lines[is]
		switch m.Kind {
		case store.MoveIssue, store.MoveClaw:
			li.Issued += m.Points
		case store.MoveExpire:
			li.Expired -= m.Points
			if is != "" && w.terms[is].Breakage == "program" {
				add(key{"breakage", is, ""}, -m.Points)
			}
		case store.MoveRedeem, store.MoveReturn:
			if is == at {
				li.RedeemedAtSelf -= m.Points
			} else {
				li.RedeemedByOthers -= m.Points
				la := lines[at]
				la.RedeemedFromOthers -= m.Points
				lines[at] = la
				add(key{"redemption", is, at}, -m.Points)
			}
		}
		lines[is] = li
	}
	pairs := map[string]settlement.Pair{}
	for s, n := range pts {
		if n == 0 {
			continue
		}
		k := keys[s]
		amount := trunc(new(big.Rat).Mul(big.NewRat(n, 1), value(null.String(k.payer))))
		var f int64
		if k.payee != "" {
			f = trunc(new(big.Rat).Quo(new(big.Rat).Mul(big.NewRat(amount, 1), fee(null.String(k.payee))), big.NewRat(100, 1)))
		}
		pairs[s] = settlement.Pair{Kind: k.kind, PayerMerchantID: null.String(k.payer), PayeeMerchantID: null.String(k.payee),
			Points: n, AmountFen: amount, FeeFen: f}
		payer, payee := lines[k.payer], lines[k.payee]
		if k.kind == "redemption" {
			payer.PayableFen += amount
			lines[k.payer] = payer
			payee = lines[k.payee]
			payee.ReceivableFen += amount
			payee.FeesFen += f
			lines[k.payee] = payee
			prog := lines[""]
			prog.FeesFen -= f
			lines[""] = prog
		} else {
			payer.BreakageFen += amount
			lines[k.payer] = payer
			prog := lines[""]
			prog.BreakageFen -= amount
			lines[""] = prog
		}
	}
	for m, l := range lines {
		l.MerchantID = null.String(m)
		l.NetFen = l.ReceivableFen - l.PayableFen - l.FeesFen - l.BreakageFen
		lines[m] = l
	}
	return pairs, lines
}

// closeStatement opens and closes a statement up to to, and checks it
// against the moves the test assigns it: every move of a transaction
// recorded before to and not settled by an earlier statement.
func (w *world) closeStatement(n int, to time.Time) settlement.Statement {
	w.t.Helper()
	ctx := context.Background()
	s := to.Format(time.RFC3339Nano)
	var st settlement.Statement
	err := w.write(func(ctx context.Context, tx *store.Tx) (err error) {
		st, err = w.svc.Create(ctx, tx, w.a, settlement.StatementInput{To: &s})
		return err
	})
	if err != nil {
		w.t.Fatalf("create statement to %s: %v", s, err)
	}
	draft, err := w.svc.Get(ctx, w.a, st.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	err = w.write(func(ctx context.Context, tx *store.Tx) (err error) {
		st, err = w.svc.Close(ctx, tx, w.a, st.ID)
		return err
	})
	if err != nil {
		w.t.Fatalf("close: %v", err)
	}
	var mine []store.LotMove
	for txn, ms := range w.allMoves() {
		if _, done := w.settled[txn]; done || !ms[0].CreatedAt.Before(to) {
			continue
		}
		w.settled[txn] = n
		mine = append(mine, ms...)
	}
	wantPairs, wantLines := w.expected(mine)
	for name, got := range map[string]settlement.Statement{"closed": st, "draft": draft} {
		if len(got.Pairs) != len(wantPairs) {
			w.t.Fatalf("statement %d (%s): pairs %+v, want %+v", n, name, got.Pairs, wantPairs)
		}
		for _, p := range got.Pairs {
			if want := wantPairs[p.Kind+"|"+string(p.PayerMerchantID)+"|"+string(p.PayeeMerchantID)]; p != want {
				w.t.Fatalf("statement %d (%s): pair %+v, want %+v", n, name, p, want)
			}
		}
		var net int64
		for _, l := range got.Lines {
			net += l.NetFen
			if want := wantLines[string(l.MerchantID)]; l != want {
				w.t.Fatalf("statement %d (%s): line %+v, want %+v", n, name, l, want)
			}
		}
		if len(got.Lines) != len(wantLines) {
			w.t.Fatalf("statement %d (%s): lines %+v, want %+v", n, name, got.Lines, wantLines)
		}
		if net != 0 {
			w.t.Fatalf("statement %d (%s): nets sum to %d", n, name, net)
		}
	}
	return st
}

// Random earns at random merchants, spends at random merchants, partial
// reversals (some late: recorded before the last statement's end but
// committed after its close) and expiries, cut into random consecutive
// statements: each statement agrees with the lot moves it takes, worked
// out here independently; nets sum to zero; and the statements together
// settle every move, so every cross-redemption, exactly once.
func TestStatementsProperty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := storetest.Open(t, b, store.Options{})
		clk := clock.NewFake(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC))
		ps := program.NewService(db, clk, time.Minute)
		svc := settlement.NewService(db, ps, clk)
		rapid.Check(t, func(rt *rapid.T) {
			pid := fmt.Sprintf("prop%d", programs.Add(1))
			w := &world{t: rt, db: db, clock: clk, programs: ps, svc: svc, a: auth.System(pid),
				terms: map[string]settlement.Terms{}, settled: map[string]int{}}
			w.must(w.write(func(ctx context.Context, tx *store.Tx) error {
				if _, err := program.Create(ctx, tx, pid, pid, clk.Now()); err != nil {
					return err
				}
				for i := range 3 {
					m := fmt.Sprintf("mer_%s_%d", pid, i)
					if err := tx.InsertMerchant(ctx, pid, store.Merchant{ID: m, Name: m, CreatedAt: clk.Now()}); err != nil {
						return err
					}
					w.mers = append(w.mers, m)
				}
				for i := range 3 {
					m := fmt.Sprintf("mem_%s_%d", pid, i)
					if err := tx.InsertMembers(ctx, pid, []store.NewMember{{ID: m, ExternalID: m, ReferralCode: m}}, clk.Now()); err != nil {
						return err
					}
					w.members = append(w.members, m)
				}
				return nil
			}))
			w.mers = append(w.mers, "")
			created := clk.Now()
			setTerms := func() {
				m := rapid.SampledFrom(w.mers[:3]).Draw(rt, "terms of")
				in := settlement.TermsInput{Breakage: rapid.SampledFrom([]string{"issuer", "program"}).Draw(rt, "breakage")}
				v := fmt.Sprintf("%d.%06d", rapid.IntRange(0, 3).Draw(rt, "value"), rapid.IntRange(0, 999999).Draw(rt, "value µ"))
				f := fmt.Sprintf("%d.%03d", rapid.IntRange(0, 20).Draw(rt, "fee"), rapid.IntRange(0, 999).Draw(rt, "fee ‰"))
				in.PointValueFen, in.FeePercent = &v, &f
				var got settlement.Terms
				w.must(w.write(func(ctx context.Context, tx *store.Tx) (err error) {
					got, err = svc.PutTerms(ctx, tx, w.a, m, in)
					return err
				}))
				w.terms[m] = got
			}
			for range rapid.IntRange(0, 3).Draw(rt, "terms") {
				setTerms()
			}
			var lastTo time.Time
			n := 0
			steps := rapid.IntRange(5, 40).Draw(rt, "steps")
			for range steps {
				p := w.prog()
				mem := rapid.SampledFrom(w.members).Draw(rt, "member")
				mer := rapid.SampledFrom(w.mers).Draw(rt, "merchant")
				switch rapid.IntRange(0, 9).Draw(rt, "op") {
				case 0, 1, 2: // earn, sometimes expiring
					in := ledger.EarnInput{MemberID: mem, Points: rapid.Int64Range(1, 500).Draw(rt, "points"), MerchantID: mer, Now: clk.Now()}
					if rapid.Bool().Draw(rt, "expiring") {
						at := clk.Now().Add(time.Duration(rapid.IntRange(1, 72).Draw(rt, "hours")) * time.Hour)
						in.ExpiresAt = &at
					}
					w.must(w.write(func(ctx context.Context, tx *store.Tx) error {
						t, err := ledger.Earn(ctx, tx, p, in)
						if err == nil {
							w.txns = append(w.txns, t)
						}
						return err
					}))
				case 3, 4: // spend
					in := ledger.SpendInput{MemberID: mem, Points: rapid.Int64Range(1, 400).Draw(rt, "points"), MerchantID: mer, Now: clk.Now()}
					w.must(w.write(func(ctx context.Context, tx *store.Tx) error {
						t, err := ledger.Spend(ctx, tx, p, in)
						if err == nil {
							w.txns = append(w.txns, t)
						}
						return err
					}))
				case 5: // a partial reversal, sometimes late
					if len(w.txns) == 0 {
						continue
					}
					orig := rapid.SampledFrom(w.txns).Draw(rt, "reverse")
					now := clk.Now()
					if n > 0 && rapid.Bool().Draw(rt, "late") && orig.CreatedAt.Before(lastTo) {
						// Recorded before the last statement's end, committed after its close.
						clk.Set(lastTo.Add(-time.Millisecond))
					}
					w.must(w.write(func(ctx context.Context, tx *store.Tx) error {
						_, err := ledger.Reverse(ctx, tx, p, ledger.ReverseInput{TransactionID: orig.ID,
							Points: rapid.Int64Range(1, orig.Points).Draw(rt, "reverse points"), Now: clk.Now()})
						return err
					}))
					clk.Set(now)
				case 6, 7: // time passes; expiry runs
					clk.Advance(time.Duration(rapid.IntRange(1, 48).Draw(rt, "advance")) * time.Hour)
					for _, m := range w.members {
						w.must(w.write(func(ctx context.Context, tx *store.Tx) error {
							_, _, err := ledger.ExpireDue(ctx, tx, p, m, ledger.Points, clk.Now())
							return err
						}))
					}
				case 8: // terms change between statements
					setTerms()
				case 9: // a statement up to a moment since the last one
					clk.Advance(time.Minute)
					from := lastTo
					if n == 0 {
						from = created
					}
					// to: anywhere after from, up to now.
					back := rapid.Int64Range(0, clk.Now().Sub(from).Milliseconds()-1).Draw(rt, "cut back")
					to := clk.Now().Add(-time.Duration(back) * time.Millisecond)
					w.closeStatement(n, to)
					lastTo, n = to, n+1
				}
				clk.Advance(time.Duration(rapid.IntRange(1, 120).Draw(rt, "seconds")) * time.Second)
			}
			// A last statement takes everything left.
			clk.Advance(time.Second)
			w.closeStatement(n, clk.Now())
			for txn, ms := range w.allMoves() {
				if _, ok := w.settled[txn]; !ok && len(ms) > 0 {
					rt.Fatalf("transaction %s's moves were settled by no statement", txn)
				}
			}
			// And nothing is left to settle: a further statement is empty.
			clk.Advance(time.Second)
			empty := w.closeStatement(n+1, clk.Now())
			if len(empty.Pairs) != 0 {
				rt.Fatalf("a statement after everything settled has pairs: %+v", empty.Pairs)
			}
		})
	})
}
