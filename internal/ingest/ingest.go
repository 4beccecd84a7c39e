// Package ingest consumes events from a NATS JetStream stream and runs each
// through the same pipeline as POST /v1/events: the same strict decoding
// (input.Decode) and the same operation (events.Service.Post, as the
// programme itself), in one transaction of the group-commit writer.
// A message is acknowledged only after that transaction commits, so a
// crash between commit and ack redelivers it, and the event's id makes the
// redelivery a replay that credits nothing. Events that fail validation
// are republished on a dead-letter subject and terminated; a database that
// cannot be reached makes the message wait and come back.
//
// The program comes from the subject (<prefix>.events.<program>): a
// message carries no API key. Ordering between messages is not kept (they
// are processed concurrently, as concurrent HTTP requests are); an event
// that may depend on an earlier one — its member not found yet, a refund
// of an order not paid yet — is retried a few times before it is
// dead-lettered.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Config is what a consumer needs.
type Config struct {
	// URL is the --ingest value: nats://host:port, optionally with
	// ?stream=…&prefix=…&consumer=… (see ParseURL).
	URL      string
	DB       *store.DB
	Programs *program.Service
	Events   *events.Service
	Clock    clock.Clock
	Logger   *slog.Logger
	// Registry receives jifen_ingest_messages_total.
	Registry prometheus.Registerer
	// MaxBody is the largest event accepted, as for POST /v1/events
	// (default 1 MiB); a larger one is dead-lettered as payload_too_large.
	MaxBody int64
	// Workers is how many messages are processed at once (default 64), so
	// the group-commit writer can batch them.
	Workers int
	// AckWait is how long NATS waits for an ack before it redelivers
	// (default 30s); a message's processing is bounded by it too.
	AckWait time.Duration
	// Retries is how many deliveries an event that may depend on an earlier
	// one gets before it is dead-lettered (default 5); an internal error is
	// retried as often.
	Retries int
	// RetryDelay is the first redelivery delay; it doubles per delivery up
	// to MaxRetryDelay (default 1s).
	RetryDelay time.Duration
}

// MaxRetryDelay caps the delay before a message is redelivered.
const MaxRetryDelay = 30 * time.Second

// Consumer is a connection to NATS and the durable pull consumer it
// reads from.
type Consumer struct {
	cfg     Config
	names   Names
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	log     *slog.Logger
	results *prometheus.CounterVec
}

// Results of a message, the label values of jifen_ingest_messages_total.
const (
	resultOK     = "ok"     // committed
	resultReplay = "replay" // its id was processed before: nothing written
	resultDead   = "dead"   // failed validation: dead-lettered
	resultRetry  = "retry"  // handed back to be redelivered later
)

// New connects to NATS, makes the stream if it does not exist, and makes
// or updates the durable consumer. It fails when the server cannot be
// reached: a wrong --ingest shows at start, not later.
func New(ctx context.Context, cfg Config) (*Consumer, error) {
	servers, names, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 5
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("ingest", Redact(cfg.URL), "stream", names.Stream)
	nc, err := nats.Connect(servers,
		nats.Name("jifen ingest"),
		nats.MaxReconnects(-1), // a NATS restart must not stop ingestion for good
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed by Close
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted()) }),
		// Without a handler nats.go prints asynchronous errors (a slow
		// consumer, a reset connection) to stderr.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn("nats", "err", err) }),
	)
	if err != nil {
		return nil, fmt.Errorf("ingest: connect %s: %w", Redact(cfg.URL), err)
	}
	c := &Consumer{cfg: cfg, names: names, nc: nc, log: log}
	if err := c.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	c.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jifen_ingest_messages_total", Help: "Messages consumed from NATS by result: ok, replay, dead (dead-lettered), retry (redelivered later).",
	}, []string{"result"})
	for _, r := range []string{resultOK, resultReplay, resultDead, resultRetry} {
		c.results.WithLabelValues(r) // every result shows, 0 until it happens
	}
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(c.results); err != nil {
			nc.Close()
			return nil, fmt.Errorf("ingest: metrics: %w", err)
		}
	}
	return c, nil
}

// setup makes the stream if it is missing and makes or updates the
// durable consumer; Jifen owns the consumer's settings, so a node that
// starts puts them back as this code says.
func (c *Consumer) setup(ctx context.Context) error {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("ingest: jetstream: %w", err)
	}
	c.js = js
	if _, err := EnsureStream(ctx, js, c.names); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	c.cons, err = js.CreateOrUpdateConsumer(ctx, c.names.Stream, jetstream.ConsumerConfig{
		Durable:       c.names.Consumer,
		Description:   "jifen serve: events into the ledger",
		FilterSubject: c.names.Prefix + ".events.>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		// Unacked messages across every node that shares the durable: a
		// bound on work in flight, never a bound on the backlog.
		MaxAckPending: 16 * c.cfg.Workers,
		// No MaxDeliver: a message waits out a database outage however
		// long; retries of other failures are counted in handle.
	})
	if err != nil {
		return fmt.Errorf("ingest: consumer %s on %s: %w", c.names.Consumer, c.names.Stream, err)
	}
	return nil
}

// Run consumes until ctx is done, then stops fetching, hands back at once
// the messages fetched but not started (so another node takes them), and
// waits for those in progress to commit and be acknowledged. When the
// consumer goes away under it (deleted by an operator, say), Run makes it
// again and carries on.
func (c *Consumer) Run(ctx context.Context) {
	c.log.Info("ingesting", "subjects", c.names.Prefix+".events.>", "consumer", c.names.Consumer, "workers", c.cfg.Workers)
	for {
		err := c.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Error("ingest: consumer stopped; making it again", "err", err, "in", restartDelay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(restartDelay):
		}
		if err := c.setup(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("ingest: setup", "err", err)
		}
	}
}

// restartDelay spaces attempts to make the consumer again.
const restartDelay = 5 * time.Second

// consume hands messages to the workers until ctx is done or the consumer
// closes, then waits for the workers.
func (c *Consumer) consume(ctx context.Context) error {
	it, err := c.cons.Messages(jetstream.PullMaxMessages(c.cfg.Workers))
	if err != nil {
		return fmt.Errorf("ingest: consume: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Drain)
	defer stop()
	slots := make(chan struct{}, c.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	// The work outlives ctx: a message begun is finished, committed and
	// acknowledged, within AckWait.
	work := context.WithoutCancel(ctx)
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return err
		}
		if err != nil {
			// A terminal error (consumer deleted) closes the iterator: the
			// next call says so. Others (missed heartbeats) pass.
			c.log.Warn("ingest: next message", "err", err)
			continue
		}
		if !acquire(ctx, slots) {
			msg.Nak() // not started: redeliver now, to whichever node asks
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			mctx, cancel := context.WithTimeout(work, c.cfg.AckWait)
			defer cancel()
			c.handle(mctx, msg)
		}()
	}
}

// acquire takes a worker slot, or reports false once ctx is done.
func acquire(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		if ctx.Err() != nil {
			<-slots
			return false
		}
		return true
	case <-ctx.Done():
		return false
	}
}

// Close flushes the acknowledgements still buffered and closes the
// connection. Call it after Run has returned.
func (c *Consumer) Close() error {
	err := c.nc.FlushTimeout(5 * time.Second)
	c.nc.Close()
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("ingest: flush acks: %w", err)
	}
	return nil
}

// Names are the stream, subjects and consumer in use.
func (c *Consumer) Names() Names { return c.names }
