// Package clock is the one source of "now" for domain code. Nothing in the
// domain calls time.Now(): a Clock is passed in, read once per operation,
// and the value passed down, so tests and as_of jobs control time.
package clock

import (
	"sync"
	"time"
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
