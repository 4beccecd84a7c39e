package httpapi_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

func TestPoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		t.Run("earn, spend, hold, capture, reverse", func(t *testing.T) {
			m := e.newMember(map[string]any{"external_id": "w-1"})
			base := "/v1/members/ext:w-1"
			var earn txnObj
			e.post(base+"/points/earn", map[string]any{"points": 1000, "reason": "order 1", "reference": "o-1",
				"metadata": map[string]any{"channel": "pos"}}).want(201, &earn)
			if earn.Type != "earn" || earn.Points != 1000 || earn.MemberID != m.ID || earn.Currency != "points" {
				t.Fatalf("earn = %+v", earn)
			}
			var spend txnObj
			e.post(base+"/points/spend", map[string]any{"points": 300}).want(201, &spend)
			e.post(base+"/points/spend", map[string]any{"points": 701}).wantProblem(422, "insufficient_points")
			e.post(base+"/points/spend", map[string]any{"points": 0}).wantProblem(422, "validation_failed", "points")
			e.post(base+"/points/spend", map[string]any{"points": 5, "currency": "growth"}).wantProblem(422, "validation_failed", "currency")
			e.post(base+"/points/earn", map[string]any{"points": 5, "currency": "stars"}).wantProblem(422, "validation_failed", "currency")

			var h holdObj
			e.post(base+"/holds", map[string]any{"points": 200, "reference": "order-9"}).want(201, &h)
			if h.Status != "held" || h.Points != 200 || !h.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) {
				t.Fatalf("hold = %+v", h)
			}
			e.post(base+"/holds", map[string]any{"points": 501}).wantProblem(422, "insufficient_points")
			if got := e.balance(m.ID); got.Available != 500 || got.Held != 200 {
				t.Fatalf("after hold: %+v", got)
			}
			var c holdObj
			e.post("/v1/holds/"+h.ID+"/capture", map[string]any{"points": 150}).want(200, &c)
			if c.Status != "captured" || c.Captured != 150 || c.TransactionID == "" {
				t.Fatalf("capture = %+v", c)
			}
			e.post("/v1/holds/"+h.ID+"/capture", nil).wantProblem(409, "conflict")
			e.post("/v1/holds/"+h.ID+"/release", nil).wantProblem(409, "conflict")
			if got := e.balance(m.ID); got.Available != 550 || got.Held != 0 || got.LifetimeSpent != 450 {
				t.Fatalf("after capture: %+v", got)
			}
			var h2 holdObj
			e.post(base+"/holds", map[string]any{"points": 50, "expires_in_seconds": 60}).want(201, &h2)
			e.post("/v1/holds/"+h2.ID+"/release", nil).want(200, &h2)
			if h2.Status != "released" {
				t.Fatalf("release = %+v", h2)
			}
			e.post("/v1/holds/"+h2.ID+"/capture", nil).wantProblem(409, "conflict")
			e.post("/v1/holds/hold_nope/capture", nil).wantProblem(404, "not_found")
			var holds listObj[holdObj]
			e.get(base+"/holds?status=released").want(200, &holds)
			if len(holds.Data) != 1 || holds.Data[0].ID != h2.ID {
				t.Fatalf("released holds = %+v", holds.Data)
			}

			// Reverse part of the spend, then too much.
			var rev txnObj
			e.post("/v1/transactions/"+spend.ID+"/reverse", map[string]any{"points": 100, "reason": "refund"}).want(201, &rev)
			if rev.Type != "reverse" || rev.Reverses != spend.ID || rev.Points != 100 {
				t.Fatalf("reverse = %+v", rev)
			}
			e.post("/v1/transactions/"+spend.ID+"/reverse", map[string]any{"points": 201}).wantProblem(422, "limit_exceeded")
			// Reverse the capture whole, and the earn whole: the member ends in debt.
			e.post("/v1/transactions/"+c.TransactionID+"/reverse", nil).want(201, nil)
			e.post("/v1/transactions/"+earn.ID+"/reverse", nil).want(201, nil)
			got := e.balance(m.ID)
			if got.Available != 0 || got.Debt != 200 || got.LifetimeEarned != 0 {
				t.Fatalf("after reversing the earn: %+v", got)
			}
			e.post("/v1/transactions/"+earn.ID+"/reverse", nil).wantProblem(422, "limit_exceeded")
			e.post("/v1/transactions/"+h.ID+"/reverse", nil).wantProblem(404, "not_found")

			var full txnObj
			e.get("/v1/transactions/"+spend.ID).want(200, &full)
			if len(full.LotMoves) != 1 || full.LotMoves[0].Kind != "redeem" || full.LotMoves[0].Points != -300 {
				t.Fatalf("spend lot moves = %+v", full.LotMoves)
			}
			var txns listObj[txnObj]
			e.get(base+"/transactions?type=reverse").want(200, &txns)
			if len(txns.Data) != 3 {
				t.Fatalf("%d reverse transactions, want 3", len(txns.Data))
			}
			e.get(base+"/transactions?type=bogus").wantProblem(422, "validation_failed", "type")
			var all listObj[txnObj]
			e.get(base+"/transactions?limit=500").want(200, &all)
			if len(all.Data) != 10 {
				t.Fatalf("%d transactions, want 10", len(all.Data))
			}
			e.verify()
		})
		t.Run("adjust", func(t *testing.T) {
			m := e.newMember(nil)
			e.post("/v1/members/"+m.ID+"/points/adjust", map[string]any{"points": 40, "reason": "goodwill"}).want(201, nil)
			var neg txnObj
			e.post("/v1/members/"+m.ID+"/points/adjust", map[string]any{"points": -15, "reason": "correction"}).want(201, &neg)
			if neg.Points != -15 || neg.Type != "adjust" {
				t.Fatalf("adjust = %+v", neg)
			}
			e.post("/v1/members/"+m.ID+"/points/adjust", map[string]any{"points": -26, "reason": "x"}).wantProblem(422, "insufficient_points")
			e.post("/v1/members/"+m.ID+"/points/adjust", map[string]any{"points": 0}).wantProblem(422, "validation_failed", "points", "reason")
			if got := e.balance(m.ID); got.Available != 25 {
				t.Fatalf("adjusted balance %+v", got)
			}
		})
		t.Run("pending points and expiry jobs", func(t *testing.T) {
			m := e.newMember(nil)
			now := e.clock.Now()
			avail := now.Add(48 * time.Hour).Format(time.RFC3339)
			exp := now.Add(30 * 24 * time.Hour).Format(time.RFC3339)
			var pend txnObj
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 70, "available_at": avail}).want(201, &pend)
			if pend.Status != "pending" {
				t.Fatalf("status %s", pend.Status)
			}
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 30, "expires_at": exp}).want(201, nil)
			got := e.balance(m.ID)
			if got.Pending != 70 || got.Available != 30 || len(got.Expiring) != 1 || got.Expiring[0].Points != 30 ||
				got.Expiring[0].Date != now.Add(30*24*time.Hour).In(shanghai).Format(time.DateOnly) {
				t.Fatalf("balance = %+v", got)
			}
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5, "expires_at": "tomorrow"}).
				wantProblem(422, "validation_failed", "expires_at")
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 1_000_000_000_001}).
				wantProblem(422, "validation_failed", "points")
			e.post("/v1/jobs/activate-pending", map[string]any{"as_of": now.Add(time.Hour).Add(time.Minute).Format(time.RFC3339)}).
				wantProblem(422, "validation_failed", "as_of")
			e.clock.Advance(49 * time.Hour)
			var act struct {
				Lots   int64 `json:"lots_activated"`
				Points int64 `json:"points_activated"`
			}
			e.post("/v1/jobs/activate-pending", nil).want(200, &act)
			if act.Lots != 1 || act.Points != 70 {
				t.Fatalf("activate = %+v", act)
			}
			e.clock.Advance(40 * 24 * time.Hour)
			var ex struct {
				Lots   int64 `json:"lots_expired"`
				Points int64 `json:"points_expired"`
			}
			// As of a day before the expiry nothing expires; as of now it does.
			e.post("/v1/jobs/expire", map[string]any{"as_of": now.Add(29 * 24 * time.Hour).Format(time.RFC3339)}).want(200, &ex)
			if ex.Lots != 0 {
				t.Fatalf("expired early: %+v", ex)
			}
			e.post("/v1/jobs/expire", map[string]any{}).want(200, &ex)
			if ex.Lots != 1 || ex.Points != 30 {
				t.Fatalf("expire = %+v", ex)
			}
			if got := e.balance(m.ID); got.Available != 70 || got.LifetimeExpired != 30 {
				t.Fatalf("after expiry: %+v", got)
			}
			var h holdObj
			e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 20, "expires_in_seconds": 60}).want(201, &h)
			e.clock.Advance(2 * time.Minute)
			e.post("/v1/holds/"+h.ID+"/capture", nil).wantProblem(409, "conflict")
			var hr struct {
				Holds int64 `json:"holds_released"`
			}
			e.post("/v1/jobs/expire-holds", nil).want(200, &hr)
			if hr.Holds != 1 {
				t.Fatalf("expire holds = %+v", hr)
			}
			e.verify()
		})
	})
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// Many clients spend one member's points at once, over HTTP: the balance
// never goes below zero and exactly as many succeed as it allows.
func TestConcurrentSpends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(nil)
		for i := 0; i < 10; i++ {
			e.earn(m.ID, 10)
		}
		var ok, short atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				path := fmt.Sprintf("/v1/members/%s/points/spend", m.ID)
				if i%3 == 0 {
					path = fmt.Sprintf("/v1/members/%s/holds", m.ID)
				}
				r := e.call(e.admin, "POST", path, map[string]any{"points": 3})
				switch r.Status {
				case 201:
					ok.Add(1)
				case 422:
					short.Add(1)
				default:
					t.Errorf("status %d: %s", r.Status, r.Body)
				}
			}(i)
		}
		wg.Wait()
		if ok.Load() != 33 || short.Load() != 27 {
			t.Fatalf("%d succeeded and %d were refused; want 33 and 27", ok.Load(), short.Load())
		}
		if got := e.balance(m.ID); got.Available != 1 || got.Held+got.LifetimeSpent != 99 {
			t.Fatalf("balance %+v", got)
		}
		e.verify()
	})
}

// Points past their expiry never read as available, before the expiry job
// runs as after: not in the balance, not in a quote, not spendable.
func TestExpiredBeforeTheJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(nil)
		soon := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 300, "expires_at": soon}).want(201, nil)
		e.earn(m.ID, 100)
		if got := e.balance(m.ID).Available; got != 400 {
			t.Fatalf("available before expiry %d, want 400", got)
		}
		e.clock.Advance(2 * time.Hour)
		if got := e.balance(m.ID).Available; got != 100 {
			t.Fatalf("available past expiry, before the job: %d, want 100", got)
		}
		var q struct {
			MaxPoints int64 `json:"max_points"`
		}
		e.post("/v1/checkout/quote", map[string]any{"member": m.ID, "order_amount": 100000}).want(200, &q)
		if q.MaxPoints != 100 {
			t.Fatalf("quote counts expired points: %+v", q)
		}
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 101}).wantProblem(422, "insufficient_points")
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 100}).want(201, nil)
		if got := e.balance(m.ID).Available; got != 0 {
			t.Fatalf("available after spending the rest: %d", got)
		}
		e.verify()
	})
}

// A hold that names its order is held to the checkout cap, with the
// order's other holds, and the order's refund returns the points paid at
// checkout in proportion (all of them on a full refund).
func TestHoldForOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b) // 100 points per yuan, at most 50 % of an order
		m := e.newMember(nil)
		e.earn(m.ID, 10000)
		hold := func(points, amount int64) resp {
			return e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": points, "order_id": "pos-1", "order_amount": amount})
		}
		e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 10, "order_id": "pos-1"}).
			wantProblem(422, "validation_failed", "order_amount")
		// An order of 80 yuan: at most 40 yuan, 4000 points.
		hold(4001, 8000).wantProblem(422, "validation_failed", "points")
		var h1 struct {
			ID          string `json:"id"`
			OrderID     string `json:"order_id"`
			OrderAmount int64  `json:"order_amount"`
		}
		hold(3000, 8000).want(201, &h1)
		if h1.OrderID != "pos-1" || h1.OrderAmount != 8000 {
			t.Fatalf("hold %+v", h1)
		}
		hold(1001, 8000).wantProblem(422, "validation_failed", "points") // with the first: past the cap
		hold(100, 9000).wantProblem(422, "validation_failed", "order_amount")
		e.post("/v1/holds/"+h1.ID+"/capture", nil).want(200, nil)
		if got := e.balance(m.ID).Available; got != 7000 {
			t.Fatalf("available after capture %d", got)
		}
		// A refund of a quarter returns a quarter; the rest returns the rest.
		refund := func(id string, amount any) eventResult {
			data := map[string]any{"order_id": "pos-1"}
			if amount != nil {
				data["amount"] = amount
			}
			var r eventResult
			e.post("/v1/events", map[string]any{"id": id, "type": "order.refunded", "member": m.ID, "data": data}).want(201, &r)
			return r
		}
		r := refund("rf-1", 2000)
		if len(r.Awards) != 1 || r.Awards[0].Source != "checkout" || r.Awards[0].Points != 750 {
			t.Fatalf("quarter refund %+v", r.Awards)
		}
		refund("rf-2", 3333)
		r = refund("rf-3", nil)
		if got := e.balance(m.ID).Available; got != 10000 {
			t.Fatalf("after refunds of the whole order the member has %d of 10000 (last %+v)", got, r.Awards)
		}
		e.verify()
	})
}
