package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

type awardObj struct {
	Source        string  `json:"source"`
	MemberID      string  `json:"member_id"`
	TaskID        string  `json:"task_id"`
	RuleID        string  `json:"rule_id"`
	RuleVersion   int     `json:"rule_version"`
	Currency      string  `json:"currency"`
	Points        int64   `json:"points"`
	TransactionID *string `json:"transaction_id"`
	Capped        bool    `json:"capped"`
	CappedBy      string  `json:"capped_by"`
}

type eventResult struct {
	EventID    string     `json:"event_id"`
	MemberID   string     `json:"member_id"`
	Awards     []awardObj `json:"awards"`
	TierChange *struct {
		From *string `json:"from"`
		To   *string `json:"to"`
	} `json:"tier_change"`
	Tasks []struct {
		TaskID string `json:"task_id"`
		Points int64  `json:"points"`
	} `json:"tasks_completed"`
	Skipped []struct {
		RuleID string `json:"rule_id"`
		Reason string `json:"reason"`
	} `json:"skipped"`
	MemberCreated bool `json:"member_created"`
	Simulated     bool `json:"simulated"`
}

func (r eventResult) total(currency string) int64 {
	var n int64
	for _, a := range r.Awards {
		if a.Currency == currency {
			n += a.Points
		}
	}
	return n
}

type ruleObj struct {
	ID         string `json:"id"`
	Version    int    `json:"version"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Condition  string `json:"condition"`
	BudgetUsed int64  `json:"budget_used"`
}

func (e *env) rule(body map[string]any) ruleObj {
	e.t.Helper()
	var r ruleObj
	e.post("/v1/rules", body).want(201, &r)
	return r
}

func (e *env) event(body map[string]any) eventResult {
	e.t.Helper()
	var r eventResult
	e.post("/v1/events", body).want(201, &r)
	return r
}

var eventSeq int

func order(member, orderID string, amount int64, items ...map[string]any) map[string]any {
	eventSeq++
	data := map[string]any{"order_id": orderID, "amount": amount}
	if items != nil {
		data["items"] = items
	}
	return map[string]any{"id": fmt.Sprintf("evt-%d-%s", eventSeq, orderID), "type": "order.paid", "member": member, "data": data}
}

// The spend brackets of product.md: 0–1000 yuan earn 1 point per yuan,
// 1000–5000 yuan 1.5, above 2; category B counts double.
var bracketRule = map[string]any{
	"name": "spend brackets", "event_type": "order.paid",
	"reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1,
		"brackets":             []any{map[string]any{"up_to": 100000, "rate": "1"}, map[string]any{"up_to": 500000, "rate": "1.5"}, map[string]any{"rate": "2"}},
		"category_multipliers": map[string]any{"B": "2"}},
}

func TestEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		rule := e.rule(bracketRule)
		m := e.newMember(map[string]any{"external_id": "c-1"})
		t.Run("order.paid by the brackets", func(t *testing.T) {
			res := e.event(order("ext:c-1", "o-1", 200000, map[string]any{"sku": "a", "category": "A", "quantity": 1, "amount": 200000}))
			if len(res.Awards) != 1 || res.Awards[0].Points != 2500 || res.Awards[0].RuleID != rule.ID || res.Awards[0].TransactionID == nil {
				t.Fatalf("awards %+v, want 2500 (1000 + 1000×1.5)", res.Awards)
			}
			if res.MemberID != m.ID || e.balance(m.ID).Available != 2500 {
				t.Fatalf("member %s balance %+v", res.MemberID, e.balance(m.ID))
			}
			var txn txnObj
			e.get("/v1/transactions/"+*res.Awards[0].TransactionID).want(200, &txn)
			if txn.Type != "earn" || txn.Points != 2500 {
				t.Fatalf("award transaction %+v", txn)
			}
		})
		t.Run("idempotent on id", func(t *testing.T) {
			before := e.balance(m.ID).Available
			ev := order(m.ID, "o-2", 10000)
			first := e.post("/v1/events", ev).want(201, nil)
			again := e.call(e.admin, "POST", "/v1/events", ev, "Idempotency-Key", "some-other-key").want(200, nil)
			if !bytes.Equal(first.Body, again.Body) {
				t.Fatalf("repeat: %s, first %s", again.Body, first.Body)
			}
			if got := e.balance(m.ID).Available; got != before+100 {
				t.Fatalf("balance %d after a repeated event, want %d", got, before+100)
			}
			// The same order under another event id is a conflict.
			dup := order(m.ID, "o-2", 10000)
			e.post("/v1/events", dup).wantProblem(409, "conflict")
		})
		t.Run("Idempotency-Key replays", func(t *testing.T) {
			ev := order(m.ID, "o-3", 100)
			a := e.call(e.admin, "POST", "/v1/events", ev, "Idempotency-Key", "ev-k").want(201, nil)
			b := e.call(e.admin, "POST", "/v1/events", ev, "Idempotency-Key", "ev-k").want(201, nil)
			if !bytes.Equal(a.Body, b.Body) || b.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay %s / %s", a.Body, b.Body)
			}
			e.call(e.admin, "POST", "/v1/events", order(m.ID, "o-4", 100), "Idempotency-Key", "ev-k").wantProblem(409, "idempotency_conflict")
		})
		t.Run("create_member", func(t *testing.T) {
			ev := order("ext:new-1", "o-10", 5000)
			e.post("/v1/events", ev).wantProblem(404, "not_found")
			ev["create_member"] = true
			res := e.event(ev)
			if !res.MemberCreated || res.total("points") != 50 {
				t.Fatalf("created member result %+v", res)
			}
			var got memberObj
			e.get("/v1/members/ext:new-1").want(200, &got)
			if got.ID != res.MemberID {
				t.Fatalf("member %s, result names %s", got.ID, res.MemberID)
			}
		})
		t.Run("bad events", func(t *testing.T) {
			future := e.clock.Now().Add(6 * time.Minute).Format(time.RFC3339)
			ev := order(m.ID, "o-20", 100)
			ev["occurred_at"] = future
			e.post("/v1/events", ev).wantProblem(422, "validation_failed", "occurred_at")
			ev = order(m.ID, "o-21", 100)
			ev["data"].(map[string]any)["currency"] = "USD"
			e.post("/v1/events", ev).wantProblem(422, "validation_failed", "data.currency")
			e.post("/v1/events", map[string]any{"id": "x", "type": "order.paid", "member": m.ID, "data": map[string]any{"amount": -1}}).
				wantProblem(422, "validation_failed", "data.order_id", "data.amount")
			e.post("/v1/events", map[string]any{"type": "Bad Type", "member": ""}).wantProblem(422, "validation_failed", "id", "type", "member")
			e.post("/v1/events", map[string]any{"id": "r-x", "type": "order.refunded", "member": m.ID, "data": map[string]any{"order_id": "nope"}}).
				wantProblem(422, "validation_failed", "data.order_id")
		})
		t.Run("simulate writes nothing", func(t *testing.T) {
			before := e.snapshot()
			var res eventResult
			e.post("/v1/events/simulate", order(m.ID, "o-30", 600000)).want(200, &res)
			if !res.Simulated || len(res.Awards) != 1 || res.Awards[0].Points != 9000 || res.Awards[0].TransactionID != nil {
				t.Fatalf("simulation %+v, want 9000 points and no transaction", res)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("simulate changed the database:\n%s\n%s", before, after)
			}
		})
		t.Run("custom events and conditions", func(t *testing.T) {
			e.rule(map[string]any{"name": "app share", "event_type": "app.shared", "condition": `event.data.channel == "wechat"`,
				"reward": map[string]any{"kind": "fixed", "points": 5}})
			e.rule(map[string]any{"name": "broken", "event_type": "app.shared", "condition": `event.data.nothere > 1`,
				"reward": map[string]any{"kind": "fixed", "points": 1}})
			res := e.event(map[string]any{"id": "share-1", "type": "app.shared", "member": m.ID, "data": map[string]any{"channel": "wechat"}})
			if res.total("points") != 5 || len(res.Skipped) != 1 {
				t.Fatalf("share: %+v", res)
			}
			res = e.event(map[string]any{"id": "share-2", "type": "app.shared", "member": m.ID, "data": map[string]any{"channel": "weibo"}})
			if res.total("points") != 0 {
				t.Fatalf("weibo share earned %+v", res.Awards)
			}
		})
		e.verify()
	})
}

func TestRulesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.post("/v1/rules", map[string]any{"name": "x", "event_type": "order.paid", "condition": "order.amount >=",
			"reward": map[string]any{"kind": "fixed", "points": 1}}).wantProblem(422, "validation_failed", "condition")
		e.post("/v1/rules", map[string]any{"name": "x", "event_type": "order.paid",
			"reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1, "brackets": []any{map[string]any{"rate": 1.5}}}}).
			wantProblem(422, "validation_failed", "reward.brackets[0].rate")
		e.post("/v1/rules", map[string]any{"name": "x", "event_type": "order.paid", "reward": map[string]any{"kind": "fixed", "points": 1},
			"starts_at": "soon", "limits": map[string]any{"per_member": map[string]any{"day": "many"}}}).
			wantProblem(422, "validation_failed", "starts_at", "limits.per_member.day")
		// validate answers what POST /v1/rules would, and saves nothing.
		e.post("/v1/rules/validate", map[string]any{"name": "x", "event_type": "order.paid", "condition": "order.amount >=",
			"reward": map[string]any{"kind": "fixed", "points": 1}}).wantProblem(422, "validation_failed", "condition")
		e.post("/v1/rules/validate", map[string]any{"name": "x", "event_type": "order.paid", "condition": `order.amount`,
			"reward": map[string]any{"kind": "fixed", "points": 1}}).wantProblem(422, "validation_failed", "condition")
		var checked struct{ OK bool }
		e.post("/v1/rules/validate", map[string]any{"name": "x", "event_type": "order.paid", "condition": `order.amount >= 100`,
			"reward": map[string]any{"kind": "fixed", "points": 1}}).want(200, &checked)
		var none listObj[ruleObj]
		if e.get("/v1/rules").want(200, &none); !checked.OK || len(none.Data) != 0 {
			t.Fatalf("validate: ok %v, rules saved %+v", checked.OK, none.Data)
		}
		r := e.rule(map[string]any{"name": "v", "event_type": "order.paid", "reward": map[string]any{"kind": "fixed", "points": 10}})
		if r.Version != 1 || r.Status != "active" {
			t.Fatalf("new rule %+v", r)
		}
		m := e.newMember(nil)
		res := e.event(order(m.ID, "v-1", 100))
		if res.Awards[0].RuleVersion != 1 {
			t.Fatalf("award of version %d", res.Awards[0].RuleVersion)
		}
		var r2 ruleObj
		e.patch("/v1/rules/"+r.ID, map[string]any{"reward": map[string]any{"kind": "fixed", "points": 20}}).want(200, &r2)
		if r2.Version != 2 {
			t.Fatalf("patched version %d", r2.Version)
		}
		res = e.event(order(m.ID, "v-2", 100))
		if res.Awards[0].RuleVersion != 2 || res.Awards[0].Points != 20 {
			t.Fatalf("award after the change: %+v", res.Awards)
		}
		e.patch("/v1/rules/"+r.ID, map[string]any{"status": "paused"}).want(200, nil)
		if res = e.event(order(m.ID, "v-3", 100)); len(res.Awards) != 0 {
			t.Fatalf("paused rule awarded %+v", res.Awards)
		}
		var versions listObj[struct {
			Version int `json:"version"`
		}]
		e.get("/v1/rules/"+r.ID+"/versions").want(200, &versions)
		if len(versions.Data) != 3 || versions.Data[0].Version != 3 {
			t.Fatalf("versions %+v", versions.Data)
		}
		e.patch("/v1/rules/"+r.ID, map[string]any{"condition": "1 +"}).wantProblem(422, "validation_failed", "condition")
		e.call(e.admin, "DELETE", "/v1/rules/"+r.ID, nil).want(204, nil)
		e.get("/v1/rules/"+r.ID).wantProblem(404, "not_found")
		var all listObj[ruleObj]
		e.get("/v1/rules").want(200, &all)
		if len(all.Data) != 0 {
			t.Fatalf("deleted rule listed: %+v", all.Data)
		}

		// Priority and exclusivity; a rule of one merchant sees only its events.
		var mer struct{ ID string }
		e.post("/v1/merchants", map[string]any{"name": "Store 1"}).want(201, &mer)
		e.rule(map[string]any{"name": "low", "event_type": "order.paid", "reward": map[string]any{"kind": "fixed", "points": 1}, "priority": 1})
		e.rule(map[string]any{"name": "vip only", "event_type": "order.paid", "condition": `"vip" in member.tags`,
			"reward": map[string]any{"kind": "fixed", "points": 100}, "priority": 9, "exclusive": true})
		e.rule(map[string]any{"name": "store", "event_type": "order.paid", "reward": map[string]any{"kind": "fixed", "points": 7},
			"merchant_id": mer.ID})
		vip := e.newMember(map[string]any{"tags": []string{"vip"}})
		if res := e.event(order(vip.ID, "p-1", 100)); res.total("points") != 100 {
			t.Fatalf("exclusive vip rule: %+v", res.Awards)
		}
		if res := e.event(order(m.ID, "p-2", 100)); res.total("points") != 1 {
			t.Fatalf("plain member: %+v", res.Awards)
		}
		ev := order(m.ID, "p-3", 100)
		ev["merchant_id"] = mer.ID
		if res := e.event(ev); res.total("points") != 8 {
			t.Fatalf("at the store: %+v", res.Awards)
		}
	})
}

// A refund claws back each award of its order in proportion, and refunds
// that add up to the order take back exactly what it earned.
func TestRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.rule(bracketRule)
		e.rule(map[string]any{"name": "growth", "event_type": "order.paid",
			"reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1, "currency": "growth"}})
		m := e.newMember(nil)
		paid := e.event(order(m.ID, "r-1", 300000)) // 1000 + 3000 = 4000 points, 3000 growth
		if paid.total("points") != 4000 || paid.total("growth") != 3000 {
			t.Fatalf("paid: %+v", paid.Awards)
		}
		refund := func(id string, amount any) eventResult {
			data := map[string]any{"order_id": "r-1"}
			if amount != nil {
				data["amount"] = amount
			}
			var r eventResult
			e.post("/v1/events", map[string]any{"id": id, "type": "order.refunded", "member": m.ID, "data": data}).want(201, &r)
			return r
		}
		r1 := refund("ref-1", 100000) // a third: floor(4000/3) = 1333, 1000 growth
		if r1.total("points") != -1333 || r1.total("growth") != -1000 {
			t.Fatalf("first refund: %+v", r1.Awards)
		}
		r2 := refund("ref-2", 100000) // two thirds: floor(8000/3) = 2666 in all
		if r2.total("points") != -(2666 - 1333) {
			t.Fatalf("second refund: %+v", r2.Awards)
		}
		r3 := refund("ref-3", nil) // the rest
		if r3.total("points") != -(4000-2666) || r3.total("growth") != -1000 {
			t.Fatalf("last refund: %+v", r3.Awards)
		}
		bal := e.balance(m.ID)
		if bal.Available != 0 || bal.LifetimeEarned != 0 {
			t.Fatalf("after refunding the whole order: %+v", bal)
		}
		e.post("/v1/events", map[string]any{"id": "ref-4", "type": "order.refunded", "member": m.ID,
			"data": map[string]any{"order_id": "r-1", "amount": 1}}).wantProblem(422, "limit_exceeded")
		e.verify()
	})
}

// Refund splits that add up to the whole order always claw back exactly
// what the order earned.
func TestRefundSplitsProperty(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	e.rule(bracketRule)
	e.rule(map[string]any{"name": "growth", "event_type": "order.paid",
		"reward": map[string]any{"kind": "fixed", "points": 77, "currency": "growth"}})
	seed := uint64(1)
	rnd := func(n int64) int64 { // xorshift, deterministic
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int64(seed % uint64(n))
	}
	for i := 0; i < 40; i++ {
		m := e.newMember(nil)
		amount := 1 + rnd(900000)
		paid := e.event(order(m.ID, fmt.Sprintf("ps-%d", i), amount))
		left := amount
		var clawed = map[string]int64{}
		for j := 0; left > 0; j++ {
			part := 1 + rnd(left)
			if j == 4 {
				part = left
			}
			var r eventResult
			e.post("/v1/events", map[string]any{"id": fmt.Sprintf("ps-%d-%d", i, j), "type": "order.refunded", "member": m.ID,
				"data": map[string]any{"order_id": fmt.Sprintf("ps-%d", i), "amount": part}}).want(201, &r)
			for _, a := range r.Awards {
				clawed[a.Currency] -= a.Points
			}
			left -= part
		}
		for _, cur := range []string{"points", "growth"} {
			if clawed[cur] != paid.total(cur) {
				t.Fatalf("order of %d fen earned %d %s, refunds clawed back %d", amount, paid.total(cur), cur, clawed[cur])
			}
		}
	}
	e.verify()
}

// Per-member caps count in the program's calendar: 23:59 and 00:01 in
// Shanghai are two days.
func TestCapsAcrossMidnight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.rule(map[string]any{"name": "capped", "event_type": "content.shared", "reward": map[string]any{"kind": "fixed", "points": 40},
			"limits": map[string]any{"per_member": map[string]any{"day": 100, "total": 180}}})
		m := e.newMember(nil)
		share := func(id, at string) eventResult {
			return e.event(map[string]any{"id": id, "type": "content.shared", "member": m.ID, "occurred_at": at})
		}
		e.clock.Set(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
		got := []int64{}
		for i, at := range []string{"2026-03-01T23:50:00+08:00", "2026-03-01T23:55:00+08:00", "2026-03-01T23:59:00+08:00",
			"2026-03-02T00:01:00+08:00", "2026-03-02T00:02:00+08:00", "2026-03-02T00:03:00+08:00"} {
			r := share(fmt.Sprintf("s-%d", i), at)
			got = append(got, r.total("points"))
			if i == 2 && (!r.Awards[0].Capped || r.Awards[0].CappedBy != "per_member.day") {
				t.Fatalf("third share: %+v", r.Awards)
			}
		}
		// Day 1: 40, 40, 20 (day cap 100). Day 2: 40, 40 (total cap 180), then 0.
		want := []int64{40, 40, 20, 40, 40, 0}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("awards %v, want %v", got, want)
		}
		r := share("s-9", "2026-03-02T00:04:00+08:00")
		if len(r.Awards) != 1 || !r.Awards[0].Capped || r.Awards[0].CappedBy != "per_member.total" || r.Awards[0].TransactionID != nil {
			t.Fatalf("past the total cap: %+v", r.Awards)
		}
	})
}

// Budgets and caps hold under concurrency: many events at once never
// award more than the pool or the member's cap.
func TestBudgetAndCapConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		pool := e.rule(map[string]any{"name": "pool", "event_type": "review.posted", "reward": map[string]any{"kind": "fixed", "points": 30},
			"limits": map[string]any{"budget": 1000}})
		e.rule(map[string]any{"name": "cap", "event_type": "content.shared", "reward": map[string]any{"kind": "fixed", "points": 7},
			"limits": map[string]any{"per_member": map[string]any{"day": 50}}})
		members := make([]memberObj, 12)
		for i := range members {
			members[i] = e.newMember(nil)
		}
		var mu sync.Mutex
		var poolTotal, capTotal int64
		var wg sync.WaitGroup
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var r1, r2 eventResult
				e.post("/v1/events", map[string]any{"id": fmt.Sprintf("rv-%d", i), "type": "review.posted", "member": members[i%12].ID}).want(201, &r1)
				e.post("/v1/events", map[string]any{"id": fmt.Sprintf("sh-%d", i), "type": "content.shared", "member": members[0].ID}).want(201, &r2)
				mu.Lock()
				poolTotal += r1.total("points")
				capTotal += r2.total("points")
				mu.Unlock()
			}(i)
		}
		wg.Wait()
		if poolTotal != 1000 {
			t.Fatalf("the pool of 1000 paid %d (60 reviews of 30 asked 1800)", poolTotal)
		}
		if capTotal != 50 {
			t.Fatalf("the day cap of 50 paid %d", capTotal)
		}
		var got ruleObj
		e.get("/v1/rules/"+pool.ID).want(200, &got)
		if got.BudgetUsed != 1000 {
			t.Fatalf("budget_used %d", got.BudgetUsed)
		}
		e.verify()
	})
}

func TestMemberDay(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	e.rule(map[string]any{"name": "Wednesday double", "event_type": "order.paid", "condition": "local.weekday == 3",
		"reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1}})
	e.rule(map[string]any{"name": "the 8th", "event_type": "order.paid", "recurrence": map[string]any{"kind": "monthly", "days": []int{8}},
		"reward": map[string]any{"kind": "fixed", "points": 8}})
	e.rule(map[string]any{"name": "Double 12", "event_type": "order.paid", "recurrence": map[string]any{"kind": "yearly", "dates": []string{"12-12"}},
		"reward": map[string]any{"kind": "fixed", "points": 12}})
	m := e.newMember(nil)
	at := func(id, ts string) int64 {
		e.clock.Set(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
		ev := order(m.ID, id, 1000)
		ev["occurred_at"] = ts
		return e.event(ev).total("points")
	}
	// A late event earns what it would have on time: occurred_at decides.
	if got := at("md-1", "2026-03-04T23:30:00+08:00"); got != 10 { // Wednesday in Shanghai (Wednesday 15:30 UTC)
		t.Fatalf("Wednesday: %d", got)
	}
	if got := at("md-2", "2026-03-04T16:30:00Z"); got != 0 { // already Thursday 00:30 in Shanghai
		t.Fatalf("Thursday in Shanghai: %d", got)
	}
	if got := at("md-3", "2026-04-08T10:00:00+08:00"); got != 18 { // Wednesday the 8th
		t.Fatalf("Wednesday the 8th: %d", got)
	}
	if got := at("md-4", "2026-12-12T10:00:00+08:00"); got != 12 {
		t.Fatalf("Double 12: %d", got)
	}
}

func TestJSONRoundTripOfRules(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	r := e.post("/v1/rules", bracketRule).want(201, nil)
	var got map[string]any
	json.Unmarshal(r.Body, &got)
	reward := got["reward"].(map[string]any)
	if reward["points"] != float64(1) || reward["category_multipliers"].(map[string]any)["B"] != "2" {
		t.Fatalf("rule reads back as %s", r.Body)
	}
	brackets := reward["brackets"].([]any)
	if brackets[1].(map[string]any)["rate"] != "1.5" {
		t.Fatalf("rates are decimal strings: %s", r.Body)
	}
}
