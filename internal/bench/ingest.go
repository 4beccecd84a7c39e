package bench

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jifen/jifen/internal/ingest"
	"github.com/jifen/jifen/internal/program"
)

// DefaultNATS is the NATS server the ingest scenario uses without --nats.
const DefaultNATS = "nats://127.0.0.1:4222"

// ingestRun is the NATS side of one backend's run: a stream and subjects
// of its own, which the server consumes and the ingest scenario feeds.
type ingestRun struct {
	servers string
	names   ingest.Names
	nc      *nats.Conn
	js      jetstream.JetStream
}

// prepareIngest connects to NATS and makes the run's stream when the
// ingest scenario is to run, before the server starts. Without --nats it
// tries DefaultNATS; when that cannot be reached the scenario is skipped,
// unless it was asked for by name.
func (cfg Config) prepareIngest(ctx context.Context, backend, run string) (*ingestRun, error) {
	if !cfg.wants("ingest") {
		return nil, nil
	}
	servers, _, err := ingest.ParseURL(cmp.Or(cfg.NATS, DefaultNATS))
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(servers, nats.Name("jifen bench"), nats.Timeout(2*time.Second))
	if err != nil {
		if cfg.NATS == "" && len(cfg.Scenarios) == 0 {
			cfg.progress("%s ingest: skipped (no NATS at %s; give --nats)", backend, servers)
			return nil, nil
		}
		return nil, fmt.Errorf("ingest: connect %s: %w", ingest.Redact(servers), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("ingest: %w", err)
	}
	r := &ingestRun{servers: servers, nc: nc, js: js,
		names: ingest.Names{Stream: "JIFEN_BENCH_" + strings.ToUpper(run), Prefix: "jifenbench." + run, Consumer: ingest.DefaultConsumer}}
	if _, err := ingest.EnsureStream(ctx, js, r.names); err != nil {
		nc.Close()
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return r, nil
}

// serverEnv is what makes the server consume the run's stream.
func (r *ingestRun) serverEnv() []string {
	if r == nil {
		return nil
	}
	return []string{fmt.Sprintf("JIFEN_INGEST=%s?stream=%s&prefix=%s&consumer=%s", r.servers, r.names.Stream, r.names.Prefix, r.names.Consumer)}
}

// close deletes the run's stream; call it after the server has stopped.
func (r *ingestRun) close() {
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.js.DeleteStream(ctx, r.names.Stream)
	r.nc.Close()
}

// acks watches the acknowledgements the server's consumer sends for the
// run's stream. They are plain NATS messages to $JS.ACK.<stream>.<consumer>.…
// (the subject names the message's stream sequence), so the bench sees
// each one as JetStream does, with no polling. The server acknowledges an
// event only after its transaction commits.
type acks struct {
	mu       sync.Mutex
	at       map[uint64]time.Time // stream sequence → first ack seen
	slots    chan struct{}        // one per event published and not yet done
	progress chan struct{}
}

func newAcks(window int) *acks {
	return &acks{at: map[uint64]time.Time{}, slots: make(chan struct{}, window), progress: make(chan struct{}, 1)}
}

// watch subscribes to the consumer's acks, in both subject forms servers
// use ($JS.ACK.<stream>.… and $JS.ACK.<domain>.<account>.<stream>.…).
func (a *acks) watch(r *ingestRun) (stop func(), err error) {
	var subs []*nats.Subscription
	stop = func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
	}
	for _, f := range []string{"$JS.ACK.%s.%s.>", "$JS.ACK.*.*.%s.%s.>"} {
		sub, err := r.nc.Subscribe(fmt.Sprintf(f, r.names.Stream, r.names.Consumer), a.observe)
		if err != nil {
			stop()
			return nil, fmt.Errorf("watch acks: %w", err)
		}
		sub.SetPendingLimits(-1, -1)
		subs = append(subs, sub)
	}
	if err := r.nc.Flush(); err != nil {
		stop()
		return nil, fmt.Errorf("watch acks: %w", err)
	}
	return stop, nil
}

func (a *acks) observe(m *nats.Msg) {
	now := time.Now()
	done := string(m.Data) // "" or +ACK: committed; +TERM: dead-lettered; -NAK, +WPI: not done
	if done != "" && done != "+ACK" && done != "+TERM" {
		return
	}
	tokens := strings.Split(m.Subject, ".")
	var seq uint64
	switch {
	case len(tokens) == 9:
		seq, _ = strconv.ParseUint(tokens[5], 10, 64)
	case len(tokens) >= 11:
		seq, _ = strconv.ParseUint(tokens[7], 10, 64)
	default:
		return
	}
	a.mu.Lock()
	_, seen := a.at[seq]
	if !seen && done != "+TERM" {
		a.at[seq] = now
	}
	a.mu.Unlock()
	if !seen {
		select {
		case <-a.slots:
		default:
		}
		select {
		case a.progress <- struct{}{}:
		default:
		}
	}
}

// committed is when the event at seq was acknowledged, if it was.
func (a *acks) committed(seq uint64) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[seq]
	return t, ok
}

type publication struct {
	seq uint64
	t0  time.Time
}

// ingest publishes order.paid events (the earn scenario's) to the stream
// the server consumes, as fast as the server takes them: asynchronously,
// with at most --concurrency events published and not yet committed, as
// the HTTP scenarios keep that many requests in flight (a larger window
// only lengthens the queue: it measured no faster). After cfg.Duration it
// stops publishing and waits for the rest.
//
// Requests are the events committed; the rate is those per second from
// the first publish to the last commit. An event's latency runs from just
// before its publish to the moment the bench sees the server's ack of it,
// which the server sends when the event's transaction has committed: so
// publish → commit, plus one hop through NATS.
func (cfg Config) ingest(ctx context.Context, backend string, t target, srv *Server) (Result, error) {
	a := newAcks(cfg.Concurrency)
	stopWatch, err := a.watch(t.ingest)
	if err != nil {
		return Result{}, err
	}
	defer stopWatch()
	before := ingestCounts(srv.URL)
	stopRSS := make(chan struct{})
	rss := peakRSS(srv, stopRSS)

	pubs, lost := cfg.publishOrders(ctx, t, a)
	drainBy := time.After(60 * time.Second)
	for i := 0; i < len(pubs); {
		if _, ok := a.committed(pubs[i].seq); ok {
			i++
			continue
		}
		select {
		case <-a.progress:
		case <-drainBy:
			i = len(pubs)
		case <-ctx.Done():
			i = len(pubs)
		}
	}
	close(stopRSS)

	lat := make([]time.Duration, 0, len(pubs))
	var start, end time.Time
	var uncommitted int64
	for _, p := range pubs {
		if start.IsZero() || p.t0.Before(start) {
			start = p.t0
		}
		at, ok := a.committed(p.seq)
		if !ok {
			uncommitted++
			continue
		}
		lat = append(lat, at.Sub(p.t0))
		if at.After(end) {
			end = at
		}
	}
	slices.Sort(lat)
	after := ingestCounts(srv.URL)
	dead := after["dead"] - before["dead"]
	o := Outcome{Requests: int64(len(lat)), Errors: lost + uncommitted, Elapsed: end.Sub(start), Latencies: lat}
	res := result("ingest", backend, o, <-rss)
	res.statuses += fmt.Sprintf(" [ok %.0f, replay %.0f, dead %.0f, retry %.0f; %d published, %d not committed within 60s]",
		after["ok"]-before["ok"], after["replay"]-before["replay"], dead, after["retry"]-before["retry"], len(pubs), uncommitted)
	return res, nil
}

// publishOrders publishes for cfg.Duration, taking one of a's slots per
// event (an ack gives it back). It returns each event's stream sequence
// and publish time, and how many publishes failed.
func (cfg Config) publishOrders(ctx context.Context, t target, a *acks) (pubs []publication, lost int64) {
	type pending struct {
		t0  time.Time
		fut jetstream.PubAckFuture
	}
	futures := make(chan pending, cap(a.slots))
	var failed atomic.Int64
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for p := range futures {
			select {
			case ack := <-p.fut.Ok():
				pubs = append(pubs, publication{ack.Sequence, p.t0})
			case <-p.fut.Err():
				failed.Add(1)
				<-a.slots
			}
		}
	}()
	subject := t.ingest.names.Subject(program.DefaultID)
	w := newWorkers(1)[0]
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	for {
		select {
		case a.slots <- struct{}{}:
		case <-runCtx.Done():
		}
		if runCtx.Err() != nil {
			break
		}
		t0 := time.Now()
		fut, err := t.ingest.js.PublishAsync(subject, []byte(t.order(w)))
		if err != nil {
			failed.Add(1)
			<-a.slots
			continue
		}
		futures <- pending{t0, fut}
	}
	close(futures)
	<-collected
	return pubs, failed.Load()
}

// ingestCounts reads jifen_ingest_messages_total by result from the
// server's metrics.
func ingestCounts(url string) map[string]float64 {
	out := map[string]float64{}
	res, err := http.Get(url + "/metrics")
	if err != nil {
		return out
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `jifen_ingest_messages_total{result="`)
		if !ok {
			continue
		}
		label, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[label] = v
		}
	}
	return out
}
