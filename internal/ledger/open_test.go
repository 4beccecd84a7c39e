package ledger_test

import (
	"context"
	"testing"

	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Opening balances loaded in bulk are earns like any other: the books
// verify, the balances read, and the points spend.
func TestOpen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		var ms []store.NewMember
		var ops []ledger.Opening
		for i := range 450 { // more than one chunk of each multi-row insert
			ms = append(ms, store.NewMember{ID: id.New("mem"), ExternalID: id.New("ext"), ReferralCode: id.Secret(8)})
			ops = append(ops, ledger.Opening{MemberID: ms[i].ID, Points: int64(100 + i)})
		}
		f.write("seed", func(ctx context.Context, tx *store.Tx) error {
			if err := tx.InsertMembers(ctx, program.DefaultID, ms, f.clock.Now()); err != nil {
				return err
			}
			return ledger.Open(ctx, tx, f.prog(), ops, "import", f.clock.Now())
		})
		f.verify()
		if got := f.balance(ms[449].ID); got.Available != 549 || got.LifetimeEarned != 549 {
			t.Fatalf("balance %+v", got)
		}
		f.write(ms[0].ID, func(ctx context.Context, tx *store.Tx) error {
			_, err := ledger.Spend(ctx, tx, f.prog(), ledger.SpendInput{MemberID: ms[0].ID, Points: 100, Now: f.clock.Now()})
			return err
		})
		if got := f.balance(ms[0].ID); got.Available != 0 {
			t.Fatalf("after spending the opening: %+v", got)
		}
		f.verify()
		// A second opening for a member that has a balance fails, whole.
		err := f.db.Write(context.Background(), "seed", func(ctx context.Context, tx *store.Tx) error {
			return ledger.Open(ctx, tx, f.prog(), ops[:1], "again", f.clock.Now())
		})
		if err == nil {
			t.Fatal("a second opening was accepted")
		}
		f.verify()
	})
}

// EarnEach credits many members in one write: each its own earn, on top
// of what they had; a member twice, or one that may not earn, fails the
// whole write.
func TestEarnEach(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		var ms []store.NewMember
		var ops []ledger.Opening
		var earns []ledger.EarnInput
		for i := range 450 { // more than one chunk
			ms = append(ms, store.NewMember{ID: id.New("mem"), ExternalID: id.New("ext"), ReferralCode: id.Secret(8)})
			ops = append(ops, ledger.Opening{MemberID: ms[i].ID, Points: 100})
			earns = append(earns, ledger.EarnInput{MemberID: ms[i].ID, Points: int64(1 + i), Now: f.clock.Now()})
		}
		f.write("seed", func(ctx context.Context, tx *store.Tx) error {
			if err := tx.InsertMembers(ctx, program.DefaultID, ms, f.clock.Now()); err != nil {
				return err
			}
			if err := ledger.Open(ctx, tx, f.prog(), ops[:10], "import", f.clock.Now()); err != nil {
				return err
			}
			ts, err := ledger.EarnEach(ctx, tx, f.prog(), earns, f.clock.Now())
			if err == nil && (len(ts) != 450 || ts[7].MemberID != ms[7].ID || ts[7].Points != 8) {
				t.Errorf("transactions out of order: %+v", ts[7])
			}
			return err
		})
		f.verify()
		if got := f.balance(ms[3].ID); got.Available != 104 {
			t.Fatalf("an opened member after EarnEach: %+v", got)
		}
		if got := f.balance(ms[20].ID); got.Available != 21 {
			t.Fatalf("a new member after EarnEach: %+v", got)
		}
		for _, bad := range [][]ledger.EarnInput{{earns[0], earns[1], earns[0]}} {
			err := f.db.Write(context.Background(), "x", func(ctx context.Context, tx *store.Tx) error {
				_, err := ledger.EarnEach(ctx, tx, f.prog(), bad, f.clock.Now())
				return err
			})
			if err == nil {
				t.Fatal("a member twice was accepted")
			}
		}
		if got := f.balance(ms[0].ID); got.Available != 101 {
			t.Fatalf("a refused EarnEach changed a balance: %+v", got)
		}
		f.verify()
	})
}
