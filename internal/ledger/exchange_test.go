package ledger_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// addCurrency adds a spendable currency whose points never expire.
func (f *fixture) addCurrency(code string) {
	f.t.Helper()
	never, _ := json.Marshal(ledger.Policy{Kind: ledger.Never})
	f.write("", func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.InsertCurrency(ctx, program.DefaultID, store.Currency{Code: code, Name: code, Spendable: true,
			Expiry: never, CreatedAt: f.clock.Now()})
		return err
	})
}

func (f *fixture) balanceIn(memberID, currency string) ledger.Balance {
	f.t.Helper()
	bs, err := f.db.Read().Balances(context.Background(), program.DefaultID, memberID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == currency {
			return ledger.Balance(b)
		}
	}
	return ledger.Balance{MemberID: memberID, Currency: currency}
}

func (f *fixture) exchange(memberID, from, to string, points, received int64) (ledger.Txn, error) {
	var out ledger.Txn
	err := f.db.Write(context.Background(), memberID, func(ctx context.Context, tx *store.Tx) (err error) {
		out, err = ledger.Exchange(ctx, tx, f.prog(), ledger.ExchangeInput{MemberID: memberID, From: from, To: to,
			Points: points, Received: received, Now: f.clock.Now()})
		return err
	})
	return out, err
}

func TestExchangeLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		f.addCurrency("stars")
		m := f.member()
		f.mustEarn(m, 100)

		x, err := f.exchange(m, ledger.Points, "stars", 30, 60)
		if err != nil {
			t.Fatal(err)
		}
		wantBalance(t, f.balance(m), 70, 0, 0, 0)
		wantBalance(t, f.balanceIn(m, "stars"), 60, 0, 0, 0)
		if x.Type != ledger.TypeExchange || x.Currency != ledger.Points || x.Points != 30 {
			t.Fatalf("exchange txn %+v", x)
		}

		// Refused: not spendable, unknown, the same, too many.
		for _, c := range []struct {
			from, to string
			points   int64
			kind     failure.Kind
		}{
			{ledger.Growth, "stars", 1, failure.Invalid},
			{ledger.Points, "nope", 1, failure.Invalid},
			{ledger.Points, ledger.Points, 1, failure.Invalid},
			{ledger.Points, "stars", 71, failure.InsufficientPoints},
		} {
			if _, err := f.exchange(m, c.from, c.to, c.points, 1); failure.KindOf(err) != c.kind {
				t.Errorf("%s→%s %d: %v, want %v", c.from, c.to, c.points, err, c.kind)
			}
		}
		wantBalance(t, f.balance(m), 70, 0, 0, 0)

		// Whole reversal only; then the points are back and the stars gone.
		if _, err := f.reverse(x.ID, 10); failure.KindOf(err) != failure.Invalid {
			t.Fatalf("partial reversal: %v", err)
		}
		if _, err := f.reverse(x.ID, 0); err != nil {
			t.Fatal(err)
		}
		wantBalance(t, f.balance(m), 100, 0, 0, 0)
		wantBalance(t, f.balanceIn(m, "stars"), 0, 0, 0, 0)
		if _, err := f.reverse(x.ID, 0); failure.KindOf(err) != failure.LimitExceeded {
			t.Fatalf("second reversal: %v", err)
		}
		f.verify()

		// Received points repay a debt in the target currency first, and
		// the exchange can then no longer be reversed.
		d := f.member()
		f.mustEarn(d, 50)
		st, err := f.earn(ledger.EarnInput{MemberID: d, Points: 5, Currency: "stars"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.exchange(d, "stars", ledger.Points, 5, 5); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reverse(st.ID, 0); err != nil { // the stars are gone: a debt of 5
			t.Fatal(err)
		}
		wantBalance(t, f.balanceIn(d, "stars"), 0, 0, 0, 5)
		y, err := f.exchange(d, ledger.Points, "stars", 20, 8)
		if err != nil {
			t.Fatal(err)
		}
		wantBalance(t, f.balanceIn(d, "stars"), 3, 0, 0, 0)
		if _, err := f.reverse(y.ID, 0); failure.KindOf(err) != failure.InsufficientPoints {
			t.Fatalf("reversing an exchange whose points repaid a debt: %v", err)
		}
		f.verify()
	})
}
