package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// inOneBatch runs ops as one group-commit batch: a first operation holds
// the writer's only lane while the others queue behind it. It returns each
// operation's error, and fails the test when they did not share a batch.
func inOneBatch(t *testing.T, db *store.DB, ops ...store.Op) []error {
	t.Helper()
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	go db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	batches, _ := db.WriterStats()
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Write(ctx, "", op)
		}()
	}
	time.Sleep(200 * time.Millisecond) // every operation queued behind the first
	close(hold)
	wg.Wait()
	if after, _ := db.WriterStats(); after != batches+2 {
		t.Fatalf("%d transactions for the operations, want 1 (they did not share a batch)", after-batches-1)
	}
	return errs
}

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
		audit := func(id string) store.Op {
			return func(ctx context.Context, tx *store.Tx) error {
				return tx.InsertAudit(ctx, store.AuditEntry{ProgramID: "p1", ID: id, At: at, ActorKind: "key", ActorID: "k1",
					Action: "test", TargetType: "member", TargetID: "m1", Method: "POST", Route: "/v1/x", Status: 201, Summary: "{}"})
			}
		}
		var seen int
		boom := errors.New("boom")
		errs := inOneBatch(t, db,
			order("m1", 100, 2), order("m1", 50, 0), order("m2", 7, 1), audit("a1"), audit("a2"),
			// Reads the audit log inside the batch: the barrier writes
			// a1 and a2 (and this operation's a3) first.
			func(ctx context.Context, tx *store.Tx) error {
				if err := tx.InsertAudit(ctx, store.AuditEntry{ProgramID: "p1", ID: "a3", At: at, ActorKind: "key", ActorID: "k1",
					Action: "test", Method: "POST", Route: "/v1/x", Status: 201, Summary: "{}"}); err != nil {
					return err
				}
				es, _, err := tx.AuditEntries(ctx, "p1", store.AuditFilter{}, store.Page{Limit: 10})
				seen = len(es)
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
		if seen < 3 {
			t.Errorf("the reading operation saw %d audit entries, want a1, a2 and its own", seen)
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
