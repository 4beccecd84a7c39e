package ledger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// The ledger conformance suite: every behaviour on SQLite and, with
// JIFEN_TEST_POSTGRES, PostgreSQL.
func TestLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		t.Run("earn and spend FIFO", func(t *testing.T) { testEarnSpend(t, b) })
		t.Run("holds", func(t *testing.T) { testHolds(t, b) })
		t.Run("reverse earn", func(t *testing.T) { testReverseEarn(t, b) })
		t.Run("reverse spend and capture", func(t *testing.T) { testReverseSpend(t, b) })
		t.Run("pending points", func(t *testing.T) { testPending(t, b) })
		t.Run("expiry policies", func(t *testing.T) { testExpiry(t, b) })
		t.Run("frozen member", func(t *testing.T) { testFrozen(t, b) })
		t.Run("program isolation", func(t *testing.T) { testIsolation(t, b) })
		t.Run("concurrent spends", func(t *testing.T) { testConcurrentSpends(t, b) })
	})
}

func kind(t *testing.T, err error, want failure.Kind) {
	t.Helper()
	if failure.KindOf(err) != want || err == nil {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func testEarnSpend(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	m := f.member()
	late := f.clock.Now().Add(90 * 24 * time.Hour)
	soon := f.clock.Now().Add(10 * 24 * time.Hour)
	if _, err := f.earn(ledger.EarnInput{MemberID: m, Points: 100, ExpiresAt: &late}); err != nil {
		t.Fatal(err)
	}
	soonTxn, err := f.earn(ledger.EarnInput{MemberID: m, Points: 50, ExpiresAt: &soon, MerchantID: "mer_x"})
	if err != nil {
		t.Fatal(err)
	}
	if soonTxn.Type != ledger.TypeEarn || soonTxn.Points != 50 || soonTxn.Status != ledger.StatusCompleted {
		t.Fatalf("earn txn = %+v", soonTxn)
	}
	sp, err := f.spend(m, 120)
	if err != nil {
		t.Fatal(err)
	}
	moves, err := f.db.Read().MovesOf(context.Background(), program.DefaultID, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 2 || moves[0].Points != -50 || moves[0].IssuerMerchantID != "mer_x" || moves[1].Points != -70 {
		t.Fatalf("spend moves = %+v, want 50 from the soon lot then 70", moves)
	}
	wantBalance(t, f.balance(m), 30, 0, 0, 0)
	_, err = f.spend(m, 31)
	kind(t, err, failure.InsufficientPoints)
	wantBalance(t, f.balance(m), 30, 0, 0, 0)
	_, err = f.spend(m, 0)
	kind(t, err, failure.Invalid)
	_, err = f.earn(ledger.EarnInput{MemberID: m, Points: 5, Currency: "gold"})
	kind(t, err, failure.Invalid)
	_, err = f.earn(ledger.EarnInput{MemberID: "mem_nobody", Points: 5})
	kind(t, err, failure.NotFound)
	bal := f.balance(m)
	if bal.LifetimeEarned != 150 || bal.LifetimeSpent != 120 {
		t.Fatalf("lifetime earned/spent = %d/%d, want 150/120", bal.LifetimeEarned, bal.LifetimeSpent)
	}
	// Growth value is not spendable.
	if _, err := f.earn(ledger.EarnInput{MemberID: m, Points: 5, Currency: ledger.Growth}); err != nil {
		t.Fatal(err)
	}
	err = f.db.Write(context.Background(), m, func(ctx context.Context, tx *store.Tx) error {
		_, err := ledger.Spend(ctx, tx, f.prog(), ledger.SpendInput{MemberID: m, Points: 1, Currency: ledger.Growth, Now: f.clock.Now()})
		return err
	})
	kind(t, err, failure.Invalid)
	f.verify()
}

func testHolds(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	m := f.member()
	f.mustEarn(m, 100)
	_, err := f.hold(m, 101)
	kind(t, err, failure.InsufficientPoints)
	h, err := f.hold(m, 60)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != store.HoldHeld || !h.ExpiresAt.Equal(f.clock.Now().Add(15*time.Minute)) {
		t.Fatalf("hold = %+v", h)
	}
	wantBalance(t, f.balance(m), 40, 0, 60, 0)
	c, err := f.capture(h, 45)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != store.HoldCaptured || c.Captured != 45 || c.TransactionID == "" {
		t.Fatalf("captured hold = %+v", c)
	}
	wantBalance(t, f.balance(m), 55, 0, 0, 0)
	_, err = f.capture(h, 0)
	kind(t, err, failure.Conflict)
	_, err = f.release(h)
	kind(t, err, failure.Conflict)
	if f.balance(m).LifetimeSpent != 45 {
		t.Fatalf("lifetime spent = %d, want 45", f.balance(m).LifetimeSpent)
	}

	h2, err := f.hold(m, 20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.capture(h2, 21)
	kind(t, err, failure.Invalid)
	r, err := f.release(h2)
	if err != nil || r.Status != store.HoldReleased {
		t.Fatalf("release = %+v, %v", r, err)
	}
	_, err = f.capture(h2, 0)
	kind(t, err, failure.Conflict)
	wantBalance(t, f.balance(m), 55, 0, 0, 0)

	// A hold past its expiry cannot be captured; the job releases it.
	h3, err := f.hold(m, 10)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(16 * time.Minute)
	_, err = f.capture(h3, 0)
	kind(t, err, failure.Conflict)
	var released bool
	f.write(m, func(ctx context.Context, tx *store.Tx) (err error) {
		released, err = ledger.ExpireHold(ctx, tx, f.prog(), h3.ID, f.clock.Now())
		return err
	})
	if !released {
		t.Fatal("expired hold not released")
	}
	wantBalance(t, f.balance(m), 55, 0, 0, 0)
	f.verify()
}

func testReverseEarn(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	m := f.member()
	e1 := f.mustEarn(m, 100)
	r, err := f.reverse(e1.ID, 30)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != ledger.TypeReverse || r.Points != 30 || r.Reverses != null.String(e1.ID) {
		t.Fatalf("reverse = %+v", r)
	}
	wantBalance(t, f.balance(m), 70, 0, 0, 0)
	_, err = f.reverse(e1.ID, 71)
	kind(t, err, failure.LimitExceeded)
	// Spend most of it, then reverse the rest of the earn: 60 of the 70
	// left are gone, so 10 come from the lot and 60 become debt.
	if _, err := f.spend(m, 60); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reverse(e1.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, f.balance(m), 0, 0, 0, 60)
	_, err = f.reverse(e1.ID, 0)
	kind(t, err, failure.LimitExceeded)
	if got := f.balance(m).LifetimeEarned; got != 0 {
		t.Fatalf("lifetime earned = %d, want 0 after a whole reversal", got)
	}
	// The next earn repays the debt first.
	f.mustEarn(m, 25)
	wantBalance(t, f.balance(m), 0, 0, 0, 35)
	f.mustEarn(m, 50)
	wantBalance(t, f.balance(m), 15, 0, 0, 0)
	f.verify()

	// With negative_balance floor the clawback stops at zero.
	floor := ledger.Floor
	f.patch(program.Patch{NegativeBalance: &floor})
	m2 := f.member()
	e2 := f.mustEarn(m2, 40)
	if _, err := f.spend(m2, 30); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reverse(e2.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, f.balance(m2), 0, 0, 0, 0)
	f.verify()
}

func testReverseSpend(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	m := f.member()
	soon := f.clock.Now().Add(24 * time.Hour)
	later := f.clock.Now().Add(48 * time.Hour)
	if _, err := f.earn(ledger.EarnInput{MemberID: m, Points: 50, ExpiresAt: &soon}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.earn(ledger.EarnInput{MemberID: m, Points: 50, ExpiresAt: &later}); err != nil {
		t.Fatal(err)
	}
	sp, err := f.spend(m, 80)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.reverse(sp.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	moves, _ := f.db.Read().MovesOf(context.Background(), program.DefaultID, r.ID)
	if len(moves) != 1 || moves[0].Kind != store.MoveReturn || moves[0].Points != 20 {
		t.Fatalf("reverse moves = %+v, want 20 returned to the later lot", moves)
	}
	wantBalance(t, f.balance(m), 40, 0, 0, 0)
	_, err = f.reverse(sp.ID, 61)
	kind(t, err, failure.LimitExceeded)
	if _, err := f.reverse(sp.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, f.balance(m), 100, 0, 0, 0)
	if got := f.balance(m).LifetimeSpent; got != 0 {
		t.Fatalf("lifetime spent = %d, want 0", got)
	}

	// Capture reversal returns points to the hold's lots; a lot past its
	// expiry expires again at the next run.
	h, err := f.hold(m, 70)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.capture(h, 60)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Hour) // the soon lot is past its expiry
	if _, err := f.reverse(string(c.TransactionID), 0); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, f.balance(m), 100, 0, 0, 0)
	lots, points := f.expire(f.clock.Now())
	if lots != 1 || points != 50 {
		t.Fatalf("expired %d lots, %d points; want 1 lot of 50", lots, points)
	}
	wantBalance(t, f.balance(m), 50, 0, 0, 0)
	// Holds, releases and expiries cannot be reversed.
	_, err = f.reverse(h.HoldTxnID, 0)
	kind(t, err, failure.Conflict)
	_, err = f.reverse("txn_nothing", 0)
	kind(t, err, failure.NotFound)
	f.verify()
}

func testPending(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	m := f.member()
	at := f.clock.Now().Add(7 * 24 * time.Hour)
	e, err := f.earn(ledger.EarnInput{MemberID: m, Points: 80, AvailableAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != ledger.StatusPending {
		t.Fatalf("status = %s, want pending", e.Status)
	}
	wantBalance(t, f.balance(m), 0, 80, 0, 0)
	_, err = f.spend(m, 1)
	kind(t, err, failure.InsufficientPoints)
	// A partial refund claws from the pending points.
	if _, err := f.reverse(e.ID, 30); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, f.balance(m), 0, 50, 0, 0)
	if lots, _ := f.activate(f.clock.Now()); lots != 0 {
		t.Fatalf("activated %d lots before their time", lots)
	}
	f.clock.Set(at)
	lots, points := f.activate(f.clock.Now())
	if lots != 1 || points != 50 {
		t.Fatalf("activated %d lots, %d points; want 1, 50", lots, points)
	}
	wantBalance(t, f.balance(m), 50, 0, 0, 0)
	got, _ := f.db.Read().Txn(context.Background(), program.DefaultID, e.ID)
	if got.Status != ledger.StatusCompleted {
		t.Fatalf("earn status after activation = %s", got.Status)
	}
	f.verify()
}

func testExpiry(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	rolling := ledger.Policy{Kind: ledger.Rolling, Days: 30}
	f.patch(program.Patch{Expiry: &rolling})
	m := f.member()
	f.mustEarn(m, 100)
	f.clock.Advance(10 * 24 * time.Hour)
	f.mustEarn(m, 40)
	if _, err := f.spend(m, 30); err != nil { // from the older lot
		t.Fatal(err)
	}
	f.clock.Advance(20 * 24 * time.Hour) // the first lot's 30 days are up
	lots, points := f.expire(f.clock.Now())
	if lots != 1 || points != 70 {
		t.Fatalf("expired %d lots, %d points; want 1, 70", lots, points)
	}
	wantBalance(t, f.balance(m), 40, 0, 0, 0)
	if got := f.balance(m).LifetimeExpired; got != 70 {
		t.Fatalf("lifetime expired = %d", got)
	}
	// Lazy expiry: a spend never takes points past their expiry, even
	// before the job has run.
	f.clock.Advance(10 * 24 * time.Hour)
	_, err := f.spend(m, 1)
	kind(t, err, failure.InsufficientPoints)
	wantBalance(t, f.balance(m), 40, 0, 0, 0) // the failed spend changed nothing

	eoy := ledger.Policy{Kind: ledger.EndOfYear, Years: 0}
	f.patch(program.Patch{Expiry: &eoy})
	e := f.mustEarn(m, 5)
	lot, err := f.db.Read().LotOfTransaction(context.Background(), program.DefaultID, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if lot.ExpiresAt == nil || lot.ExpiresAt.Format(time.RFC3339) != "2026-12-31T15:59:59Z" {
		t.Fatalf("end-of-year lot expires %v, want 2026-12-31 23:59:59 Shanghai", lot.ExpiresAt)
	}
	f.verify()
}

func testFrozen(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	m := f.member()
	e := f.mustEarn(m, 10)
	h, err := f.hold(m, 5)
	if err != nil {
		t.Fatal(err)
	}
	f.setStatus(m, "frozen")
	_, err = f.earn(ledger.EarnInput{MemberID: m, Points: 1})
	kind(t, err, failure.Conflict)
	_, err = f.spend(m, 1)
	kind(t, err, failure.Conflict)
	_, err = f.capture(h, 0)
	kind(t, err, failure.Conflict)
	if _, err := f.release(h); err != nil { // giving points back is allowed
		t.Fatal(err)
	}
	if _, err := f.reverse(e.ID, 1); err != nil { // so is a refund's clawback
		t.Fatal(err)
	}
	f.setStatus(m, "active")
	if _, err := f.spend(m, 9); err != nil {
		t.Fatal(err)
	}
	f.verify()
}

func testIsolation(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	f.write("", func(ctx context.Context, tx *store.Tx) error {
		_, err := program.Create(ctx, tx, "other", "other", f.clock.Now())
		return err
	})
	m := f.member()
	e := f.mustEarn(m, 10)
	other, err := f.svc.Get(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.db.Read().Txn(ctx, "other", e.ID); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("other program reads the transaction: %v", err)
	}
	if _, err := f.db.Read().MemberByID(ctx, "other", m); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("other program reads the member: %v", err)
	}
	err = f.db.Write(ctx, m, func(ctx context.Context, tx *store.Tx) error {
		_, err := ledger.Earn(ctx, tx, other.Ledger(), ledger.EarnInput{MemberID: m, Points: 5, Now: f.clock.Now()})
		return err
	})
	kind(t, err, failure.NotFound)
	err = f.db.Write(ctx, m, func(ctx context.Context, tx *store.Tx) error {
		_, err := ledger.Reverse(ctx, tx, other.Ledger(), ledger.ReverseInput{TransactionID: e.ID, Now: f.clock.Now()})
		return err
	})
	kind(t, err, failure.NotFound)
	if bs, _ := f.db.Read().Balances(ctx, "other", m); len(bs) != 0 {
		t.Fatalf("other program sees balances %+v", bs)
	}
	wantBalance(t, f.balance(m), 10, 0, 0, 0)
}

// Many goroutines spend one member's points: never below zero, and exactly
// as many succeed as the balance allows.
func testConcurrentSpends(t *testing.T, b storetest.Backend) {
	f := newFixture(t, b)
	m := f.member()
	for i := 0; i < 5; i++ {
		f.mustEarn(m, 20) // 100 points in 5 lots
	}
	var ok, short atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.spend(m, 7)
			switch failure.KindOf(err) {
			case failure.Internal:
				if err == nil {
					ok.Add(1)
					return
				}
				t.Errorf("spend: %v", err)
			case failure.InsufficientPoints:
				short.Add(1)
			default:
				t.Errorf("spend: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 14 || short.Load() != 26 {
		t.Fatalf("%d spends succeeded and %d were refused; want 14 and 26", ok.Load(), short.Load())
	}
	wantBalance(t, f.balance(m), 2, 0, 0, 0)
	f.verify()
}
