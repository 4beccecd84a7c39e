package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/ingest"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// TestCreditsOnceAndReplays publishes order events for several members:
// each is credited once; the same ids again change nothing.
func TestCreditsOnceAndReplays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, 7)
		const n = 300
		bodies, want := h.orders("e", n)
		c := h.start(nil)
		h.publish(program.DefaultID, bodies...)
		eventually(t, 60*time.Second, "all credited", func() bool { return c.count("ok") == n }, c.String)
		h.wantBalances(want)

		h.publish(program.DefaultID, bodies...) // sent again by the publisher
		// At least n: a message slower than AckWait is redelivered too.
		eventually(t, 60*time.Second, "all replayed", func() bool { return c.count("replay") >= n }, c.String)
		h.drained(30 * time.Second)
		h.wantBalances(want)
		if ok, dead := c.count("ok"), c.count("dead"); ok != n || dead != 0 {
			t.Errorf("ok %d, dead %d; want %d and 0", ok, dead, n)
		}
	})
}

// TestCommittedBeforeAck: an event whose transaction committed but whose
// message was never acknowledged (the node died in between, or the event
// came in over HTTP first) is a replay when the message comes: it credits
// nothing more.
func TestCommittedBeforeAck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, 1)
		m := h.members[0]
		body := order("c1", m, 700)
		var in events.Input
		if err := input.Decode([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		err := h.db.Write(context.Background(), m, func(ctx context.Context, tx *store.Tx) error {
			_, err := h.app.Events.Post(ctx, tx, auth.System(program.DefaultID), in)
			return err
		})
		if err != nil {
			t.Fatalf("process %s: %v", body, err)
		}
		c := h.start(nil)
		h.publish(program.DefaultID, body)
		eventually(t, 30*time.Second, "replayed", func() bool { return c.count("replay") == 1 }, c.String)
		h.drained(30 * time.Second)
		if got := c.count("ok"); got != 0 {
			t.Errorf("ok %d, want 0", got)
		}
		h.wantBalances(map[string]int64{m: 7})
	})
}

// TestDeadLetters sends what POST /v1/events refuses: each lands on the
// dead-letter subject with the code the API answers, and nothing is
// written.
func TestDeadLetters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, 2)
		frozen := h.members[1]
		err := h.db.Write(context.Background(), frozen, func(ctx context.Context, tx *store.Tx) error {
			_, err := h.app.Members.SetFrozen(ctx, tx, auth.System(program.DefaultID), frozen, true)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		m := h.members[0]
		cases := []struct {
			name, subject, body, code string
		}{
			{"malformed JSON", program.DefaultID, `{"id":"x1",`, "bad_request"},
			{"not an object", program.DefaultID, `[1,2]`, "bad_request"},
			{"missing fields", program.DefaultID, `{"type":"order.paid"}`, "validation_failed"},
			{"field of the wrong type", program.DefaultID, `{"id":7,"type":"order.paid","member":"` + m + `"}`, "validation_failed"},
			{"order without amount", program.DefaultID, `{"id":"x2","type":"order.paid","member":"` + m + `","data":{"order_id":"o"}}`, "validation_failed"},
			{"unknown merchant", program.DefaultID, `{"id":"x3","type":"order.paid","member":"` + m + `","merchant_id":"mer_nope","data":{"order_id":"o3","amount":100}}`, "validation_failed"},
			{"unknown member", program.DefaultID, order("x4", "mem_nobody", 100), "not_found"},
			{"unknown program", "nope", order("x5", m, 100), "not_found"},
			{"frozen member", program.DefaultID, order("x6", frozen, 100), "conflict"},
			{"larger than MaxBody", program.DefaultID, `{"id":"x7","type":"order.paid","member":"` + m + `","data":{"order_id":"o7","amount":100,"note":"` +
				strings.Repeat("x", 1024) + `"}}`, "payload_too_large"},
		}
		c := h.start(func(cfg *ingest.Config) { cfg.Retries = 2; cfg.MaxBody = 1024 })
		for _, tc := range cases {
			h.publish(tc.subject, tc.body)
		}
		dead := h.deadLetters(len(cases))
		byBody := map[string]jetstream.Msg{}
		for _, d := range dead {
			byBody[string(d.Data())] = d
		}
		for _, tc := range cases {
			d, ok := byBody[tc.body]
			if !ok {
				t.Errorf("%s: no dead letter for %s", tc.name, tc.body)
				continue
			}
			hd := d.Headers()
			if got := hd.Get(ingest.HeaderCode); got != tc.code {
				t.Errorf("%s: code %q, want %q (%s)", tc.name, got, tc.code, hd.Get(ingest.HeaderMessage))
			}
			if hd.Get(ingest.HeaderMessage) == "" || hd.Get(ingest.HeaderSubject) != h.names.Subject(tc.subject) {
				t.Errorf("%s: headers %v", tc.name, hd)
			}
			if want := h.names.DeadSubject(tc.subject); d.Subject() != want {
				t.Errorf("%s: dead letter on %s, want %s", tc.name, d.Subject(), want)
			}
		}
		h.drained(30 * time.Second)
		if got := c.count("dead"); got != len(cases) {
			t.Errorf("dead %d, want %d", got, len(cases))
		}
		if got := c.count("ok"); got != 0 {
			t.Errorf("ok %d, want 0", got)
		}
		for _, eventID := range []string{"x1", "x2", "x3", "x4", "x5", "x6", "x7"} {
			if h.stored(eventID) {
				t.Errorf("event %s was recorded", eventID)
			}
		}
		h.wantBalances(map[string]int64{})
	})
}

// TestRefundBeforeOrder publishes a refund before its order: the refund is
// retried, not dead-lettered, and claws back the whole award once the
// order is in.
func TestRefundBeforeOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, 1)
		m := h.members[0]
		c := h.start(func(cfg *ingest.Config) { cfg.Retries = 10 })
		h.publish(program.DefaultID, `{"id":"r1","type":"order.refunded","member":"`+m+`","data":{"order_id":"o-p1"}}`)
		eventually(t, 30*time.Second, "refund retried", func() bool { return c.count("retry") >= 1 }, c.String)
		h.publish(program.DefaultID, order("p1", m, 5000))
		eventually(t, 30*time.Second, "order and refund in", func() bool { return c.count("ok") == 2 }, c.String)
		h.wantBalances(map[string]int64{m: 0})
		if got := c.count("dead"); got != 0 {
			t.Errorf("dead %d, want 0", got)
		}
	})
}

// TestRestartMidStream stops a consumer while events stream in and starts
// another on the same durable: every event is processed exactly once.
func TestRestartMidStream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, 50)
		const n = 2000
		bodies, want := h.orders("s", n)
		// A short AckWait: a message the first consumer had on its way when
		// it stopped comes back to the second soon.
		fast := func(cfg *ingest.Config) { cfg.AckWait = 5 * time.Second }
		first := h.start(fast)
		published := make(chan struct{})
		go func() {
			defer close(published)
			h.publish(program.DefaultID, bodies...)
		}()
		eventually(t, 60*time.Second, "a first share processed", func() bool { return first.count("ok") >= n/5 }, first.String)
		first.stop()
		before := first.count("ok")
		if before >= n {
			t.Fatalf("the first consumer processed all %d events before it was stopped: the test proves nothing", n)
		}
		<-published

		second := h.start(fast)
		eventually(t, 90*time.Second, "the rest processed", func() bool { return before+second.count("ok") >= n }, second.String)
		h.drained(30 * time.Second)
		if got := before + second.count("ok"); got != n {
			t.Errorf("events committed: %d (first %d), want %d", got, before, n)
		}
		if dead := first.count("dead") + second.count("dead"); dead != 0 {
			t.Errorf("%d dead letters", dead)
		}
		for i := 0; i < n; i++ {
			if eventID := fmt.Sprintf("s-%d", i); !h.stored(eventID) {
				t.Fatalf("event %s not recorded", eventID)
			}
		}
		h.wantBalances(want)
		t.Logf("first consumer committed %d, second %d (replays %d)", before, second.count("ok"), second.count("replay"))
	})
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		servers string
		names   ingest.Names
		bad     bool
	}{
		{in: "nats://127.0.0.1:4222", servers: "nats://127.0.0.1:4222",
			names: ingest.Names{Stream: "JIFEN_EVENTS", Prefix: "jifen", Consumer: "jifen"}},
		{in: "nats://a:4222,nats://b:4222?stream=S1&prefix=acme.loyalty&consumer=node", servers: "nats://a:4222,nats://b:4222",
			names: ingest.Names{Stream: "S1", Prefix: "acme.loyalty", Consumer: "node"}},
		{in: "nats://h:4222?durable=x", bad: true},
		{in: "nats://h:4222?stream=a.b", bad: true},
		{in: "nats://h:4222?prefix=jifen.*", bad: true},
		{in: "?stream=S", bad: true},
	}
	for _, tc := range tests {
		servers, names, err := ingest.ParseURL(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseURL(%q): no error", tc.in)
			}
			continue
		}
		if err != nil || servers != tc.servers || names != tc.names {
			t.Errorf("ParseURL(%q) = %q, %+v, %v; want %q, %+v", tc.in, servers, names, err, tc.servers, tc.names)
		}
	}
	if got := ingest.Redact("nats://user:secret@h:4222?stream=S"); strings.Contains(got, "secret") {
		t.Errorf("Redact kept the password: %s", got)
	}
}
