package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// fixture is a fresh database with program "default" and a fake clock.
type fixture struct {
	t     testing.TB
	db    *store.DB
	clock *clock.Fake
	svc   *program.Service
}

func newFixture(t testing.TB, b storetest.Backend) *fixture {
	t.Helper()
	db := storetest.Open(t, b, store.Options{})
	f := &fixture{t: t, db: db, clock: clock.NewFake(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)), svc: program.NewService(db, clock.System{}, 0)}
	f.write("", func(ctx context.Context, tx *store.Tx) error {
		_, err := program.Create(ctx, tx, program.DefaultID, "default", f.clock.Now())
		return err
	})
	return f
}

// prog returns the program's ledger settings as stored now.
func (f *fixture) prog() ledger.Program {
	f.t.Helper()
	p, err := f.svc.Get(context.Background(), program.DefaultID)
	if err != nil {
		f.t.Fatalf("program: %v", err)
	}
	return p.Ledger()
}

func (f *fixture) patch(pt program.Patch) {
	f.t.Helper()
	f.write("", func(ctx context.Context, tx *store.Tx) error {
		_, err := f.svc.Update(ctx, tx, auth.System(program.DefaultID), pt)
		return err
	})
	f.svc.Forget(program.DefaultID)
}

// write runs op in a write transaction and fails the test on error.
func (f *fixture) write(key string, op store.Op) {
	f.t.Helper()
	if err := f.db.Write(context.Background(), key, op); err != nil {
		f.t.Fatalf("write: %v", err)
	}
}

func (f *fixture) member() string {
	f.t.Helper()
	m := store.Member{
		ID: id.New("mem"), ProgramID: program.DefaultID, Gender: "unknown", Status: "active",
		ReferralCode: id.Secret(8), CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(),
	}
	f.write(m.ID, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.InsertMember(ctx, m)
		return err
	})
	return m.ID
}

func (f *fixture) setStatus(memberID, status string) {
	f.t.Helper()
	f.write(memberID, func(ctx context.Context, tx *store.Tx) error {
		return tx.SetMemberStatus(ctx, program.DefaultID, memberID, status, f.clock.Now())
	})
}

func (f *fixture) earn(in ledger.EarnInput) (ledger.Txn, error) {
	var out ledger.Txn
	if in.Now.IsZero() {
		in.Now = f.clock.Now()
	}
	err := f.db.Write(context.Background(), in.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
		out, err = ledger.Earn(ctx, tx, f.prog(), in)
		return err
	})
	return out, err
}

func (f *fixture) mustEarn(memberID string, points int64) ledger.Txn {
	f.t.Helper()
	t, err := f.earn(ledger.EarnInput{MemberID: memberID, Points: points})
	if err != nil {
		f.t.Fatalf("earn %d: %v", points, err)
	}
	return t
}

func (f *fixture) spend(memberID string, points int64) (ledger.Txn, error) {
	var out ledger.Txn
	err := f.db.Write(context.Background(), memberID, func(ctx context.Context, tx *store.Tx) (err error) {
		out, err = ledger.Spend(ctx, tx, f.prog(), ledger.SpendInput{MemberID: memberID, Points: points, Now: f.clock.Now()})
		return err
	})
	return out, err
}

func (f *fixture) hold(memberID string, points int64) (ledger.Hold, error) {
	var out ledger.Hold
	err := f.db.Write(context.Background(), memberID, func(ctx context.Context, tx *store.Tx) (err error) {
		out, err = ledger.PlaceHold(ctx, tx, f.prog(), ledger.HoldInput{MemberID: memberID, Points: points, Now: f.clock.Now()})
		return err
	})
	return out, err
}

func (f *fixture) capture(h ledger.Hold, points int64) (ledger.Hold, error) {
	var out ledger.Hold
	err := f.db.Write(context.Background(), h.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
		out, err = ledger.Capture(ctx, tx, f.prog(), h.ID, points, f.clock.Now())
		return err
	})
	return out, err
}

func (f *fixture) release(h ledger.Hold) (ledger.Hold, error) {
	var out ledger.Hold
	err := f.db.Write(context.Background(), h.MemberID, func(ctx context.Context, tx *store.Tx) (err error) {
		out, err = ledger.Release(ctx, tx, f.prog(), h.ID, f.clock.Now())
		return err
	})
	return out, err
}

func (f *fixture) reverse(txnID string, points int64) (ledger.Txn, error) {
	var out ledger.Txn
	err := f.db.Write(context.Background(), txnID, func(ctx context.Context, tx *store.Tx) (err error) {
		out, err = ledger.Reverse(ctx, tx, f.prog(), ledger.ReverseInput{TransactionID: txnID, Points: points, Now: f.clock.Now()})
		return err
	})
	return out, err
}

// expire runs the expiry for every member with due lots, as the job does.
func (f *fixture) expire(asOf time.Time) (lots, points int64) {
	f.t.Helper()
	due, err := f.db.Read().LotsDue(context.Background(), program.DefaultID, asOf, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mc := range due {
		f.write(mc.MemberID, func(ctx context.Context, tx *store.Tx) error {
			l, p, err := ledger.ExpireDue(ctx, tx, f.prog(), mc.MemberID, mc.Currency, asOf)
			lots, points = lots+l, points+p
			return err
		})
	}
	return lots, points
}

func (f *fixture) activate(asOf time.Time) (lots, points int64) {
	f.t.Helper()
	due, err := f.db.Read().PendingDue(context.Background(), program.DefaultID, asOf, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mc := range due {
		f.write(mc.MemberID, func(ctx context.Context, tx *store.Tx) error {
			l, p, err := ledger.ActivateDue(ctx, tx, f.prog(), mc.MemberID, mc.Currency, asOf)
			lots, points = lots+l, points+p
			return err
		})
	}
	return lots, points
}

func (f *fixture) balance(memberID string) ledger.Balance {
	f.t.Helper()
	bs, err := f.db.Read().Balances(context.Background(), program.DefaultID, memberID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == ledger.Points {
			return ledger.Balance(b)
		}
	}
	return ledger.Balance{MemberID: memberID, Currency: ledger.Points}
}

// verify fails the test when an invariant of the books does not hold.
func (f *fixture) verify() {
	f.t.Helper()
	checks, err := f.db.Read().Verify(context.Background(), program.DefaultID)
	if err != nil {
		f.t.Fatalf("verify: %v", err)
	}
	for _, c := range checks {
		if !c.OK {
			f.t.Fatalf("verify %s: %s", c.Name, c.Detail)
		}
	}
}

func wantBalance(t testing.TB, got ledger.Balance, available, pending, held, debt int64) {
	t.Helper()
	if got.Available != available || got.Pending != pending || got.Held != held || got.Debt != debt {
		t.Fatalf("balance available/pending/held/debt = %d/%d/%d/%d, want %d/%d/%d/%d",
			got.Available, got.Pending, got.Held, got.Debt, available, pending, held, debt)
	}
}
