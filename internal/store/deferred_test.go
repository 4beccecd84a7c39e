package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// The rows a batch writes last (deferred.go) are all there after its
// commit, summed per row; a statement of the batch that names their table
// sees every earlier operation's; an operation that fails after such a
// statement takes its own rows back and no one else's.
func TestDeferredRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := storetest.Open(t, b, store.Options{Lanes: 1})
		ctx := context.Background()
		at := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
		order := func(member string, amount int64, day int) store.Op {
			return func(ctx context.Context, tx *store.Tx) error {
				ot := at.AddDate(0, 0, day)
				return tx.AddStats(ctx, "p1", member, store.StatsDelta{Orders: 1, Spend: amount, OrderAt: &ot, ActivityAt: ot})
			}
		}
		// The operations run in the order they were queued, one after
		// another on the lane: ran counts the audit entries written
		// before the reading operation (in its run: it resets it).
		ran := 0
		audit := func(id string) store.Op {
			return func(ctx context.Context, tx *store.Tx) error {
				ran++
				return tx.InsertAudit(ctx, store.AuditEntry{ProgramID: "p1", ID: id, At: at, ActorKind: "key", ActorID: "k1",
					Action: "test", TargetType: "member", TargetID: "m1", Method: "POST", Route: "/v1/x", Status: 201, Summary: "{}"})
			}
		}
		var seen, want int
		boom := errors.New("boom")
		errs := storetest.InOneBatch(t, db,
			order("m1", 100, 2), order("m1", 50, 0), order("m2", 7, 1), audit("a1"), audit("a2"),
			// Reads the audit log inside the batch: the barrier writes
			// a1 and a2 (and this operation's a3) first.
			func(ctx context.Context, tx *store.Tx) error {
				if err := tx.InsertAudit(ctx, store.AuditEntry{ProgramID: "p1", ID: "a3", At: at, ActorKind: "key", ActorID: "k1",
					Action: "test", Method: "POST", Route: "/v1/x", Status: 201, Summary: "{}"}); err != nil {
					return err
				}
				es, _, err := tx.AuditEntries(ctx, "p1", store.AuditFilter{}, store.Page{Limit: 10})
				seen, want, ran = len(es), ran+1, 0
				if err != nil {
					return err
				}
				return boom // and fails: a3 goes, a1 and a2 stay
			},
			audit("a4"), order("m1", 1, 5),
		)
		for i, err := range errs {
			if i == 5 {
				if !errors.Is(err, boom) {
					t.Fatalf("the failing operation: %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("operation %d: %v", i, err)
			}
		}
		if seen != want || want < 1 {
			t.Errorf("the reading operation saw %d audit entries, want %d: the earlier operations' and its own", seen, want)
		}
		es, _, err := db.Read().AuditEntries(ctx, "p1", store.AuditFilter{}, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, e := range es {
			ids[e.ID] = true
		}
		if fmt.Sprint(ids) != fmt.Sprint(map[string]bool{"a1": true, "a2": true, "a4": true}) {
			t.Errorf("audit entries %v, want a1, a2 and a4", ids)
		}
		st, err := db.Read().StatsOf(ctx, "p1", "m1")
		if err != nil {
			t.Fatal(err)
		}
		if st.Orders != 3 || st.Spend != 151 || !st.FirstOrderAt.Equal(at) || !st.LastOrderAt.Equal(at.AddDate(0, 0, 5)) ||
			!st.LastActivityAt.Equal(at.AddDate(0, 0, 5)) {
			t.Errorf("m1's statistics %+v: want 3 orders, 151 spent, first %v, last %v", st, at, at.AddDate(0, 0, 5))
		}
		if st, _ := db.Read().StatsOf(ctx, "p1", "m2"); st.Orders != 1 || st.Spend != 7 {
			t.Errorf("m2's statistics %+v", st)
		}
	})
}

// A batch runs without savepoints until one of its operations fails; then
// nothing of it is committed and it runs again with them, so the failing
// operation fails alone; the lane keeps savepoints for the next batches.
func TestOptimisticBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := storetest.Open(t, b, store.Options{Lanes: 1})
		ctx := context.Background()
		at := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
		boom := errors.New("boom")
		score := func(member string, fail bool) store.Op {
			return func(ctx context.Context, tx *store.Tx) error {
				if err := tx.AddCategoryAmounts(ctx, "p1", member, map[string]float64{"x": 1}, at); err != nil {
					return err
				}
				if fail {
					return boom // after its write
				}
				return nil
			}
		}
		check := func(errs []error, failing int, members ...string) {
			t.Helper()
			for i, err := range errs {
				if (i == failing) != errors.Is(err, boom) || (i != failing && err != nil) {
					t.Fatalf("operation %d: %v", i, err)
				}
			}
			for i, m := range members {
				cs, err := db.Read().Categories(ctx, "p1", m)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]int{true: 0, false: 1}[i == failing]; len(cs) != want {
					t.Errorf("%s has %d category scores, want %d", m, len(cs), want)
				}
			}
		}
		reruns := db.WriterReruns()
		errs := storetest.InOneBatch(t, db, score("a0", false), score("a1", false), score("a2", false))
		check(errs, -1, "a0", "a1", "a2")
		if n := db.WriterReruns() - reruns; n != 0 {
			t.Fatalf("%d reruns of a batch that failed nothing", n)
		}
		errs = storetest.InOneBatch(t, db, score("b0", false), score("b1", true), score("b2", false))
		check(errs, 1, "b0", "b1", "b2")
		if n := db.WriterReruns() - reruns; n != 1 {
			t.Fatalf("%d reruns of a batch with a failing operation, want 1", n)
		}
		// The lane now runs with savepoints: a failure costs no rerun.
		errs = storetest.InOneBatch(t, db, score("c0", true), score("c1", false))
		check(errs, 0, "c0", "c1")
		if n := db.WriterReruns() - reruns; n != 1 {
			t.Fatalf("%d reruns, want still 1 (the lane keeps its savepoints)", n)
		}
	})
}

// Activity of several days in one batch, a member marked twice on a day:
// each day counts its members once, at the programme and the merchant.
func TestDeferredActivityDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := storetest.Open(t, b, store.Options{Lanes: 1})
		ctx := context.Background()
		d1 := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
		d2 := d1.AddDate(0, 0, 70) // another word of the year's bitmap
		mark := func(at time.Time, acts ...store.Active) store.Op {
			return func(ctx context.Context, tx *store.Tx) error {
				return tx.MarkActive(ctx, "p1", time.UTC, at, acts...)
			}
		}
		errs := storetest.InOneBatch(t, db,
			mark(d1, store.Active{MemberID: "m1", MerchantID: "s1"}),
			mark(d2, store.Active{MemberID: "m1", MerchantID: "s1"}, store.Active{MemberID: "m2"}),
			mark(d1, store.Active{MemberID: "m1", MerchantID: "s1"}, store.Active{MemberID: "m3", MerchantID: "s2"}),
		)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("operation %d: %v", i, err)
			}
		}
		day := func(at time.Time) (time.Time, time.Time) {
			from := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
			return from, from.AddDate(0, 0, 1)
		}
		for _, c := range []struct {
			at       time.Time
			merchant string
			want     int64
		}{{d1, "", 2}, {d1, "s1", 1}, {d1, "s2", 1}, {d2, "", 2}, {d2, "s1", 1}, {d2, "s2", 0}} {
			from, to := day(c.at)
			n, err := db.Read().ActiveMembers(ctx, "p1", c.merchant, time.UTC, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if n != c.want {
				t.Errorf("%s at %q: %d active, want %d", from.Format(time.DateOnly), c.merchant, n, c.want)
			}
			// The day's counter (activity_days) agrees with the bitmaps.
			byDay, err := db.Read().ActiveByDay(ctx, "p1", c.merchant, time.UTC, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if got := byDay[from.Format(time.DateOnly)]; got != c.want {
				t.Errorf("%s at %q: the day's counter says %d, want %d", from.Format(time.DateOnly), c.merchant, got, c.want)
			}
		}
	})
}
