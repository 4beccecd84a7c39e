package httpapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
)

// Buckets that are full again are forgotten, so names that stop calling
// do not grow the map; one still drawing down is kept.
func TestLimitersForgetIdleBuckets(t *testing.T) {
	l := NewLimiters()
	now := time.Unix(1_700_000_000, 0)
	lim := auth.RateLimit{PerSecond: 10, Burst: 20}
	for i := range 1000 {
		l.Take(fmt.Sprint("ip:", i), lim, now)
	}
	busy := auth.RateLimit{PerSecond: 0.001, Burst: 1}
	l.Take("busy", busy, now)
	if n := l.Len(); n != 1001 {
		t.Fatalf("%d buckets, want 1001", n)
	}
	now = now.Add(2 * time.Minute) // everyone's full again but busy's
	if v := l.Take("another", lim, now); !v.OK || v.Remaining != 19 || v.Limit != 20 {
		t.Fatalf("verdict %+v", v)
	}
	if n := l.Len(); n != 2 {
		t.Fatalf("%d buckets after the sweep, want 2 (busy and another)", n)
	}
	if v := l.Take("busy", busy, now); v.OK || v.RetryAfter <= 0 {
		t.Fatalf("busy was forgotten: %+v", v)
	}
}
