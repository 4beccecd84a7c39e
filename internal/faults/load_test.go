package faults_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The workload: earns, spends and events with unique Idempotency-Keys on a
// few members, and the record of what every request was answered. Each
// request, once applied, moves the member's available points by a known
// amount, and the members start with far more points than the spends can
// take, so every request must in the end succeed exactly once: the books
// are then fully determined by the list of requests, whatever was
// answered before a fault.

const (
	visitEvent = "fault.visit" // a custom event; the workload's rule awards it visitAward
	visitAward = 7
)

type op struct {
	Kind     string // earn, spend or event
	Member   string
	Delta    int64 // what it does to available once applied
	Key      string
	Path     string
	Body     []byte
	Attempts []answer // in order; appended under the workload's lock
}

// final is the first 2xx answer, or nil.
func (o *op) final() *answer {
	for i := range o.Attempts {
		if o.Attempts[i].ok() {
			return &o.Attempts[i]
		}
	}
	return nil
}

type workload struct {
	name      string
	members   []string
	start     map[string]int64           // available after setup
	setupTxns map[string]map[string]bool // member → transactions made by setup
	seq       atomic.Int64

	mu  sync.Mutex
	ops []*op
}

// setupWorkload makes the members (each with initial points) and the
// rule that awards visitAward per visit event.
func setupWorkload(t testing.TB, c *http.Client, base, name string, members int, initial int64) *workload {
	t.Helper()
	w := &workload{name: name, members: make([]string, members), start: map[string]int64{}, setupTxns: map[string]map[string]bool{}}
	must(t, c, "POST", base+"/v1/rules", map[string]any{"name": "visit", "event_type": visitEvent,
		"reward": map[string]any{"kind": "fixed", "points": visitAward}}, 201, nil)
	var mu sync.Mutex
	var fe firstErr
	parallel(members, 4, func(i int) {
		id, err := createMember(c, base, fmt.Sprintf("%s-%d", name, i))
		if err != nil {
			fe.set(err)
			return
		}
		txn, err := earn(c, base, id, map[string]any{"points": initial, "reason": "setup"})
		fe.set(err)
		mu.Lock()
		w.members[i], w.start[id], w.setupTxns[id] = id, initial, map[string]bool{txn: true}
		mu.Unlock()
	})
	fe.check(t)
	return w
}

// next makes a new request: 45 % earns, 35 % spends, 20 % events.
func (w *workload) next() *op {
	n := w.seq.Add(1)
	o := &op{Member: w.members[rand.IntN(len(w.members))], Key: fmt.Sprintf("%s-%d", w.name, n)}
	var body any
	switch r := rand.IntN(100); {
	case r < 45:
		o.Kind, o.Delta, o.Path = "earn", 1+rand.Int64N(100), "/v1/members/"+o.Member+"/points/earn"
		body = map[string]any{"points": o.Delta, "reference": o.Key}
	case r < 80:
		o.Kind, o.Delta, o.Path = "spend", -(1 + rand.Int64N(50)), "/v1/members/"+o.Member+"/points/spend"
		body = map[string]any{"points": -o.Delta, "reference": o.Key}
	default:
		o.Kind, o.Delta, o.Path = "event", visitAward, "/v1/events"
		body = map[string]any{"id": "evt-" + o.Key, "type": visitEvent, "member": o.Member}
	}
	o.Body, _ = json.Marshal(body)
	w.mu.Lock()
	w.ops = append(w.ops, o)
	w.mu.Unlock()
	return o
}

func (w *workload) send(c *http.Client, base string, o *op) answer {
	a := call(c, "POST", base+o.Path, o.Body, o.Key)
	w.mu.Lock()
	o.Attempts = append(o.Attempts, a)
	w.mu.Unlock()
	return a
}

// firstOK reports when the first request sent after at was answered 2xx.
// It may be called while workers run.
func (w *workload) firstOK(at time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, o := range w.ops {
		for _, a := range o.Attempts {
			if end := a.At.Add(a.Took); a.ok() && a.At.After(at) && (first.IsZero() || end.Before(first)) {
				first = end
			}
		}
	}
	return first, !first.IsZero()
}

// drive runs workers, each sending one request after another, until stop
// is set; wait returns when every worker has its last answer (or none).
// With retry, a worker answered 503 sends the same request again (same
// key) after a pause, as a client told Retry-After would.
func (w *workload) drive(c *http.Client, base func() string, workers int, stop *atomic.Bool, retry bool) (wait func()) {
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				o := w.next()
				for {
					a := w.send(c, base(), o)
					if !retry || a.Err != nil || a.Status != http.StatusServiceUnavailable || stop.Load() {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	return wg.Wait
}

// all returns every request made so far. Call it when no worker runs.
func (w *workload) all() []*op {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*op(nil), w.ops...)
}

// settleStats says what became of the requests that had no 2xx answer.
type settleStats struct {
	pending   int // requests without a 2xx answer before settling
	committed int // of those, applied before the fault: the resend replayed
	applied   int // of those, not applied before: the resend applied them
}

// settle sends every request that has no 2xx answer again, with its key,
// until it has one (a few tries, for a database that is just back). Each
// must then have been applied exactly once: either before the fault (the
// resend replays the stored answer) or now.
func (w *workload) settle(t testing.TB, c *http.Client, base string) settleStats {
	t.Helper()
	var st settleStats
	var todo []*op
	for _, o := range w.all() {
		if o.final() == nil {
			todo = append(todo, o)
		}
	}
	st.pending = len(todo)
	var mu sync.Mutex
	var fe firstErr
	parallel(len(todo), 8, func(i int) {
		o := todo[i]
		var a answer
		for try := 0; try < 20; try++ {
			if a = w.send(c, base, o); a.Err == nil && a.Status != http.StatusServiceUnavailable {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if !a.ok() {
			fe.set(fmt.Errorf("%s %s (key %s) sent again: %s, want 2xx", o.Kind, o.Member, o.Key, a))
			return
		}
		mu.Lock()
		if a.replayed() {
			st.committed++
		} else {
			st.applied++
		}
		mu.Unlock()
	})
	fe.check(t)
	return st
}

// txnsOf reads the ledger transactions a request's answer names, with the
// type and points each must have.
func (o *op) txnsOf(a *answer) ([]txnRow, error) {
	switch o.Kind {
	case "earn", "spend":
		var txn txnRow
		if err := json.Unmarshal(a.Body, &txn); err != nil || txn.ID == "" {
			return nil, fmt.Errorf("%s %s answered %s: no transaction", o.Kind, o.Key, a)
		}
		want := txnRow{ID: txn.ID, Type: o.Kind, MemberID: o.Member, Points: max(o.Delta, -o.Delta)}
		if txn != want {
			return nil, fmt.Errorf("%s %s answered transaction %+v, want %+v", o.Kind, o.Key, txn, want)
		}
		return []txnRow{txn}, nil
	default:
		var res struct {
			MemberID string `json:"member_id"`
			Awards   []struct {
				TransactionID string `json:"transaction_id"`
				Points        int64  `json:"points"`
				Currency      string `json:"currency"`
			} `json:"awards"`
		}
		if err := json.Unmarshal(a.Body, &res); err != nil {
			return nil, fmt.Errorf("event %s answered %s: %v", o.Key, a, err)
		}
		if res.MemberID != o.Member || len(res.Awards) != 1 || res.Awards[0].Points != visitAward ||
			res.Awards[0].Currency != "points" || res.Awards[0].TransactionID == "" {
			return nil, fmt.Errorf("event %s for %s answered %s, want one award of %d points", o.Key, o.Member, a.Body, visitAward)
		}
		return []txnRow{{ID: res.Awards[0].TransactionID, Type: "earn", MemberID: o.Member, Points: visitAward}}, nil
	}
}

// checkBooks checks, once every request has its 2xx answer, that each
// member's ledger holds exactly the transactions of setup and of those
// answers — none missing (a lost write), none extra (a request applied
// twice, or a half-applied one) — and that each balance is the sum of the
// requests' amounts.
func (w *workload) checkBooks(t testing.TB, c *http.Client, base string) {
	t.Helper()
	want := map[string]map[string]txnRow{} // member → transaction → row
	sum := map[string]int64{}
	for _, m := range w.members {
		want[m] = map[string]txnRow{}
		for id := range w.setupTxns[m] {
			want[m][id] = txnRow{ID: id, Type: "earn", MemberID: m, Points: w.start[m]}
		}
		sum[m] = w.start[m]
	}
	var errs []string
	for _, o := range w.all() {
		a := o.final()
		if a == nil {
			errs = append(errs, fmt.Sprintf("%s %s (key %s) has no 2xx answer", o.Kind, o.Member, o.Key))
			continue
		}
		txns, err := o.txnsOf(a)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, txn := range txns {
			if _, dup := want[o.Member][txn.ID]; dup {
				errs = append(errs, fmt.Sprintf("transaction %s answered to two requests", txn.ID))
			}
			want[o.Member][txn.ID] = txn
		}
		sum[o.Member] += o.Delta
	}
	for _, m := range w.members {
		got, _ := transactions(t, c, base, m, "")
		seen := map[string]bool{}
		for _, txn := range got {
			seen[txn.ID] = true
			wt, ok := want[m][txn.ID]
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("member %s: transaction %+v is in the ledger but no answered request made it (applied twice or half applied?)", m, txn))
			case wt != txn:
				errs = append(errs, fmt.Sprintf("member %s: ledger has %+v, the answer said %+v", m, txn, wt))
			}
		}
		for id, wt := range want[m] {
			if !seen[id] {
				errs = append(errs, fmt.Sprintf("member %s: transaction %+v was answered 2xx but is not in the ledger (lost write)", m, wt))
			}
		}
		b, a := getBalance(c, base, m)
		if !a.ok() {
			t.Fatalf("balance of %s: %s", m, a)
		}
		if b.Available != sum[m] || b.Pending != 0 || b.Held != 0 || b.Debt != 0 {
			errs = append(errs, fmt.Sprintf("member %s: balance %+v, want available %d (start %d and every request once)", m, b, sum[m], w.start[m]))
		}
	}
	if len(errs) > 0 {
		if len(errs) > 20 {
			errs = append(errs[:20], fmt.Sprintf("… and %d more", len(errs)-20))
		}
		t.Fatalf("the books disagree with the answers:\n%s", strings.Join(errs, "\n"))
	}
}

// snapshot is every member's balance and transaction list as the API
// returns them, and the books check, byte for byte.
func (w *workload) snapshot(t testing.TB, c *http.Client, base string) map[string][]byte {
	t.Helper()
	s := map[string][]byte{"books": booksOK(t, c, base)}
	for _, m := range w.members {
		_, raw := transactions(t, c, base, m, "")
		a := must(t, c, "GET", base+"/v1/members/"+m+"/balance", nil, 200, nil)
		s[m] = append(a.Body, raw...)
	}
	return s
}

// replayAll sends every request of the run again with its key: each must
// be answered with its first 2xx answer, marked replayed, and the books
// must not change at all.
func (w *workload) replayAll(t testing.TB, c *http.Client, base string) int {
	t.Helper()
	before := w.snapshot(t, c, base)
	ops := w.all()
	var fe firstErr
	parallel(len(ops), 8, func(i int) {
		o := ops[i]
		first := o.final()
		a := call(c, "POST", base+o.Path, o.Body, o.Key)
		if first == nil || !a.ok() || !a.replayed() || a.Status != first.Status || !bytes.Equal(a.Body, first.Body) {
			fe.set(fmt.Errorf("%s %s (key %s) replayed: %s (Idempotent-Replayed %q), first answer %v",
				o.Kind, o.Member, o.Key, a, a.Header.Get("Idempotent-Replayed"), first))
		}
	})
	fe.check(t)
	after := w.snapshot(t, c, base)
	for k, b := range before {
		if !bytes.Equal(b, after[k]) {
			t.Fatalf("replaying %d requests changed the books of %s:\nbefore %s\nafter  %s", len(ops), k, b, after[k])
		}
	}
	return len(ops)
}
