package mall

import (
	"github.com/jifen/jifen/internal/failure"
)

// Quote is how many points a member may use on an order and what they take
// off it.
type Quote struct {
	MaxPoints      int64 `json:"max_points"`
	MaxDiscount    int64 `json:"max_discount"`
	PointsPerYuan  int64 `json:"points_per_yuan"`
	CouponDiscount int64 `json:"coupon_discount"`
	Payable        int64 `json:"payable"` // fen left to pay after the coupon and the most points
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// QuoteFor works out the points a member may use on an order of amount
// fen: at most maxPercent of what is left after the coupon, at most what
// the member has, and only in steps that are whole fen (with 150 points
// per yuan, 3 points are 2 fen, so points go in steps of 3).
func QuoteFor(amount, couponDiscount, available, pointsPerYuan, maxPercent int64) (Quote, error) {
	if amount < 0 {
		return Quote{}, failure.Field("order_amount", "must not be negative")
	}
	q := Quote{PointsPerYuan: pointsPerYuan, CouponDiscount: min(couponDiscount, amount)}
	base := amount - q.CouponDiscount
	q.MaxDiscount, q.MaxPoints = MaxOffset(base, available, pointsPerYuan, maxPercent)
	q.Payable = base - q.MaxDiscount
	return q, nil
}

// MaxOffset is the most of an order of amount fen that points may pay, in
// fen and in points: at most maxPercent of it, at most available points
// (available < 0: no bound), in whole-fen steps.
func MaxOffset(amount, available, pointsPerYuan, maxPercent int64) (fen, points int64) {
	fen = amount * maxPercent / 100
	if available >= 0 {
		fen = min(fen, available*100/pointsPerYuan)
	}
	// A discount of d fen costs d × ppy / 100 points; it must be whole.
	step := 100 / gcd(pointsPerYuan, 100)
	fen -= fen % step
	return fen, fen * pointsPerYuan / 100
}
