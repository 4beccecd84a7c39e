package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/operator"
)

// Rate limits of the actors that have no setting of their own: a member
// token's member (the contract's 10/s, burst 20) and a console
// operator (generous: a person clicking, and the console's polling).
var (
	MemberRate   = auth.RateLimit{PerSecond: 10, Burst: 20}
	OperatorRate = auth.RateLimit{PerSecond: 50, Burst: 100}
)

// Limiters are token buckets by name, kept in this node's memory. A
// bucket left alone long enough to be full again is forgotten: it would
// be made anew exactly as it was, so the map does not grow with names
// that stopped calling. Join routes may use one for a per-IP limit.
type Limiters struct {
	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// NewLimiters returns an empty set of buckets.
func NewLimiters() *Limiters { return &Limiters{m: make(map[string]*bucket)} }

// Verdict is what one Take decided.
type Verdict struct {
	OK         bool
	Limit      int           // the burst: the most requests at once
	Remaining  int           // whole tokens left
	Reset      time.Duration // until the bucket is full again
	RetryAfter time.Duration // until one token is back (when !OK)
}

// Take takes one token from the bucket name, made (or made anew) to limit.
// limit.PerSecond must be more than 0.
func (l *Limiters) Take(name string, limit auth.RateLimit, now time.Time) Verdict {
	per := rate.Limit(limit.PerSecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.m[name]
	if b == nil || b.lim.Limit() != per || b.lim.Burst() != limit.Burst {
		// New, or its limit changed (PATCH /v1/api-keys/{id}): a full
		// bucket of the new size.
		b = &bucket{lim: rate.NewLimiter(per, limit.Burst)}
		l.m[name] = b
	}
	b.used = now
	v := Verdict{OK: b.lim.AllowN(now, 1), Limit: limit.Burst}
	tokens := b.lim.TokensAt(now)
	v.Remaining = int(math.Max(0, math.Floor(tokens)))
	v.Reset = seconds((float64(limit.Burst) - tokens) / limit.PerSecond)
	if !v.OK {
		v.RetryAfter = seconds((1 - tokens) / limit.PerSecond)
	}
	return v
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// sweep forgets the buckets that are full again.
func (l *Limiters) sweep(now time.Time) {
	l.swept = now
	for name, b := range l.m {
		if b.lim.TokensAt(now) >= float64(b.lim.Burst()) {
			delete(l.m, name)
		}
	}
}

// Len is the number of buckets held, for tests.
func (l *Limiters) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// limit takes a token for the request's actor, when it is limited, and
// sets the RateLimit-* headers; over the limit it is rate_limited, with
// Retry-After.
func (s *Server) limit(w http.ResponseWriter, a auth.Actor) error {
	name, lim := s.rateOf(a)
	if lim.PerSecond <= 0 {
		return nil
	}
	v := s.limiters.Take(name, lim, s.clock.Now())
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(v.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(v.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(v.Reset.Seconds())), 10))
	if v.OK {
		return nil
	}
	e := failure.New(failure.RateLimited, "over the rate limit of %s a second (burst %d); retry after Retry-After seconds",
		strconv.FormatFloat(lim.PerSecond, 'f', -1, 64), lim.Burst)
	e.RetryAfter = max(v.RetryAfter, time.Second)
	return e
}

// rateOf is the bucket an actor draws from and its limit.
func (s *Server) rateOf(a auth.Actor) (string, auth.RateLimit) {
	switch {
	case a.IsMember():
		return "member:" + a.ProgramID + ":" + a.MemberID, MemberRate
	case a.Kind == operator.KindOperator:
		return "operator:" + a.ID, OperatorRate
	case a.RateLimit != nil:
		return "key:" + a.ID, *a.RateLimit
	}
	return "key:" + a.ID, s.rateLimit
}
