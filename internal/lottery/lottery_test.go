package lottery

import (
	crand "crypto/rand"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/jifen/jifen/internal/store"
)

func i64(v int64) *int64 { return &v }

// chacha is a seeded stream for deterministic draws in tests (production
// draws read crypto/rand).
type chacha struct{ r *rand.ChaCha8 }

func (c chacha) Read(p []byte) (int, error) { return c.r.Read(p) }

// Over many draws the prizes come out in proportion to their weights among
// those in stock: a chi-square test at p = 0.001, on a fixed seed so the
// test is deterministic.
func TestOddsFollowWeights(t *testing.T) {
	prizes := []store.Prize{
		{Index: 0, Name: "grand", Weight: 1},
		{Index: 1, Name: "sold out", Weight: 50, Stock: i64(0)},
		{Index: 2, Name: "small", Weight: 3},
		{Index: 3, Name: "tiny", Weight: 6, Stock: i64(1_000_000)},
	}
	src := chacha{rand.NewChaCha8([32]byte{7, 7, 7})}
	total := Total(prizes)
	if total != 10 {
		t.Fatalf("weight in stock %d, want 10", total)
	}
	const n = 100_000
	counts := map[int]int{}
	for i := 0; i < n; i++ {
		u, err := crand.Int(src, big.NewInt(total))
		if err != nil {
			t.Fatal(err)
		}
		counts[Pick(prizes, u.Int64())]++
	}
	if counts[1] != 0 || counts[-1] != 0 {
		t.Fatalf("an out-of-stock prize or the fallback came out: %v", counts)
	}
	chi := 0.0
	for idx, w := range map[int]float64{0: 1, 2: 3, 3: 6} {
		want := n * w / 10
		d := float64(counts[idx]) - want
		chi += d * d / want
	}
	if chi > 13.82 { // 2 degrees of freedom, p = 0.001
		t.Fatalf("counts %v do not follow weights 1:3:6 (chi-square %.2f)", counts, chi)
	}
	if math.IsNaN(chi) {
		t.Fatal("no draws")
	}
}

func TestPickEdges(t *testing.T) {
	prizes := []store.Prize{{Index: 0, Weight: 2}, {Index: 1, Weight: 3, Stock: i64(0)}, {Index: 2, Weight: 5}}
	for u, want := range map[int64]int{0: 0, 1: 0, 2: 2, 6: 2} {
		if got := Pick(prizes, u); got != want {
			t.Errorf("Pick(%d) = %d, want %d", u, got, want)
		}
	}
	none := []store.Prize{{Index: 0, Weight: 2, Stock: i64(0)}}
	if Total(none) != 0 || Pick(none, 0) != -1 {
		t.Error("with nothing in stock the draw must fall back")
	}
	if got := ratio(1, 3); got != "0.333333" {
		t.Errorf("ratio(1, 3) = %s", got)
	}
	if got := ratio(1, 4); got != "0.25" {
		t.Errorf("ratio(1, 4) = %s", got)
	}
}
