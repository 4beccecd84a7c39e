package httpapi_test

import (
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

type lotteryObj struct {
	ID     string `json:"id"`
	Prizes []struct {
		Name        string `json:"name"`
		Stock       *int64 `json:"stock"`
		Won         int64  `json:"won"`
		Probability string `json:"probability"`
	} `json:"prizes"`
	FallbackPrize struct {
		Name        string `json:"name"`
		Probability string `json:"probability"`
	} `json:"fallback_prize"`
}

type drawObj struct {
	ID    string `json:"id"`
	Prize struct {
		Index int    `json:"index"`
		Name  string `json:"name"`
	} `json:"prize"`
	TransactionID      *string `json:"transaction_id"`
	PrizeTransactionID *string `json:"prize_transaction_id"`
	CouponCode         *string `json:"coupon_code"`
	RedemptionID       *string `json:"redemption_id"`
	RandomValue        string  `json:"random_value"`
	RandomRange        int64   `json:"random_range"`
}

func TestLottery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "3 off", "kind": "amount_off", "value": 300}).want(201, &tpl)
		mug := e.reward(map[string]any{"name": "Mug", "type": "physical", "points_price": 500, "stock": 1})
		e.post("/v1/lotteries", map[string]any{"name": "", "cost_points": -1, "prizes": []any{map[string]any{"name": "x", "weight": 0}}}).
			wantProblem(422, "validation_failed", "name", "cost_points", "prizes[0].weight", "fallback_prize")
		var l lotteryObj
		e.post("/v1/lotteries", map[string]any{"name": "Wheel", "cost_points": 10, "daily_limit": 5,
			"prizes": []any{
				map[string]any{"name": "100 points", "weight": 1, "stock": 1, "reward": map[string]any{"points": 100}},
				map[string]any{"name": "Coupon", "weight": 1, "stock": 1, "reward": map[string]any{"coupon_template_id": tpl.ID}},
				map[string]any{"name": "Mug", "weight": 1, "stock": 1, "reward": map[string]any{"reward_id": mug.ID}},
			},
			"fallback_prize": map[string]any{"name": "Thanks", "reward": map[string]any{"points": 1}}}).want(201, &l)
		if l.Prizes[0].Probability != "0.333333" || l.FallbackPrize.Probability != "0" {
			t.Fatalf("published odds %+v", l)
		}
		m := e.newMember(nil)
		e.post("/v1/lotteries/"+l.ID+"/draws", map[string]any{"member": m.ID}).wantProblem(422, "insufficient_points")
		e.earn(m.ID, 40)
		won := map[string]bool{}
		for i := 0; i < 4; i++ {
			var d drawObj
			e.post("/v1/lotteries/"+l.ID+"/draws", map[string]any{"member": m.ID}).want(201, &d)
			won[d.Prize.Name] = true
			if d.TransactionID == nil || d.RandomRange == 0 && d.Prize.Name != "Thanks" {
				t.Fatalf("draw %+v", d)
			}
			switch d.Prize.Name {
			case "100 points":
				if d.PrizeTransactionID == nil {
					t.Fatalf("points prize without a transaction: %+v", d)
				}
			case "Coupon":
				if d.CouponCode == nil {
					t.Fatalf("coupon prize without a coupon: %+v", d)
				}
			case "Mug":
				if d.RedemptionID == nil {
					t.Fatalf("reward prize without a redemption: %+v", d)
				}
			}
		}
		// Each prize had a stock of 1: three draws took them all, the fourth fell back.
		if !won["100 points"] || !won["Coupon"] || !won["Mug"] || !won["Thanks"] {
			t.Fatalf("prizes won %v", won)
		}
		e.get("/v1/lotteries/"+l.ID).want(200, &l)
		if l.FallbackPrize.Probability != "1" || l.Prizes[0].Probability != "0" {
			t.Fatalf("odds once everything is gone %+v", l)
		}
		// 40 − 4×10 + 100 + 1 = 101 points.
		if got := e.balance(m.ID).Available; got != 101 {
			t.Fatalf("balance after four draws %d, want 101", got)
		}
		e.post("/v1/lotteries/"+l.ID+"/draws", map[string]any{"member": m.ID}).want(201, nil)
		e.post("/v1/lotteries/"+l.ID+"/draws", map[string]any{"member": m.ID}).wantProblem(422, "limit_exceeded")
		e.clock.Advance(24 * time.Hour)
		e.post("/v1/lotteries/"+l.ID+"/draws", map[string]any{"member": m.ID}).want(201, nil)
		var draws listObj[drawObj]
		e.get("/v1/lotteries/"+l.ID+"/draws?member="+m.ID).want(200, &draws)
		if len(draws.Data) != 6 {
			t.Fatalf("%d draws recorded", len(draws.Data))
		}
		e.patch("/v1/lotteries/"+l.ID, map[string]any{"status": "paused"}).want(200, nil)
		e.post("/v1/lotteries/"+l.ID+"/draws", map[string]any{"member": m.ID}).wantProblem(409, "conflict")
		e.post("/v1/lotteries/lty_nope/draws", map[string]any{"member": m.ID}).wantProblem(404, "not_found")
		e.verify()
	})
}

// The fallback prize takes its name alone as shorthand, and the draws that
// fall to it count in its won like any prize's.
func TestLotteryFallback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var l lotteryObj
		e.post("/v1/lotteries", map[string]any{"name": "Wheel", "cost_points": 1,
			"prizes":         []any{map[string]any{"name": "Big", "weight": 1, "stock": 1, "reward": map[string]any{"points": 50}}},
			"fallback_prize": "谢谢参与"}).want(201, &l)
		if l.FallbackPrize.Name != "谢谢参与" {
			t.Fatalf("fallback %+v", l.FallbackPrize)
		}
		e.post("/v1/lotteries", map[string]any{"name": "Bad", "prizes": []any{map[string]any{"name": "p", "weight": 1}},
			"fallback_prize": ""}).wantProblem(422, "validation_failed", "fallback_prize.name")
		m := e.newMember(nil)
		e.earn(m.ID, 10)
		fell := 0
		for range 4 {
			var d struct {
				Prize struct {
					Index int   `json:"index"`
					Won   int64 `json:"won"`
				} `json:"prize"`
			}
			e.post("/v1/lotteries/"+l.ID+"/draws", map[string]any{"member": m.ID}).want(201, &d)
			if d.Prize.Index < 0 {
				fell++
				if d.Prize.Won != int64(fell) {
					t.Fatalf("draw %d fell back; its prize shows won %d", fell, d.Prize.Won)
				}
			}
		}
		var got struct {
			Prizes []struct {
				Won int64 `json:"won"`
			} `json:"prizes"`
			FallbackPrize struct {
				Won         int64  `json:"won"`
				Probability string `json:"probability"`
			} `json:"fallback_prize"`
		}
		e.get("/v1/lotteries/"+l.ID).want(200, &got)
		if fell != 3 || got.FallbackPrize.Won != 3 || got.Prizes[0].Won != 1 || got.FallbackPrize.Probability != "1" {
			t.Fatalf("4 draws, 1 prize in stock: %d fell back; lottery %+v", fell, got)
		}
		e.verify()
	})
}
