package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
)

// Delivery timing.
const (
	Timeout    = 10 * time.Second // a 2xx must come within this
	FirstRetry = 30 * time.Second // then doubling
	MaxBackoff = time.Hour
	claimFor   = 2 * Timeout // a claim outlives one attempt; a node that dies frees it then
)

// WorkerConfig configures a delivery worker.
type WorkerConfig struct {
	DB    *store.DB
	Clock clock.Clock
	Log   *slog.Logger
	// DenyPrivate refuses, at dial time, loopback, private, link-local and
	// unspecified addresses (JIFEN_WEBHOOK_DENY_PRIVATE=1).
	DenyPrivate bool
	// Parallel is how many deliveries are sent at once (default 8).
	Parallel int
	// Client replaces the HTTP client (tests); nil: the worker's own.
	Client *http.Client
}

// Worker sends the outbox's pending deliveries. Several nodes may run one
// on a database: each delivery is claimed with a conditional update of its
// row (locked_until), so one node sends it; only the oldest pending
// delivery of each webhook and member is ever due, so a member's events
// reach a webhook one at a time in commit order.
type Worker struct {
	cfg    WorkerConfig
	client *http.Client
	holder string
}

// NewWorker returns a worker.
func NewWorker(cfg WorkerConfig) *Worker {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	w := &Worker{cfg: cfg, client: cfg.Client}
	host, _ := os.Hostname()
	w.holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), id.Secret(6))
	if w.client == nil {
		w.client = NewClient(cfg.DenyPrivate)
	}
	return w
}

// NewClient is the delivery HTTP client: a 10 s timeout, no redirects
// (a 3xx is a failure), no proxy, and with denyPrivate a dialer that
// refuses private addresses after name resolution (so DNS cannot point a
// public name at one).
func NewClient(denyPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if denyPrivate {
		d.Control = refusePrivate
	}
	return &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: 5 * time.Second,
			ResponseHeaderTimeout: Timeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ErrPrivateAddress is a refused dial.
var ErrPrivateAddress = errors.New("webhook: private address refused (JIFEN_WEBHOOK_DENY_PRIVATE=1)")

func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ErrPrivateAddress
	}
	if Private(ap.Addr()) {
		return ErrPrivateAddress
	}
	return nil
}

// Private reports whether an address is loopback, private, link-local,
// unspecified or multicast.
func Private(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT
}

// Sign is the Jifen-Signature header's value for a body sent at ts with
// the given secrets (the current first): "v1=<hex>" each, space-separated.
func Sign(ts int64, body []byte, secrets ...string) string {
	var buf bytes.Buffer
	for i, s := range secrets {
		if i > 0 {
			buf.WriteByte(' ')
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(strconv.FormatInt(ts, 10)))
		m.Write([]byte{'.'})
		m.Write(body)
		buf.WriteString("v1=")
		buf.WriteString(hex.EncodeToString(m.Sum(nil)))
	}
	return buf.String()
}

// Run sends due deliveries every tick until ctx ends.
func (w *Worker) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Log.Warn("webhook deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce sends every delivery due now, pass after pass (the next event
// of a member becomes due when the previous is delivered), until a pass
// finds none; it returns the number of attempts made.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	ids, err := w.cfg.DB.Read().ProgramIDs(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for pass := 0; pass < 1000; pass++ {
		n := 0
		for _, pid := range ids {
			k, err := w.runProgram(ctx, pid)
			n += k
			if err != nil {
				return total + n, err
			}
		}
		total += n
		if n == 0 {
			break
		}
	}
	return total, nil
}

func (w *Worker) runProgram(ctx context.Context, programID string) (int, error) {
	now := w.cfg.Clock.Now()
	due, err := w.cfg.DB.Read().DueDeliveries(ctx, programID, now, 100)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	claim := w.holder + "/" + id.Secret(6)
	var claimed []string
	err = w.cfg.DB.Write(ctx, "webhooks:"+programID, func(ctx context.Context, tx *store.Tx) error {
		claimed = claimed[:0]
		for _, d := range due {
			ok, err := tx.ClaimDelivery(ctx, programID, d, claim, now, now.Add(claimFor))
			if err != nil {
				return err
			}
			if ok {
				claimed = append(claimed, d)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, w.cfg.Parallel)
	var wg sync.WaitGroup
	errs := make([]error, len(claimed))
	for i, d := range claimed {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = w.deliver(ctx, programID, d, claim)
		}()
	}
	wg.Wait()
	return len(claimed), errors.Join(errs...)
}

// deliver makes one attempt at a claimed delivery and records it.
func (w *Worker) deliver(ctx context.Context, programID, deliveryID, claim string) error {
	t, err := w.cfg.DB.Read().DeliveryToSend(ctx, programID, deliveryID)
	if err != nil {
		return err
	}
	at := w.cfg.Clock.Now()
	secrets := []string{t.Secret}
	if t.PrevSecret != "" && t.PrevUntil != nil && at.Before(*t.PrevUntil) {
		secrets = append(secrets, string(t.PrevSecret))
	}
	code, failure, dur := w.send(ctx, t, at, secrets)
	var attempts []DeliveryAttempt
	_ = json.Unmarshal(t.Attempts, &attempts)
	a := DeliveryAttempt{At: at, DurationMS: dur.Milliseconds()}
	if code != 0 {
		a.StatusCode = &code
	}
	if failure != "" {
		a.Error = &failure
	}
	attempts = append(attempts, a)
	raw, _ := json.Marshal(attempts)
	status, next := w.outcome(t.Delivery, failure == "", at)
	return w.cfg.DB.Write(context.WithoutCancel(ctx), "webhooks:"+programID, func(ctx context.Context, tx *store.Tx) error {
		return tx.FinishDelivery(ctx, programID, deliveryID, claim, status, raw, t.NAttempts+1, next)
	})
}

// outcome is a delivery's status after an attempt and, while pending,
// when it is tried next: 30 s after the first failure, doubling, ±10 %,
// at most an hour apart, until the deadline (24 h after the event). A
// retry by hand of a delivery no longer pending keeps its status unless
// it succeeds.
func (w *Worker) outcome(d store.Delivery, ok bool, at time.Time) (string, *time.Time) {
	switch {
	case ok:
		return Delivered, nil
	case d.Status != Pending:
		return d.Status, nil
	case !at.Before(d.Deadline):
		return Failed, nil
	}
	next := at.Add(Backoff(d.NAttempts+1, rand.Float64()))
	if next.After(d.Deadline) {
		next = d.Deadline
	}
	return Pending, &next
}

// Backoff is the wait after the n-th failed attempt (n ≥ 1); jitter in
// [0, 1) spreads it ±10 %.
func Backoff(n int64, jitter float64) time.Duration {
	d := FirstRetry
	for i := int64(1); i < n && d < MaxBackoff; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (0.9 + 0.2*jitter))
	return min(d, MaxBackoff)
}

// send POSTs the payload; it returns the status code (0 without a
// response), why it failed ("" on a 2xx) and how long it took.
func (w *Worker) send(ctx context.Context, t store.DeliveryTarget, at time.Time, secrets []string) (int, string, time.Duration) {
	ts := at.Unix()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Payload))
	if err != nil {
		return 0, err.Error(), 0
	}
	var ev struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(t.Payload, &ev)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Jifen-Webhooks/1")
	req.Header.Set("Jifen-Webhook-Id", ev.ID)
	req.Header.Set("Jifen-Webhook-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Jifen-Signature", Sign(ts, t.Payload, secrets...))
	start := time.Now()
	res, err := w.client.Do(req)
	dur := time.Since(start)
	if err != nil {
		return 0, err.Error(), dur
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Sprintf("HTTP %d", res.StatusCode), dur
	}
	return res.StatusCode, "", dur
}
