package ingest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ingest"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// EnvNATS names the variable that holds the NATS server (JetStream on) the
// tests use; without it they skip.
const EnvNATS = "JIFEN_TEST_NATS"

// harness is one backend's fresh database with program "default", a rule
// that earns 1 point per 100 fen of an order, and members; and a stream,
// subjects and durable consumer of its own on the NATS server.
type harness struct {
	t       *testing.T
	db      *store.DB
	url     string // the --ingest value, names included
	names   ingest.Names
	js      jetstream.JetStream
	book    *rulebook.Book
	app     *app.App
	clock   *clock.Fake
	members []string
}

func newHarness(t *testing.T, b storetest.Backend, members int) *harness {
	t.Helper()
	server := os.Getenv(EnvNATS)
	if server == "" {
		t.Skip("NATS tests skipped: set JIFEN_TEST_NATS=nats://127.0.0.1:4222 (a nats-server with -js) to run them")
	}
	return newHarnessAt(t, b, server, members)
}

// newHarnessAt is newHarness on the NATS server at server.
func newHarnessAt(t *testing.T, b storetest.Backend, server string, members int) *harness {
	t.Helper()
	h := &harness{t: t, db: storetest.Open(t, b, store.Options{}), clock: clock.NewFake(time.Now())}
	h.app = app.New(app.Config{DB: h.db, Clock: h.clock, CacheTTL: time.Minute})
	h.book = h.app.Rules
	run := id.Secret(8)
	h.names = ingest.Names{Stream: "JIFEN_TEST_" + strings.ToUpper(run), Prefix: "jifentest." + run, Consumer: "jifen"}
	h.url = fmt.Sprintf("%s?stream=%s&prefix=%s&consumer=%s", server, h.names.Stream, h.names.Prefix, h.names.Consumer)

	ctx := context.Background()
	err := h.db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		now := h.clock.Now()
		if _, err := program.Create(ctx, tx, program.DefaultID, program.DefaultID, now); err != nil {
			return err
		}
		_, err := h.book.Create(ctx, tx, auth.System(program.DefaultID), rulebook.FromDef(rules.Def{Name: "1 per yuan",
			EventType: events.OrderPaid, Status: rules.Active, Reward: rules.Reward{Kind: rules.PerAmount, Per: 100, Points: 1}}))
		return err
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	// The members in a transaction of their own: an operation reads the
	// programme's settings as committed.
	err = h.db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		for i := 0; i < members; i++ {
			ext := fmt.Sprintf("m%d", i)
			m, err := h.app.Members.Create(ctx, tx, auth.System(program.DefaultID), member.Input{ExternalID: &ext})
			if err != nil {
				return err
			}
			h.members = append(h.members, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}

	nc, err := nats.Connect(server, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // the publisher's errors show in its futures
	if err != nil {
		t.Fatalf("connect %s: %v", server, err)
	}
	if h.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	// The consumer makes the stream; the harness makes it first so that it
	// can publish before a consumer starts.
	if _, err := ingest.EnsureStream(ctx, h.js, h.names); err != nil {
		t.Fatalf("stream: %v", err)
	}
	t.Cleanup(func() {
		if err := h.js.DeleteStream(context.Background(), h.names.Stream); err != nil {
			t.Logf("delete stream %s: %v", h.names.Stream, err)
		}
		nc.Close()
	})
	return h
}

// consumer is one running ingest.Consumer and its metrics.
type consumer struct {
	reg  *prometheus.Registry
	stop func()
}

// start runs a consumer on the harness's durable until stop (or the test's
// end).
func (h *harness) start(tune func(*ingest.Config)) *consumer {
	h.t.Helper()
	reg := prometheus.NewRegistry()
	cfg := ingest.Config{URL: h.url, DB: h.db, Programs: h.app.Programs, Events: h.app.Events,
		Clock: h.clock, Registry: reg, RetryDelay: 10 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	c, err := ingest.New(context.Background(), cfg)
	if err != nil {
		h.t.Fatalf("ingest.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				h.t.Error("consumer did not stop within 30s")
			}
			if err := c.Close(); err != nil {
				h.t.Errorf("close: %v", err)
			}
		})
	}
	h.t.Cleanup(stop)
	return &consumer{reg: reg, stop: stop}
}

// count reads jifen_ingest_messages_total{result}.
func (c *consumer) count(result string) int {
	mfs, err := c.reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != "jifen_ingest_messages_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

// publish sends bodies to a program's subject and waits for the stream to
// have them all.
func (h *harness) publish(programID string, bodies ...string) {
	h.t.Helper()
	for _, b := range bodies {
		if _, err := h.js.PublishAsync(h.names.Subject(programID), []byte(b)); err != nil {
			h.t.Fatalf("publish %s: %v", b, err)
		}
	}
	select {
	case <-h.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		h.t.Fatalf("%d publishes not acknowledged within 30s", h.js.PublishAsyncPending())
	}
}

func order(eventID, member string, amount int64) string {
	return fmt.Sprintf(`{"id":%q,"type":"order.paid","member":%q,"data":{"order_id":"o-%s","amount":%d}}`, eventID, member, eventID, amount)
}

// orders are n order events spread over the members; want is what each
// member earns from them.
func (h *harness) orders(prefix string, n int) (bodies []string, want map[string]int64) {
	want = map[string]int64{}
	for i := 0; i < n; i++ {
		m := h.members[i%len(h.members)]
		amount := int64(100 * (1 + i%37))
		bodies = append(bodies, order(fmt.Sprintf("%s-%d", prefix, i), m, amount))
		want[m] += amount / 100
	}
	return bodies, want
}

func (h *harness) balance(memberID string) int64 {
	h.t.Helper()
	b, err := h.db.Read().Balance(context.Background(), program.DefaultID, memberID, "points")
	if err != nil {
		h.t.Fatalf("balance %s: %v", memberID, err)
	}
	return b.Available
}

func (h *harness) wantBalances(want map[string]int64) {
	h.t.Helper()
	for _, m := range h.members {
		if got := h.balance(m); got != want[m] {
			h.t.Errorf("member %s: balance %d, want %d", m, got, want[m])
		}
	}
}

func (h *harness) stored(eventID string) bool {
	h.t.Helper()
	_, ok, err := h.db.Read().EventResult(context.Background(), program.DefaultID, eventID)
	if err != nil {
		h.t.Fatalf("event %s: %v", eventID, err)
	}
	return ok
}

// drained waits until the durable has nothing pending and nothing unacked.
func (h *harness) drained(within time.Duration) {
	h.t.Helper()
	var state string
	eventually(h.t, within, "consumer drained", func() bool {
		info, err := h.js.Consumer(context.Background(), h.names.Stream, h.names.Consumer)
		if err != nil {
			state = err.Error()
			return false
		}
		ci := info.CachedInfo()
		state = fmt.Sprintf("pending %d, unacked %d, redelivered %d", ci.NumPending, ci.NumAckPending, ci.NumRedelivered)
		return ci.NumPending == 0 && ci.NumAckPending == 0 && ci.NumRedelivered == 0
	}, func() string { return state })
}

// eventually checks cond every 10 ms until it holds, failing after within
// with what and the state then.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("%s: not within %s (%s)", what, within, state())
		case <-tick.C:
		}
	}
}

// String is the consumer's counts, for failure messages.
func (c *consumer) String() string {
	return fmt.Sprintf("ok %d, replay %d, dead %d, retry %d", c.count("ok"), c.count("replay"), c.count("dead"), c.count("retry"))
}

// deadLetters reads the first n messages of the dead-letter subjects.
func (h *harness) deadLetters(n int) []jetstream.Msg {
	h.t.Helper()
	ctx := context.Background()
	oc, err := h.js.OrderedConsumer(ctx, h.names.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{h.names.Prefix + ".dead.>"}})
	if err != nil {
		h.t.Fatalf("dead letters: %v", err)
	}
	var out []jetstream.Msg
	for len(out) < n {
		msg, err := oc.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			h.t.Fatalf("dead letters: %d of %d, then %v", len(out), n, err)
		}
		out = append(out, msg)
	}
	return out
}
