package httpapi_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/store/storetest"
)

type currencyObj struct {
	Code      string         `json:"code"`
	Name      string         `json:"name"`
	Spendable bool           `json:"spendable"`
	Expiry    map[string]any `json:"expiry"`
}

type rateObj struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Rate       string `json:"rate"`
	DailyLimit *int64 `json:"daily_limit"`
	Active     bool   `json:"active"`
}

type exchangeObj struct {
	ID            string  `json:"id"`
	MemberID      string  `json:"member_id"`
	From          string  `json:"from"`
	To            string  `json:"to"`
	Points        int64   `json:"points"`
	Received      int64   `json:"received"`
	Rate          string  `json:"rate"`
	TransactionID string  `json:"transaction_id"`
	MerchantID    *string `json:"merchant_id"`
	Reversed      bool    `json:"reversed"`
}

type lotObj struct {
	ID            string     `json:"id"`
	Currency      string     `json:"currency"`
	Amount        int64      `json:"amount"`
	Remaining     int64      `json:"remaining"`
	Status        string     `json:"status"`
	ExpiresAt     *time.Time `json:"expires_at"`
	MerchantID    *string    `json:"merchant_id"`
	TransactionID string     `json:"transaction_id"`
}

func (e *env) put(path string, body any) resp {
	e.t.Helper()
	return e.call(e.admin, "PUT", path, body)
}

func (e *env) balanceIn(member, currency string) balanceObj {
	e.t.Helper()
	var b map[string]balanceObj
	e.get("/v1/members/"+member+"/balance").want(200, &b)
	return b[currency]
}

func (e *env) exchange(member string, body map[string]any) exchangeObj {
	e.t.Helper()
	var x exchangeObj
	e.post("/v1/members/"+member+"/exchanges", body).want(201, &x)
	return x
}

// cachedServer is a second server on e's database whose programme
// settings are cached for an hour, as in production (newEnv's expire at
// once): what this node changes must show at once all the same.
func cachedServer(e *env) *env {
	e.t.Helper()
	c := *e
	c.api = httpapi.New(httpapi.Config{
		App:      app.New(app.Config{DB: e.db, Clock: e.clock, CacheTTL: time.Hour}),
		Registry: prometheus.NewRegistry(), Version: "test",
	})
	c.srv = httptest.NewServer(c.api)
	e.t.Cleanup(c.srv.Close)
	c.client = c.srv.Client()
	return &c
}

func TestCurrencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := cachedServer(newEnv(t, b))
		m := e.newMember(nil)
		e.get("/v1/program").want(200, nil) // the settings are cached now
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5, "currency": "stars"}).
			wantProblem(422, "validation_failed", "currency")

		var c currencyObj
		e.post("/v1/currencies", map[string]any{"code": "stars", "name": "Stars", "spendable": true}).want(201, &c)
		if c.Code != "stars" || c.Name != "Stars" || !c.Spendable || c.Expiry["kind"] != "never" {
			t.Fatalf("created %+v", c)
		}
		e.post("/v1/currencies", map[string]any{"code": "stars", "name": "Again", "spendable": false}).wantProblem(409, "conflict")
		e.post("/v1/currencies", map[string]any{"code": "Stars", "name": "x", "spendable": true}).wantProblem(422, "validation_failed", "code")
		e.post("/v1/currencies", map[string]any{"code": "s", "name": "x", "spendable": true}).wantProblem(422, "validation_failed", "code")
		e.post("/v1/currencies", map[string]any{"code": "miles", "name": "Miles"}).wantProblem(422, "validation_failed", "spendable")
		e.post("/v1/currencies", map[string]any{"code": "miles", "name": "Miles", "spendable": true,
			"expiry": map[string]any{"kind": "rolling"}}).wantProblem(422, "validation_failed", "expiry.days")
		e.post("/v1/currencies", map[string]any{"code": "miles", "name": "Miles", "spendable": false,
			"expiry": map[string]any{"kind": "rolling", "days": 30}}).want(201, &c)
		if c.Spendable || c.Expiry["kind"] != "rolling" {
			t.Fatalf("miles %+v", c)
		}
		var list listObj[currencyObj]
		e.get("/v1/currencies").want(200, &list)
		if len(list.Data) != 4 {
			t.Fatalf("currencies %+v", list.Data)
		}

		// Usable at once on this node: earned, a rule's reward, a task's.
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 50, "currency": "stars"}).want(201, nil)
		e.post("/v1/rules", map[string]any{"name": "stars", "event_type": "order.paid",
			"reward": map[string]any{"kind": "fixed", "points": 3, "currency": "stars"}}).want(201, nil)
		e.post("/v1/rules", map[string]any{"name": "nope", "event_type": "order.paid",
			"reward": map[string]any{"kind": "fixed", "points": 3, "currency": "nope"}}).wantProblem(422, "validation_failed", "reward.currency")
		e.post("/v1/events", map[string]any{"id": "ev-1", "type": "order.paid", "member": m.ID,
			"data": map[string]any{"order_id": "o-1", "amount": 100}}).want(201, nil)
		if got := e.balanceIn(m.ID, "stars"); got.Available != 53 {
			t.Fatalf("stars after the event: %+v", got)
		}

		// Lists: an unknown currency is refused, not an empty list.
		e.get("/v1/members/"+m.ID+"/lots?currency=nope").wantProblem(422, "validation_failed", "currency")
		e.get("/v1/members/"+m.ID+"/transactions?currency=nope").wantProblem(422, "validation_failed", "currency")

		// A currency that is not spendable is not spent, held or exchanged away.
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 50, "currency": "miles"}).want(201, nil)
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 1, "currency": "miles"}).wantProblem(422, "validation_failed", "currency")
		e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 1, "currency": "miles"}).wantProblem(422, "validation_failed", "currency")
		e.put("/v1/exchange-rates/miles/stars", map[string]any{"rate": "1"}).wantProblem(422, "validation_failed", "from")
		e.post("/v1/members/"+m.ID+"/exchanges", map[string]any{"from": "miles", "to": "stars", "points": 1}).
			wantProblem(422, "validation_failed", "from")

		// PATCH: spendable and expiry of a created currency; a new expiry
		// applies to later lots.
		e.patch("/v1/currencies/stars", map[string]any{"spendable": false}).want(200, &c)
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 1, "currency": "stars"}).wantProblem(422, "validation_failed", "currency")
		e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 1, "currency": "stars"}).wantProblem(422, "validation_failed", "currency")
		e.patch("/v1/currencies/stars", map[string]any{"spendable": true, "name": "Gold stars",
			"expiry": map[string]any{"kind": "rolling", "days": 10}}).want(200, &c)
		if c.Name != "Gold stars" || !c.Spendable || c.Expiry["kind"] != "rolling" {
			t.Fatalf("patched %+v", c)
		}
		var earn txnObj
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 7, "currency": "stars"}).want(201, &earn)
		var lots listObj[lotObj]
		e.get("/v1/members/"+m.ID+"/lots?currency=stars").want(200, &lots)
		for _, l := range lots.Data {
			want := l.TransactionID == earn.ID
			if got := l.ExpiresAt != nil && l.ExpiresAt.Equal(e.clock.Now().Add(10*24*time.Hour)); got != want {
				t.Errorf("lot %+v: expires by the new policy %v, want %v", l, got, want)
			}
		}
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 1, "currency": "stars"}).want(201, nil)

		// The built-in currencies take a new name only.
		e.patch("/v1/currencies/points", map[string]any{"spendable": false}).wantProblem(422, "validation_failed", "spendable")
		e.patch("/v1/currencies/points", map[string]any{"expiry": map[string]any{"kind": "never"}}).wantProblem(422, "validation_failed", "expiry")
		e.patch("/v1/currencies/growth", map[string]any{"spendable": true}).wantProblem(422, "validation_failed", "spendable")
		e.patch("/v1/currencies/growth", map[string]any{"name": "成长值"}).want(200, &c)
		if c.Name != "成长值" || c.Spendable {
			t.Fatalf("growth %+v", c)
		}
		e.patch("/v1/currencies/nope", map[string]any{"name": "x"}).wantProblem(404, "not_found")
		e.verify()
	})
}

func TestExchangeRates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.post("/v1/currencies", map[string]any{"code": "stars", "name": "Stars", "spendable": true}).want(201, nil)
		var r rateObj
		e.put("/v1/exchange-rates/points/stars", map[string]any{"rate": "0.333333"}).want(200, &r)
		if r.From != "points" || r.To != "stars" || r.Rate != "0.333333" || r.DailyLimit != nil || !r.Active {
			t.Fatalf("rate %+v", r)
		}
		e.put("/v1/exchange-rates/stars/points", map[string]any{"rate": "1.50", "daily_limit": 100, "active": false}).want(200, &r)
		if r.Rate != "1.5" || r.DailyLimit == nil || *r.DailyLimit != 100 || r.Active {
			t.Fatalf("rate %+v", r)
		}
		for _, bad := range []any{"0", "0.0000001", "-1", "1e3", "abc", 1.5, ""} {
			e.put("/v1/exchange-rates/points/stars", map[string]any{"rate": bad}).wantProblem(422, "validation_failed", "rate")
		}
		e.put("/v1/exchange-rates/points/stars", map[string]any{}).wantProblem(422, "validation_failed", "rate")
		e.put("/v1/exchange-rates/points/stars", map[string]any{"rate": "1", "daily_limit": 0}).wantProblem(422, "validation_failed", "daily_limit")
		e.put("/v1/exchange-rates/growth/stars", map[string]any{"rate": "1"}).wantProblem(422, "validation_failed", "from")
		e.put("/v1/exchange-rates/nope/stars", map[string]any{"rate": "1"}).wantProblem(422, "validation_failed", "from")
		e.put("/v1/exchange-rates/points/nope", map[string]any{"rate": "1"}).wantProblem(422, "validation_failed", "to")
		e.put("/v1/exchange-rates/points/points", map[string]any{"rate": "1"}).wantProblem(422, "validation_failed", "to")
		var list listObj[rateObj]
		e.get("/v1/exchange-rates").want(200, &list)
		if len(list.Data) != 2 || list.Data[0].Rate != "0.333333" || list.Data[1].From != "stars" {
			t.Fatalf("rates %+v", list.Data)
		}
		e.call(e.admin, "DELETE", "/v1/exchange-rates/stars/points", nil).want(204, nil)
		e.call(e.admin, "DELETE", "/v1/exchange-rates/stars/points", nil).wantProblem(404, "not_found")
		e.get("/v1/exchange-rates").want(200, &list)
		if len(list.Data) != 1 {
			t.Fatalf("rates after delete %+v", list.Data)
		}
	})
}

func TestExchange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.post("/v1/currencies", map[string]any{"code": "stars", "name": "Stars", "spendable": true,
			"expiry": map[string]any{"kind": "rolling", "days": 30}}).want(201, nil)
		e.put("/v1/exchange-rates/points/stars", map[string]any{"rate": "0.333333"}).want(200, nil)
		e.put("/v1/exchange-rates/stars/points", map[string]any{"rate": "1.5"}).want(200, nil)

		t.Run("rounding", func(t *testing.T) {
			m := e.newMember(nil)
			e.earn(m.ID, 100)
			x := e.exchange(m.ID, map[string]any{"from": "points", "to": "stars", "points": 7, "reference": "r-1"})
			if x.Points != 7 || x.Received != 2 || x.Rate != "0.333333" || x.From != "points" || x.To != "stars" ||
				x.MemberID != m.ID || x.MerchantID != nil || len(x.ID) < 4 || x.ID[:4] != "xch_" {
				t.Fatalf("exchange %+v", x)
			}
			y := e.exchange(m.ID, map[string]any{"from": "stars", "to": "points", "points": 2})
			if y.Received != 3 {
				t.Fatalf("2 stars at 1.5 = %d points, want 3", y.Received)
			}
			e.earn(m.ID, 1) // not needed for stars; a second points lot
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 3, "currency": "stars"}).want(201, nil)
			z := e.exchange(m.ID, map[string]any{"from": "stars", "to": "points", "points": 3})
			if z.Received != 4 {
				t.Fatalf("3 stars at 1.5 = %d points, want 4", z.Received)
			}
			e.post("/v1/members/"+m.ID+"/exchanges", map[string]any{"from": "points", "to": "stars", "points": 2}).
				wantProblem(422, "validation_failed", "points")
			if got := e.balance(m.ID); got.Available != 100-7+3+1+4 || got.LifetimeEarned != 101 || got.LifetimeSpent != 0 {
				t.Fatalf("points %+v", got)
			}
			if got := e.balanceIn(m.ID, "stars"); got.Available != 0 {
				t.Fatalf("stars %+v", got)
			}
			var txn txnObj
			e.get("/v1/transactions/"+x.TransactionID).want(200, &txn)
			if txn.Type != "exchange" || txn.Currency != "points" || txn.Points != 7 || len(txn.LotMoves) != 2 {
				t.Fatalf("exchange transaction %+v", txn)
			}
			var xs listObj[exchangeObj]
			e.get("/v1/members/"+m.ID+"/exchanges").want(200, &xs)
			if len(xs.Data) != 3 || xs.Data[0].ID != z.ID || xs.Data[2].ID != x.ID {
				t.Fatalf("exchanges %+v", xs.Data)
			}
			e.get("/v1/members/"+m.ID+"/exchanges?limit=2").want(200, &xs)
			if len(xs.Data) != 2 || xs.NextCursor == nil {
				t.Fatalf("first page %+v", xs)
			}
			e.get("/v1/members/"+m.ID+"/exchanges?limit=2&cursor="+*xs.NextCursor).want(200, &xs)
			if len(xs.Data) != 1 || xs.Data[0].ID != x.ID {
				t.Fatalf("second page %+v", xs)
			}
			var txns listObj[txnObj]
			e.get("/v1/members/"+m.ID+"/transactions?type=exchange").want(200, &txns)
			if len(txns.Data) != 3 {
				t.Fatalf("exchange transactions %+v", txns.Data)
			}
			e.verify()
		})

		t.Run("refused", func(t *testing.T) {
			m := e.newMember(nil)
			e.earn(m.ID, 10)
			base := "/v1/members/" + m.ID + "/exchanges"
			e.post(base, map[string]any{"from": "points", "to": "growth", "points": 3}).wantProblem(422, "validation_failed", "to")
			e.post(base, map[string]any{"from": "points", "to": "nope", "points": 3}).wantProblem(422, "validation_failed", "to")
			e.post(base, map[string]any{"from": "nope", "to": "stars", "points": 3}).wantProblem(422, "validation_failed", "from")
			e.post(base, map[string]any{"from": "points", "to": "points", "points": 3}).wantProblem(422, "validation_failed", "to")
			e.post(base, map[string]any{"from": "points", "to": "stars", "points": 0}).wantProblem(422, "validation_failed", "points")
			e.post(base, map[string]any{"to": "stars", "points": 3}).wantProblem(422, "validation_failed", "from")
			e.post(base, map[string]any{"from": "points", "to": "stars", "points": 11}).wantProblem(422, "insufficient_points")
			e.put("/v1/exchange-rates/points/growth", map[string]any{"rate": "1", "active": false}).want(200, nil)
			e.post(base, map[string]any{"from": "points", "to": "growth", "points": 3}).wantProblem(422, "validation_failed", "to")
			e.post(base, map[string]any{"from": "points", "to": "stars", "points": 3, "merchant_id": "mer_nope"}).
				wantProblem(422, "validation_failed", "merchant_id")
			e.post("/v1/members/"+m.ID+"/freeze", nil).want(200, nil)
			e.post(base, map[string]any{"from": "points", "to": "stars", "points": 6}).wantProblem(409, "conflict")
			e.post("/v1/members/"+m.ID+"/unfreeze", nil).want(200, nil)
			e.post("/v1/members/mem_nope/exchanges", map[string]any{"from": "points", "to": "stars", "points": 6}).wantProblem(404, "not_found")
			if got := e.balance(m.ID); got.Available != 10 {
				t.Fatalf("refusals changed the balance: %+v", got)
			}
			e.verify()
		})

		t.Run("FIFO, expired first, merchant and the new lot", func(t *testing.T) {
			var mer struct{ ID string }
			e.post("/v1/merchants", map[string]any{"name": "Tea shop"}).want(201, &mer)
			mk := e.key("merchant", mer.ID)
			m := e.newMember(nil)
			now := e.clock.Now()
			earnAt := func(points int64, expires *time.Time) string {
				body := map[string]any{"points": points}
				if expires != nil {
					body["expires_at"] = expires.Format(time.RFC3339)
				}
				var t txnObj
				e.post("/v1/members/"+m.ID+"/points/earn", body).want(201, &t)
				return t.ID
			}
			past, in5, in10 := now.Add(-time.Hour), now.Add(5*24*time.Hour), now.Add(10*24*time.Hour)
			never := earnAt(100, nil)
			ten := earnAt(100, &in10)
			five := earnAt(100, &in5)
			earnAt(40, &past) // due: not available, never exchanged, expired by the exchange
			if got := e.balance(m.ID); got.Available != 300 {
				t.Fatalf("before: %+v", got)
			}
			var x exchangeObj
			e.call(mk, "POST", "/v1/members/"+m.ID+"/exchanges", map[string]any{"from": "points", "to": "stars", "points": 150}).want(201, &x)
			if x.MerchantID == nil || *x.MerchantID != mer.ID || x.Received != 49 {
				t.Fatalf("exchange %+v", x)
			}
			var lots listObj[lotObj]
			e.get("/v1/members/"+m.ID+"/lots?limit=500").want(200, &lots)
			rem := map[string]int64{}
			var newLot lotObj
			for _, l := range lots.Data {
				rem[l.TransactionID] = l.Remaining
				if l.TransactionID == x.TransactionID {
					newLot = l
				}
			}
			if rem[five] != 0 || rem[ten] != 50 || rem[never] != 100 {
				t.Fatalf("lots after exchange: five %d ten %d never %d", rem[five], rem[ten], rem[never])
			}
			if newLot.Currency != "stars" || newLot.Amount != 49 || newLot.Remaining != 49 || newLot.Status != "available" ||
				newLot.MerchantID != nil || newLot.ExpiresAt == nil || !newLot.ExpiresAt.Equal(now.Add(30*24*time.Hour)) {
				t.Fatalf("new lot %+v", newLot)
			}
			var txn struct {
				txnObj
				LotMoves []struct {
					LotID    string  `json:"lot_id"`
					Kind     string  `json:"kind"`
					Points   int64   `json:"points"`
					At       *string `json:"at_merchant_id"`
					Issuer   *string `json:"issuer_merchant_id"`
					Currency string  `json:"currency"`
				} `json:"lot_moves"`
			}
			e.get("/v1/transactions/"+x.TransactionID).want(200, &txn)
			var redeemed, issued int64
			for _, mv := range txn.LotMoves {
				switch mv.Kind {
				case "redeem":
					if mv.At == nil || *mv.At != mer.ID || mv.Currency != "points" {
						t.Errorf("redeem move %+v", mv)
					}
					redeemed -= mv.Points
				case "issue":
					if mv.At != nil || mv.Issuer != nil || mv.Currency != "stars" || mv.LotID != newLot.ID {
						t.Errorf("issue move %+v", mv)
					}
					issued += mv.Points
				default:
					t.Errorf("move %+v", mv)
				}
			}
			if redeemed != 150 || issued != 49 {
				t.Fatalf("moves %+v", txn.LotMoves)
			}
			if got := e.balance(m.ID); got.Available != 150 || got.LifetimeExpired != 40 {
				t.Fatalf("points after: %+v", got)
			}
			var xs listObj[exchangeObj]
			other := e.key("merchant", func() string {
				var o struct{ ID string }
				e.post("/v1/merchants", map[string]any{"name": "Other"}).want(201, &o)
				return o.ID
			}())
			e.call(other, "GET", "/v1/members/"+m.ID+"/exchanges", nil).want(200, &xs)
			if len(xs.Data) != 0 {
				t.Fatalf("another merchant sees %+v", xs.Data)
			}
			e.call(other, "POST", "/v1/transactions/"+x.TransactionID+"/reverse", nil).wantProblem(404, "not_found")
			e.call(mk, "GET", "/v1/members/"+m.ID+"/exchanges", nil).want(200, &xs)
			if len(xs.Data) != 1 {
				t.Fatalf("its merchant sees %+v", xs.Data)
			}
			e.verify()

			// Reversed whole: the stars leave their lot, the points go back.
			e.post("/v1/transactions/"+x.TransactionID+"/reverse", map[string]any{"points": 100}).
				wantProblem(422, "validation_failed", "points")
			e.post("/v1/transactions/"+x.TransactionID+"/reverse", map[string]any{"points": 151}).
				wantProblem(422, "limit_exceeded")
			var rev txnObj
			e.call(mk, "POST", "/v1/transactions/"+x.TransactionID+"/reverse", map[string]any{"points": 150, "reason": "changed mind"}).want(201, &rev)
			if rev.Type != "reverse" || rev.Reverses != x.TransactionID || rev.Points != 150 || rev.Currency != "points" {
				t.Fatalf("reverse %+v", rev)
			}
			e.post("/v1/transactions/"+x.TransactionID+"/reverse", nil).wantProblem(422, "limit_exceeded")
			e.get("/v1/members/"+m.ID+"/lots?limit=500").want(200, &lots)
			for _, l := range lots.Data {
				rem[l.TransactionID] = l.Remaining
			}
			if rem[five] != 100 || rem[ten] != 100 || rem[never] != 100 || rem[x.TransactionID] != 0 {
				t.Fatalf("lots after reversal: %v", rem)
			}
			if got := e.balance(m.ID); got.Available != 300 {
				t.Fatalf("points after reversal: %+v", got)
			}
			if got := e.balanceIn(m.ID, "stars"); got.Available != 0 {
				t.Fatalf("stars after reversal: %+v", got)
			}
			e.get("/v1/members/"+m.ID+"/exchanges").want(200, &xs)
			if len(xs.Data) != 1 || !xs.Data[0].Reversed {
				t.Fatalf("exchanges after reversal %+v", xs.Data)
			}
			e.verify()
		})

		t.Run("reversal needs the received points", func(t *testing.T) {
			m := e.newMember(nil)
			e.earn(m.ID, 30)
			x := e.exchange(m.ID, map[string]any{"from": "points", "to": "stars", "points": 30})
			if x.Received != 9 {
				t.Fatalf("received %d", x.Received)
			}
			e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 1, "currency": "stars"}).want(201, nil)
			e.post("/v1/transactions/"+x.TransactionID+"/reverse", nil).wantProblem(422, "insufficient_points")
			if got := e.balance(m.ID); got.Available != 0 {
				t.Fatalf("points %+v", got)
			}
			if got := e.balanceIn(m.ID, "stars"); got.Available != 8 {
				t.Fatalf("stars %+v", got)
			}
			e.verify()
		})

		t.Run("member token", func(t *testing.T) {
			m := e.newMember(nil)
			other := e.newMember(nil)
			e.earn(m.ID, 30)
			e.earn(other.ID, 30)
			var tok struct{ Token string }
			e.post("/v1/members/"+m.ID+"/tokens", nil).want(201, &tok)
			var x exchangeObj
			e.call(tok.Token, "POST", "/v1/members/me/exchanges", map[string]any{"from": "points", "to": "stars", "points": 6}).want(201, &x)
			if x.MemberID != m.ID || x.Received != 1 {
				t.Fatalf("exchange %+v", x)
			}
			e.call(tok.Token, "POST", "/v1/members/"+other.ID+"/exchanges", map[string]any{"from": "points", "to": "stars", "points": 6}).wantProblem(404, "not_found")
			var mer struct{ ID string }
			e.post("/v1/merchants", map[string]any{"name": "Somewhere"}).want(201, &mer)
			e.call(tok.Token, "POST", "/v1/members/me/exchanges", map[string]any{"from": "points", "to": "stars", "points": 6, "merchant_id": mer.ID}).wantProblem(403, "forbidden")
			var xs listObj[exchangeObj]
			e.call(tok.Token, "GET", "/v1/members/me/exchanges", nil).want(200, &xs)
			if len(xs.Data) != 1 {
				t.Fatalf("own exchanges %+v", xs.Data)
			}
			e.call(tok.Token, "GET", "/v1/exchange-rates", nil).want(200, nil)
			e.call(tok.Token, "PUT", "/v1/exchange-rates/points/stars", map[string]any{"rate": "9"}).wantProblem(403, "forbidden")
		})
	})
}

// The daily limit counts the source points of the programme-local day's
// exchanges of the pair that are not reversed; the day turns at local
// midnight (Asia/Shanghai, UTC+8).
func TestExchangeDailyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.post("/v1/currencies", map[string]any{"code": "stars", "name": "Stars", "spendable": true}).want(201, nil)
		e.put("/v1/exchange-rates/points/stars", map[string]any{"rate": "1", "daily_limit": 100}).want(200, nil)
		m := e.newMember(nil)
		e.earn(m.ID, 1000)
		base := "/v1/members/" + m.ID + "/exchanges"
		e.clock.Set(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) // 00:00 on 2 March in Shanghai
		first := e.exchange(m.ID, map[string]any{"from": "points", "to": "stars", "points": 60})
		e.post(base, map[string]any{"from": "points", "to": "stars", "points": 41}).wantProblem(422, "limit_exceeded")
		e.exchange(m.ID, map[string]any{"from": "points", "to": "stars", "points": 40})
		e.clock.Set(time.Date(2026, 3, 2, 15, 59, 59, 0, time.UTC)) // 23:59:59 the same local day
		e.post(base, map[string]any{"from": "points", "to": "stars", "points": 1}).wantProblem(422, "limit_exceeded")
		// A reversed exchange no longer counts.
		e.post("/v1/transactions/"+first.TransactionID+"/reverse", nil).want(201, nil)
		e.exchange(m.ID, map[string]any{"from": "points", "to": "stars", "points": 60})
		e.post(base, map[string]any{"from": "points", "to": "stars", "points": 1}).wantProblem(422, "limit_exceeded")
		// The reverse pair has no limit of its own... and no rate.
		e.post(base, map[string]any{"from": "stars", "to": "points", "points": 1}).wantProblem(422, "validation_failed", "to")
		e.clock.Set(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)) // midnight: 3 March
		e.exchange(m.ID, map[string]any{"from": "points", "to": "stars", "points": 100})
		e.post(base, map[string]any{"from": "points", "to": "stars", "points": 1}).wantProblem(422, "limit_exceeded")
		if got := e.balance(m.ID); got.Available != 1000-40-60-100 {
			t.Fatalf("points %+v", got)
		}
		// An exchange (and its reversal) is neither issued nor spent in
		// either currency's reports.
		for _, cur := range []string{"points", "stars"} {
			var sum summaryObj
			e.get("/v1/reports/summary?from=2026-03-01&to=2026-03-03&currency="+cur).want(200, &sum)
			issued := map[string]int64{"points": 1000, "stars": 0}[cur]
			if sum.Issued != issued || sum.Spent != 0 || sum.Reversed != 0 || sum.Expired != 0 {
				t.Errorf("%s summary %+v", cur, sum)
			}
		}
		// Outstanding at the end of 2 March (the last exchange came after):
		// each currency's own postings, an exchange's in both.
		for cur, want := range map[string]int64{"points": 900, "stars": 100} {
			var sum summaryObj
			e.get("/v1/reports/summary?from=2026-03-01&to=2026-03-02&currency="+cur).want(200, &sum)
			if sum.Outstanding != want {
				t.Errorf("%s outstanding at the end of 2 March: %d, want %d", cur, sum.Outstanding, want)
			}
		}
		e.verify()
	})
}
