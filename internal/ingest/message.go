package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/store"
)

// Headers of a dead letter. Its body is the original message's.
const (
	HeaderCode       = "Jifen-Error-Code"    // the API's code: bad_request, validation_failed, not_found, conflict, …
	HeaderStatus     = "Jifen-Error-Status"  // the status POST /v1/events would have answered
	HeaderMessage    = "Jifen-Error-Message" // the detail, then each bad field
	HeaderSubject    = "Jifen-Subject"       // where the event was published
	HeaderSequence   = "Jifen-Sequence"      // its sequence in the stream
	HeaderDeliveries = "Jifen-Deliveries"    // how many times it was tried
)

// handle processes one message and settles it: an ack once its
// transaction has committed; a dead letter, then Term, when it is refused;
// a Nak with a delay when it may succeed later.
func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	var seq, delivered uint64 = 0, 1
	if meta, err := msg.Metadata(); err == nil {
		seq, delivered = meta.Sequence.Stream, meta.NumDelivered
	}
	replay, err := c.process(ctx, msg.Subject(), msg.Data())
	if err == nil {
		if aerr := msg.Ack(); aerr != nil {
			// Committed: a redelivery will be a replay.
			c.log.Warn("ingest: ack", "seq", seq, "err", aerr)
		}
		if replay {
			c.results.WithLabelValues(resultReplay).Inc()
		} else {
			c.results.WithLabelValues(resultOK).Inc()
		}
		return
	}
	p := failure.Describe(err)
	var dep *dependsError
	switch {
	case p.Code == "unavailable" || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		// The database (or this node) is not there now; it will be. Never
		// dead-lettered.
		c.retry(msg, seq, delivered, err)
		return
	case (p.Code == "internal" || errors.As(err, &dep)) && delivered < uint64(c.cfg.Retries):
		c.retry(msg, seq, delivered, err)
		return
	}
	if p.Code == "internal" {
		c.log.Error("ingest: event failed; dead-lettered", "seq", seq, "deliveries", delivered, "err", err)
	}
	if derr := c.deadLetter(ctx, msg, p, seq, delivered); derr != nil {
		c.retry(msg, seq, delivered, derr)
		return
	}
	c.results.WithLabelValues(resultDead).Inc()
}

// process runs a message's event as POST /v1/events does — decoded by
// the same strict decoder, posted by the same operation (as the
// programme itself) in one group-committed transaction. One member's
// events queue on one lane of the writer.
func (c *Consumer) process(ctx context.Context, subject string, data []byte) (replay bool, err error) {
	programID := c.names.program(subject)
	if _, err := c.cfg.Programs.Get(ctx, programID); err != nil {
		return false, fmt.Errorf("program %q: %w", programID, err)
	}
	if int64(len(data)) > c.cfg.MaxBody {
		return false, failure.New(failure.PayloadTooLarge, "the event is larger than %d bytes", c.cfg.MaxBody)
	}
	var in events.Input
	if err := input.Decode(data, &in); err != nil {
		return false, err
	}
	sys := auth.System(programID)
	pr, err := c.cfg.Events.Prepare(ctx, sys, in)
	if err != nil {
		if dependsOnEarlier(in, err) {
			return false, &dependsError{err}
		}
		return false, err
	}
	for attempt := 0; ; attempt++ {
		var posted events.Posted
		err = c.cfg.DB.Write(ctx, in.Member, func(ctx context.Context, tx *store.Tx) (err error) {
			posted, err = c.cfg.Events.PostPrepared(ctx, tx, sys, pr)
			return err
		})
		if errors.Is(err, store.ErrRace) && attempt < 3 {
			continue // a redelivery on another node committed first: replay it
		}
		if err != nil && dependsOnEarlier(in, err) {
			return false, &dependsError{err}
		}
		return posted.Replay, err
	}
}

// dependsError marks a refusal that an earlier event, not yet processed,
// may lift: the member it names not created yet, the order it refunds not
// paid yet.
type dependsError struct{ err error }

func (e *dependsError) Error() string { return e.err.Error() }
func (e *dependsError) Unwrap() error { return e.err }

func dependsOnEarlier(in events.Input, err error) bool {
	if failure.KindOf(err) == failure.NotFound {
		return true
	}
	if fe := failure.As(err); fe != nil && fe.Kind == failure.Invalid && in.Type == events.OrderRefunded {
		for _, f := range fe.Fields {
			if f.Field == "data.order_id" {
				return true
			}
		}
	}
	return false
}

// retry hands a message back to be redelivered after a delay that doubles
// with each delivery.
func (c *Consumer) retry(msg jetstream.Msg, seq, delivered uint64, cause error) {
	d := c.cfg.RetryDelay << min(delivered-1, 16)
	d = min(d, MaxRetryDelay)
	c.log.Warn("ingest: event will be retried", "seq", seq, "deliveries", delivered, "in", d, "err", cause)
	if err := msg.NakWithDelay(d); err != nil {
		c.log.Warn("ingest: nak", "seq", seq, "err", err) // redelivered after AckWait instead
	}
	c.results.WithLabelValues(resultRetry).Inc()
}

// deadLetter republishes a refused message on the program's dead-letter
// subject, with the code and message POST /v1/events would have answered,
// then terminates the original. The dead letter's message ID is derived
// from the original's sequence, so a second attempt within the stream's
// duplicate window publishes it once.
func (c *Consumer) deadLetter(ctx context.Context, msg jetstream.Msg, p failure.Problem, seq, delivered uint64) error {
	programID := c.names.program(msg.Subject())
	h := nats.Header{}
	h.Set(HeaderCode, p.Code)
	h.Set(HeaderStatus, strconv.Itoa(p.Status))
	h.Set(HeaderMessage, problemText(p))
	h.Set(HeaderSubject, msg.Subject())
	h.Set(HeaderSequence, strconv.FormatUint(seq, 10))
	h.Set(HeaderDeliveries, strconv.FormatUint(delivered, 10))
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.js.PublishMsg(pctx, &nats.Msg{Subject: c.names.DeadSubject(programID), Data: msg.Data(), Header: h},
		jetstream.WithMsgID(c.names.Stream+"-dead-"+strconv.FormatUint(seq, 10)))
	if err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	c.log.Info("ingest: event dead-lettered", "seq", seq, "subject", msg.Subject(), "code", p.Code, "detail", p.Detail)
	if err := msg.Term(); err != nil {
		c.log.Warn("ingest: term", "seq", seq, "err", err) // redelivered; the duplicate window drops the second dead letter
	}
	return nil
}

// problemText is a problem's detail and bad fields on one line, at most
// 1 KiB, fit for a header.
func problemText(p failure.Problem) string {
	var b strings.Builder
	b.WriteString(p.Detail)
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "; %s %s", f.Field, f.Message)
	}
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, b.String())
	if len(s) > 1024 {
		s = strings.ToValidUTF8(s[:1024], "")
	}
	return s
}
