package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of the names the consumer uses on the NATS side.
const (
	DefaultStream   = "JIFEN_EVENTS"
	DefaultPrefix   = "jifen"
	DefaultConsumer = "jifen"
)

// StreamMaxAge is how long a stream made by Jifen keeps a message, consumed
// or not. An operator who makes the stream first chooses their own limits.
const StreamMaxAge = 7 * 24 * time.Hour

// Names are the stream, subjects and durable consumer of one ingestion.
// Events for program P arrive on <Prefix>.events.P; those that fail
// validation are republished on <Prefix>.dead.P. Both live in Stream.
type Names struct {
	Stream   string
	Prefix   string
	Consumer string // durable: every node that names it shares the work
}

// ParseURL splits a --ingest value into the server URL(s) that nats.go
// dials and the names, which ride as query parameters:
//
//	nats://127.0.0.1:4222?stream=JIFEN_EVENTS&prefix=jifen&consumer=jifen
//
// Every parameter is optional. A comma-separated list of servers works as
// in nats.go; the query follows the last one.
func ParseURL(raw string) (servers string, n Names, err error) {
	servers, query, _ := strings.Cut(raw, "?")
	n = Names{Stream: DefaultStream, Prefix: DefaultPrefix, Consumer: DefaultConsumer}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", n, fmt.Errorf("ingest %s: query: %w", Redact(raw), err)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "stream":
			n.Stream = v
		case "prefix":
			n.Prefix = v
		case "consumer":
			n.Consumer = v
		default:
			return "", n, fmt.Errorf("ingest %s: unknown parameter %q: want stream, prefix or consumer", Redact(raw), k)
		}
	}
	if !validName(n.Stream) || !validName(n.Consumer) {
		return "", n, fmt.Errorf("ingest %s: stream and consumer names are letters, digits, - and _", Redact(raw))
	}
	if n.Prefix == "" || strings.ContainsAny(n.Prefix, " \t\r\n*>") || strings.HasPrefix(n.Prefix, ".") || strings.HasSuffix(n.Prefix, ".") {
		return "", n, fmt.Errorf("ingest %s: prefix %q: want subject tokens such as jifen or acme.jifen", Redact(raw), n.Prefix)
	}
	if servers == "" {
		return "", n, fmt.Errorf("ingest %s: no server", Redact(raw))
	}
	return servers, n, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Redact removes passwords and tokens from a NATS URL list, for logs.
func Redact(raw string) string {
	servers, _, _ := strings.Cut(raw, "?")
	parts := strings.Split(servers, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User("***")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// Subject is where events for a program are published.
func (n Names) Subject(programID string) string { return n.Prefix + ".events." + programID }

// DeadSubject is where events for a program that failed validation are
// republished.
func (n Names) DeadSubject(programID string) string { return n.Prefix + ".dead." + programID }

// program is the program an event subject names, or "" when the subject
// is not one of ours.
func (n Names) program(subject string) string {
	p, ok := strings.CutPrefix(subject, n.Prefix+".events.")
	if !ok {
		return ""
	}
	return p
}

// EnsureStream returns the stream, making it when it does not exist: file
// storage, the events and dead-letter subjects of the prefix, messages kept
// StreamMaxAge. An existing stream is used as it is.
func EnsureStream(ctx context.Context, js jetstream.JetStream, n Names) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, n.Stream)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("stream %s: %w", n.Stream, err)
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        n.Stream,
		Description: "Jifen events (" + n.Prefix + ".events.<program>) and dead letters (" + n.Prefix + ".dead.<program>)",
		Subjects:    []string{n.Prefix + ".events.>", n.Prefix + ".dead.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      StreamMaxAge,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return js.Stream(ctx, n.Stream) // another node made it first
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", n.Stream, err)
	}
	return s, nil
}
