package events

import (
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

// Refunds that add up to the whole order claw back exactly each award,
// however the order is split, and never more than the award along the way.
func TestRefundProportionProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		amount := rapid.Int64Range(1, 1<<40).Draw(t, "amount")
		award := rapid.Int64Range(0, 1<<40).Draw(t, "award")
		var refunded, clawed int64
		for refunded < amount {
			part := rapid.Int64Range(1, amount-refunded).Draw(t, "part")
			step := lostAfter(award, refunded+part, amount) - lostAfter(award, refunded, amount)
			if step < 0 {
				t.Fatalf("a refund gave points back: %d", step)
			}
			clawed += step
			refunded += part
			// floor(P × R / A), computed exactly.
			want := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(award), big.NewInt(refunded)), big.NewInt(amount))
			if clawed != want.Int64() {
				t.Fatalf("after %d of %d: clawed %d, want floor(%d × %d / %d) = %s", refunded, amount, clawed, award, refunded, amount, want)
			}
		}
		if clawed != award {
			t.Fatalf("whole order refunded: clawed %d of %d", clawed, award)
		}
	})
}
