// Package clock is the one source of "now" for domain code, and reads
// instants from input. Nothing in the domain calls time.Now(): a Clock is
// passed in, read once per operation, and the value passed down, so tests
// and as_of jobs control time.
package clock

import (
	"sync"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// Clock tells the current instant in UTC.
type Clock interface{ Now() time.Time }

// System reads the machine's clock.
type System struct{}

// Now returns the current time in UTC, truncated to the millisecond that
// the store keeps.
func (System) Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Fake is a Clock that tests set and advance. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a fake clock standing at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC().Truncate(time.Millisecond)} }

// Now returns the clock's current instant.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Set moves the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t.UTC().Truncate(time.Millisecond)
	f.mu.Unlock()
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d).Truncate(time.Millisecond)
	f.mu.Unlock()
}

// Parse reads an optional RFC 3339 instant from input; field names it in
// the error. An empty or absent value is nil.
func Parse(field string, v *string) (*time.Time, error) {
	if v == nil || *v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return nil, failure.Field(field, "must be an RFC 3339 time with an offset, such as 2026-11-26T10:00:00+08:00")
	}
	t = t.UTC().Truncate(time.Millisecond)
	if t.Year() < 0 || t.Year() > 9999 {
		// It would be stored, then fail every answer that shows it.
		return nil, failure.Field(field, "must be between years 0000 and 9999 in UTC")
	}
	return &t, nil
}
