package events

import "math/bits"

// mul64 multiplies two non-negative int64s into 128 bits.
func mul64(a, b int64) (hi, lo uint64) { return bits.Mul64(uint64(a), uint64(b)) }

// div128 divides a 128-bit non-negative number by d > 0; the quotient is
// below the dividend's first factor, so it fits.
func div128(hi, lo uint64, d int64) int64 {
	q, _ := bits.Div64(hi, lo, uint64(d))
	return int64(q)
}
