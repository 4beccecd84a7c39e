package httpapi_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

type rewardObj struct {
	ID     string `json:"id"`
	Stock  *int64 `json:"stock"`
	Sold   int64  `json:"sold"`
	Status string `json:"status"`
}

type redemptionObj struct {
	ID            string  `json:"id"`
	Status        string  `json:"status"`
	Points        int64   `json:"points"`
	CashPrice     int64   `json:"cash_price"`
	TransactionID *string `json:"transaction_id"`
	CouponCode    *string `json:"coupon_code"`
}

type couponObj struct {
	Code       string    `json:"code"`
	TemplateID string    `json:"template_id"`
	MemberID   string    `json:"member_id"`
	Status     string    `json:"status"`
	ValidUntil time.Time `json:"valid_until"`
	Discount   *int64    `json:"discount"`
}

func (e *env) reward(body map[string]any) rewardObj {
	e.t.Helper()
	var r rewardObj
	e.post("/v1/rewards", body).want(201, &r)
	return r
}

func (e *env) lots(member string) string {
	e.t.Helper()
	var l listObj[map[string]any]
	e.get("/v1/members/"+member+"/lots?limit=500").want(200, &l)
	out := ""
	for _, lot := range l.Data {
		out += fmt.Sprintf("%v:%v:%v ", lot["id"], lot["remaining"], lot["status"])
	}
	return out
}

func TestCheckoutQuote(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(nil)
		e.earn(m.ID, 3000)
		type quote struct {
			MaxPoints, MaxDiscount, PointsPerYuan, CouponDiscount, Payable int64
		}
		get := func(body map[string]any) quote {
			var q struct {
				MaxPoints      int64 `json:"max_points"`
				MaxDiscount    int64 `json:"max_discount"`
				PointsPerYuan  int64 `json:"points_per_yuan"`
				CouponDiscount int64 `json:"coupon_discount"`
				Payable        int64 `json:"payable"`
			}
			e.post("/v1/checkout/quote", body).want(200, &q)
			return quote{q.MaxPoints, q.MaxDiscount, q.PointsPerYuan, q.CouponDiscount, q.Payable}
		}
		// 100 points a yuan, at most 50%: an order of 100 yuan takes 50 yuan of points.
		if q := get(map[string]any{"member": m.ID, "order_amount": 10000}); q != (quote{5000*0 + 3000, 3000, 100, 0, 7000}) {
			t.Fatalf("balance-bound quote %+v", q)
		}
		if q := get(map[string]any{"member": m.ID, "order_amount": 2001}); q.MaxDiscount != 1000 || q.MaxPoints != 1000 {
			t.Fatalf("percent-bound quote %+v", q)
		}
		ppy, pct := int64(150), int64(100)
		e.patch("/v1/program", map[string]any{"points_per_yuan": ppy, "max_offset_percent": pct}).want(200, nil)
		// 150 points a yuan: 3 points are 2 fen, so points go in steps of 3.
		if q := get(map[string]any{"member": m.ID, "order_amount": 100000}); q.MaxPoints != 3000 || q.MaxDiscount != 2000 {
			t.Fatalf("step quote %+v", q)
		}
		e.earn(m.ID, 1)
		if q := get(map[string]any{"member": m.ID, "order_amount": 100000}); q.MaxPoints != 3000 || q.MaxDiscount != 2000 {
			t.Fatalf("3001 points still buy 2000 fen: %+v", q)
		}
		e.post("/v1/checkout/quote", map[string]any{"member": m.ID}).wantProblem(422, "validation_failed", "order_amount")
		e.post("/v1/checkout/quote", map[string]any{"member": "ext:none", "order_amount": 1}).wantProblem(404, "not_found")
		// A coupon comes off first; points pay a share of the rest.
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "10 off", "kind": "amount_off", "value": 1000}).want(201, &tpl)
		var c couponObj
		e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": m.ID}).want(201, &c)
		e.patch("/v1/program", map[string]any{"points_per_yuan": 100, "max_offset_percent": 50}).want(200, nil)
		if q := get(map[string]any{"member": m.ID, "order_amount": 5000, "coupon": c.Code}); q != (quote{2000, 2000, 100, 1000, 2000}) {
			t.Fatalf("quote with coupon %+v", q)
		}
	})
}

func TestMall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.call(e.admin, "PUT", "/v1/tiers", tiersBody).want(200, nil)
		e.post("/v1/rewards", map[string]any{"name": "", "type": "food", "points_price": -1, "stock": -2, "tiers": []string{"nope"}}).
			wantProblem(422, "validation_failed", "name", "type", "points_price", "stock", "tiers")
		e.post("/v1/rewards", map[string]any{"name": "c", "type": "coupon", "points_price": 10}).
			wantProblem(422, "validation_failed", "coupon_template_id")
		mug := e.reward(map[string]any{"name": "Mug", "type": "physical", "points_price": 500, "cash_price": 990, "stock": 3, "per_member_limit": 2})
		m := e.newMember(nil)
		e.earn(m.ID, 1200)
		before := e.lots(m.ID)
		var r1 redemptionObj
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": mug.ID}).want(201, &r1)
		if r1.Status != "pending" || r1.Points != 500 || r1.CashPrice != 990 || r1.TransactionID == nil {
			t.Fatalf("redemption %+v", r1)
		}
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": mug.ID, "quantity": 2}).wantProblem(422, "limit_exceeded")
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": mug.ID}).want(201, nil)
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": mug.ID}).wantProblem(422, "limit_exceeded")
		other := e.newMember(nil)
		e.post("/v1/redemptions", map[string]any{"member": other.ID, "reward_id": mug.ID}).wantProblem(422, "insufficient_points")
		var got rewardObj
		e.get("/v1/rewards/"+mug.ID).want(200, &got)
		if *got.Stock != 1 || got.Sold != 2 {
			t.Fatalf("a member without points took stock: %+v", got)
		}
		e.earn(other.ID, 1000)
		e.post("/v1/redemptions", map[string]any{"member": other.ID, "reward_id": mug.ID}).want(201, nil)
		e.post("/v1/redemptions", map[string]any{"member": other.ID, "reward_id": mug.ID}).wantProblem(409, "out_of_stock")
		if e.balance(other.ID).Available != 500 {
			t.Fatalf("sold out took points: %+v", e.balance(other.ID))
		}

		// Cancel puts back exactly what was taken: points into the same lots, stock.
		var c redemptionObj
		e.post("/v1/redemptions/"+r1.ID+"/cancel", nil).want(200, &c)
		if c.Status != "cancelled" || e.balance(m.ID).Available != 200+500 {
			t.Fatalf("cancel %+v, balance %+v", c, e.balance(m.ID))
		}
		e.post("/v1/redemptions/"+r1.ID+"/cancel", nil).wantProblem(409, "conflict")
		e.post("/v1/redemptions/"+r1.ID+"/fulfil", nil).wantProblem(409, "conflict")
		e.get("/v1/rewards/"+mug.ID).want(200, &got)
		if *got.Stock != 1 || got.Sold != 2 {
			t.Fatalf("stock after cancel %+v", got)
		}
		// A fulfilled redemption is final: no cancel, no points back.
		var list listObj[redemptionObj]
		e.get("/v1/redemptions?member="+m.ID+"&status=pending").want(200, &list)
		if len(list.Data) != 1 {
			t.Fatalf("pending redemptions %+v", list.Data)
		}
		r2 := list.Data[0]
		e.post("/v1/redemptions/"+r2.ID+"/fulfil", nil).want(200, &c)
		if c.Status != "fulfilled" {
			t.Fatalf("fulfil %+v", c)
		}
		e.post("/v1/redemptions/"+r2.ID+"/fulfil", nil).wantProblem(409, "conflict")
		e.post("/v1/redemptions/"+r2.ID+"/cancel", nil).wantProblem(409, "conflict")
		if e.balance(m.ID).Available != 700 {
			t.Fatalf("a cancel refused after fulfil changed the balance: %+v", e.balance(m.ID))
		}
		// Goods returned after delivery: reverse the redemption's transaction.
		e.post("/v1/transactions/"+*r2.TransactionID+"/reverse", map[string]any{"reason": "returned"}).want(201, nil)
		if after := e.lots(m.ID); after != before || e.balance(m.ID).Available != 1200 {
			t.Fatalf("cancel and reversal left lots\n%s\nnot\n%s", after, before)
		}

		// Windows and tiers.
		now := e.clock.Now()
		soon := e.reward(map[string]any{"name": "Soon", "type": "virtual", "points_price": 1, "starts_at": now.Add(time.Hour).Format(time.RFC3339)})
		past := e.reward(map[string]any{"name": "Past", "type": "virtual", "points_price": 1, "ends_at": now.Add(-time.Hour).Format(time.RFC3339),
			"starts_at": now.Add(-2 * time.Hour).Format(time.RFC3339)})
		gold := e.reward(map[string]any{"name": "Gold lounge", "type": "privilege", "points_price": 1, "tiers": []string{"gold", "black"}})
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": soon.ID}).wantProblem(422, "not_started")
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": past.ID}).wantProblem(422, "ended")
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": gold.ID}).wantProblem(403, "forbidden")
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": "rwd_nope"}).wantProblem(404, "not_found")
		var avail listObj[rewardObj]
		e.get("/v1/rewards?available_to="+m.ID).want(200, &avail)
		ids := map[string]bool{}
		for _, r := range avail.Data {
			ids[r.ID] = true
		}
		if !ids[mug.ID] || ids[soon.ID] || ids[past.ID] || ids[gold.ID] {
			t.Fatalf("available_to %v", ids)
		}
		e.clock.Advance(2 * time.Hour)
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": soon.ID}).want(201, nil)

		// A coupon reward issues its coupon; cancelling voids it; a used one cannot be cancelled.
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "5 off", "kind": "amount_off", "value": 500}).want(201, &tpl)
		cr := e.reward(map[string]any{"name": "Coupon", "type": "coupon", "points_price": 100, "coupon_template_id": tpl.ID})
		var rc redemptionObj
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": cr.ID}).want(201, &rc)
		if rc.CouponCode == nil {
			t.Fatalf("coupon reward gave no coupon: %+v", rc)
		}
		e.post("/v1/redemptions/"+rc.ID+"/cancel", nil).want(200, nil)
		var cp couponObj
		e.get("/v1/coupons/"+*rc.CouponCode).want(200, &cp)
		if cp.Status != "void" {
			t.Fatalf("cancelled redemption's coupon is %s", cp.Status)
		}
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": cr.ID}).want(201, &rc)
		e.post("/v1/coupons/"+*rc.CouponCode+"/redeem", map[string]any{"member": m.ID, "order_amount": 1000, "reference": "o-1"}).want(200, nil)
		e.post("/v1/redemptions/"+rc.ID+"/cancel", nil).wantProblem(409, "conflict")
		e.verify()
	})
}

func TestCoupons(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.post("/v1/coupon-templates", map[string]any{"name": "x", "kind": "percent_off", "value": 120, "valid_days": 3,
			"valid_until": "2027-01-01T00:00:00Z"}).wantProblem(422, "validation_failed", "value", "valid_days")
		var full, pct, daily struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "满100减20", "kind": "amount_off", "value": 2000, "min_order": 10000,
			"total": 3, "per_member_limit": 2, "valid_days": 7, "transferable": true}).want(201, &full)
		e.post("/v1/coupon-templates", map[string]any{"name": "85折 up to 30", "kind": "percent_off", "value": 15, "max_discount": 3000,
			"points_price": 200}).want(201, &pct)
		e.post("/v1/coupon-templates", map[string]any{"name": "10 o'clock", "kind": "amount_off", "value": 100,
			"daily_release": map[string]any{"time": "10:00", "quantity": 2}}).want(201, &daily)
		a, bm := e.newMember(nil), e.newMember(nil)
		var c1 couponObj
		e.post("/v1/coupon-templates/"+full.ID+"/claim", map[string]any{"member": a.ID}).want(201, &c1)
		if c1.Status != "active" || !c1.ValidUntil.Equal(e.clock.Now().Add(7*24*time.Hour)) {
			t.Fatalf("claimed %+v", c1)
		}
		e.post("/v1/coupon-templates/"+full.ID+"/claim", map[string]any{"member": a.ID}).want(201, nil)
		e.post("/v1/coupon-templates/"+full.ID+"/claim", map[string]any{"member": a.ID}).wantProblem(422, "limit_exceeded")
		e.post("/v1/coupon-templates/"+full.ID+"/claim", map[string]any{"member": bm.ID}).want(201, nil)
		e.post("/v1/coupon-templates/"+full.ID+"/claim", map[string]any{"member": bm.ID}).wantProblem(409, "out_of_stock")

		// Validate, then redeem once per reference.
		type check struct {
			OK       bool   `json:"ok"`
			Discount int64  `json:"discount"`
			Reason   string `json:"reason"`
		}
		var ch check
		e.post("/v1/coupons/"+c1.Code+"/validate", map[string]any{"member": a.ID, "order_amount": 9999}).want(200, &ch)
		if ch.OK || ch.Reason != "below_min_order" {
			t.Fatalf("below the threshold: %+v", ch)
		}
		e.post("/v1/coupons/"+c1.Code+"/validate", map[string]any{"member": bm.ID, "order_amount": 20000}).want(200, &ch)
		if ch.OK || ch.Reason != "not_owner" {
			t.Fatalf("another member: %+v", ch)
		}
		e.post("/v1/coupons/"+c1.Code+"/validate", map[string]any{"member": a.ID, "order_amount": 20000}).want(200, &ch)
		if !ch.OK || ch.Discount != 2000 {
			t.Fatalf("valid: %+v", ch)
		}
		var red couponObj
		e.post("/v1/coupons/"+c1.Code+"/redeem", map[string]any{"member": a.ID, "order_amount": 20000, "reference": "ord-1"}).want(200, &red)
		if red.Status != "redeemed" || *red.Discount != 2000 {
			t.Fatalf("redeemed %+v", red)
		}
		e.post("/v1/coupons/"+c1.Code+"/redeem", map[string]any{"member": a.ID, "order_amount": 20000, "reference": "ord-1"}).want(200, nil)
		e.post("/v1/coupons/"+c1.Code+"/redeem", map[string]any{"member": a.ID, "order_amount": 20000, "reference": "ord-2"}).wantProblem(409, "conflict")
		e.post("/v1/coupons/"+c1.Code+"/redeem", map[string]any{"member": a.ID, "order_amount": 20000}).wantProblem(422, "validation_failed", "reference")
		e.post("/v1/coupons/"+c1.Code+"/unredeem", map[string]any{"reference": "ord-2"}).wantProblem(409, "conflict")
		e.post("/v1/coupons/"+c1.Code+"/unredeem", map[string]any{"reference": "ord-1"}).want(200, &red)
		if red.Status != "active" {
			t.Fatalf("unredeemed %+v", red)
		}
		e.post("/v1/coupons/NOSUCHCODE/validate", map[string]any{"member": a.ID, "order_amount": 1}).wantProblem(404, "not_found")

		// Transfer, to a friend.
		var tr couponObj
		e.post("/v1/coupons/"+c1.Code+"/transfer", map[string]any{"to": bm.ID}).want(200, &tr)
		if tr.MemberID != bm.ID {
			t.Fatalf("transferred %+v", tr)
		}
		e.post("/v1/coupons/"+c1.Code+"/transfer", map[string]any{"to": "ext:ghost"}).wantProblem(404, "not_found")

		// Points price (积分换券): bought with points; not transferable.
		e.post("/v1/coupon-templates/"+pct.ID+"/claim", map[string]any{"member": a.ID}).wantProblem(422, "insufficient_points")
		e.earn(a.ID, 250)
		var pc couponObj
		e.post("/v1/coupon-templates/"+pct.ID+"/claim", map[string]any{"member": a.ID}).want(201, &pc)
		if e.balance(a.ID).Available != 50 {
			t.Fatalf("points price not taken: %+v", e.balance(a.ID))
		}
		e.post("/v1/coupons/"+pc.Code+"/validate", map[string]any{"member": a.ID, "order_amount": 100000}).want(200, &ch)
		if ch.Discount != 3000 {
			t.Fatalf("15%% of 1000 yuan capped at 30: %+v", ch)
		}
		e.post("/v1/coupons/"+pc.Code+"/transfer", map[string]any{"to": bm.ID}).wantProblem(409, "conflict")

		// Daily release at 10:00 local, two a day.
		e.clock.Set(time.Date(2026, 3, 2, 1, 59, 0, 0, time.UTC)) // 09:59 Shanghai
		e.post("/v1/coupon-templates/"+daily.ID+"/claim", map[string]any{"member": a.ID}).wantProblem(422, "not_started")
		e.clock.Advance(time.Minute)
		e.post("/v1/coupon-templates/"+daily.ID+"/claim", map[string]any{"member": a.ID}).want(201, nil)
		e.post("/v1/coupon-templates/"+daily.ID+"/claim", map[string]any{"member": bm.ID}).want(201, nil)
		e.post("/v1/coupon-templates/"+daily.ID+"/claim", map[string]any{"member": a.ID}).wantProblem(409, "out_of_stock")
		e.clock.Advance(24 * time.Hour)
		e.post("/v1/coupon-templates/"+daily.ID+"/claim", map[string]any{"member": a.ID}).want(201, nil)

		// Expiry.
		e.clock.Advance(40 * 24 * time.Hour)
		e.post("/v1/coupons/"+pc.Code+"/redeem", map[string]any{"member": a.ID, "order_amount": 1000, "reference": "late"}).wantProblem(422, "ended")
		var ex struct {
			N int64 `json:"coupons_expired"`
		}
		e.post("/v1/jobs/expire-coupons", nil).want(200, &ex)
		if ex.N < 3 {
			t.Fatalf("expired %d coupons", ex.N)
		}
		var mine listObj[couponObj]
		e.get("/v1/members/"+a.ID+"/coupons?status=expired").want(200, &mine)
		if len(mine.Data) < 2 {
			t.Fatalf("a's expired coupons %+v", mine.Data)
		}
		e.verify()
	})
}

// A flash sale: a start time, a small stock, one per member. Members race
// from several server processes (PostgreSQL: several pools on one
// database); exactly the stock is sold, and no one who lost pays.
func TestFlashSale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		dsn := b.DSN(t)
		nodes := newNodes(t, dsn, 3)
		e := nodes[0]
		start := e.clock.Now().Add(time.Minute)
		sale := e.reward(map[string]any{"name": "Flash", "type": "physical", "points_price": 100, "stock": 10,
			"per_member_limit": 1, "starts_at": start.Format(time.RFC3339)})
		members := make([]string, 60)
		for i := range members {
			members[i] = e.newMember(nil).ID
			if i%6 != 5 { // every sixth member cannot afford it
				e.earn(members[i], 150)
			}
		}
		e.post("/v1/redemptions", map[string]any{"member": members[0], "reward_id": sale.ID}).wantProblem(422, "not_started")
		for _, n := range nodes {
			n.clock.Set(start)
		}
		var sold, out, short, limit atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 300; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				n := nodes[i%len(nodes)]
				r := n.call(n.admin, "POST", "/v1/redemptions", map[string]any{"member": members[i%len(members)], "reward_id": sale.ID})
				switch r.Status {
				case 201:
					sold.Add(1)
				case 409:
					out.Add(1)
				case 422:
					p := r.wantProblem(422, problemCode(r))
					switch p.Code {
					case "insufficient_points":
						short.Add(1)
					case "limit_exceeded":
						limit.Add(1)
					default:
						t.Errorf("unexpected %s", r.Body)
					}
				default:
					t.Errorf("status %d: %s", r.Status, r.Body)
				}
			}(i)
		}
		wg.Wait()
		if sold.Load() != 10 {
			t.Fatalf("sold %d of 10 (out of stock %d, short %d, limit %d)", sold.Load(), out.Load(), short.Load(), limit.Load())
		}
		var got rewardObj
		e.get("/v1/rewards/"+sale.ID).want(200, &got)
		if *got.Stock != 0 || got.Sold != 10 {
			t.Fatalf("reward after the sale %+v", got)
		}
		paid := 0
		for _, m := range members {
			bal := e.balance(m)
			switch bal.Available {
			case 50:
				paid++
			case 150, 0:
			default:
				t.Fatalf("member %s has %d points", m, bal.Available)
			}
		}
		if paid != 10 {
			t.Fatalf("%d members paid, 10 won", paid)
		}
		e.verify()
	})
}

func problemCode(r resp) string {
	var p struct {
		Code string `json:"code"`
	}
	jsonUnmarshal(r.Body, &p)
	return p.Code
}
