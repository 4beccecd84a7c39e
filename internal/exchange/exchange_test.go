package exchange

import (
	"testing"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/rules"
)

// Received is floor(points × rate), exact where a float is not.
func TestReceived(t *testing.T) {
	for _, c := range []struct {
		points int64
		rate   string
		want   int64
	}{
		{7, "0.333333", 2},
		{3, "1.5", 4},
		{2, "0.333333", 0},
		{3, "0.333333", 0}, // 0.999999
		{1_000_000, "0.333333", 333_333},
		{10, "0.1", 1},
		{3, "0.7", 2}, // 2.1
		{1_000_000, "0.000001", 1},
		{999_999, "0.000001", 0},
		{100, "0.07", 7},
		{ledger.MaxPoints, "1", ledger.MaxPoints},
	} {
		if got := Received(c.points, rules.MustRate(c.rate)); got != c.want {
			t.Errorf("%d × %s = %d, want %d", c.points, c.rate, got, c.want)
		}
	}
	// Beyond int64: more than any amount the ledger takes, never wrapped.
	if got := Received(ledger.MaxPoints, rules.MustRate("999999999.999999")); got <= ledger.MaxPoints {
		t.Errorf("a trillion × 999999999.999999 = %d", got)
	}
}
