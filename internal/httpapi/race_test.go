package httpapi_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/jifen/jifen/internal/store/storetest"
)

// Two copies of one request with one Idempotency-Key, sent at once, get
// one answer: the second never runs its effect, whatever it would have
// found (here, the first spend's balance).
func TestConcurrentDuplicateSpend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		nodes := newNodes(t, b.DSN(t), 2)
		e := nodes[0]
		for round := 0; round < 15; round++ {
			m := e.newMember(nil)
			e.earn(m.ID, 100)
			var wg sync.WaitGroup
			out := make([]resp, 2)
			for i := range out {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					n := nodes[i%2]
					out[i] = n.call(n.admin, "POST", "/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 100},
						"Idempotency-Key", "dup-"+m.ID)
				}(i)
			}
			wg.Wait()
			if out[0].Status != 201 || out[1].Status != 201 || !bytes.Equal(out[0].Body, out[1].Body) {
				t.Fatalf("round %d: %d %s / %d %s", round, out[0].Status, out[0].Body, out[1].Status, out[1].Body)
			}
			if got := e.balance(m.ID); got.Available != 0 || got.LifetimeSpent != 100 {
				t.Fatalf("round %d: balance %+v", round, got)
			}
		}
	})
}

// A profile change racing an erasure cannot bring the erased data back.
func TestPatchDoesNotUndoErase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		nodes := newNodes(t, b.DSN(t), 2)
		e := nodes[0]
		for round := 0; round < 10; round++ {
			m := e.newMember(map[string]any{"phone": "13500000000", "name": "N"})
			e.earn(m.ID, 10)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); nodes[0].post("/v1/members/"+m.ID+"/erase", nil) }()
			go func() { defer wg.Done(); nodes[1].patch("/v1/members/"+m.ID, map[string]any{"region": "上海"}) }()
			wg.Wait()
			var got memberObj
			e.get("/v1/members/"+m.ID).want(200, &got)
			if got.Status != "erased" || got.Phone != nil || got.Name != nil {
				t.Fatalf("round %d: after erase and a concurrent patch: %+v", round, got)
			}
		}
		e.verify()
	})
}

// Two concurrent late referral codes pay once.
func TestReferralPatchRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		nodes := newNodes(t, b.DSN(t), 2)
		e := nodes[0]
		e.call(e.admin, "PUT", "/v1/referral", map[string]any{"inviter_points": 50, "invitee_points": 30, "on": "join"}).want(200, nil)
		a, c := e.newMember(nil), e.newMember(nil)
		m := e.newMember(nil)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			nodes[0].patch("/v1/members/"+m.ID, map[string]any{"referral_code": a.ReferralCode})
		}()
		go func() {
			defer wg.Done()
			nodes[1].patch("/v1/members/"+m.ID, map[string]any{"referral_code": c.ReferralCode})
		}()
		wg.Wait()
		paid := e.balance(a.ID).Available + e.balance(c.ID).Available
		if paid != 50 || e.balance(m.ID).Available != 30 {
			t.Fatalf("inviters got %d in all and the invitee %d; want 50 and 30", paid, e.balance(m.ID).Available)
		}
		e.verify()
	})
}

// The same event arriving on two nodes at once is processed once; the
// second gets the first's result.
func TestDuplicateEventOnTwoNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		nodes := newNodes(t, b.DSN(t), 2)
		e := nodes[0]
		e.rule(map[string]any{"name": "base", "event_type": "order.paid", "reward": map[string]any{"kind": "fixed", "points": 10}})
		for round := 0; round < 10; round++ {
			m := e.newMember(nil)
			ev := order(m.ID, "dup-order-"+m.ID, 1000)
			var wg sync.WaitGroup
			out := make([]resp, 2)
			for i := range out {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					n := nodes[i]
					out[i] = n.call(n.admin, "POST", "/v1/events", ev)
				}(i)
			}
			wg.Wait()
			ok := (out[0].Status == 201 && out[1].Status == 200) || (out[0].Status == 200 && out[1].Status == 201) ||
				(out[0].Status == 201 && out[1].Status == 201 && bytes.Equal(out[0].Body, out[1].Body))
			if !ok || !bytes.Equal(out[0].Body, out[1].Body) {
				t.Fatalf("round %d: %d %s / %d %s", round, out[0].Status, out[0].Body, out[1].Status, out[1].Body)
			}
			if e.balance(m.ID).Available != 10 {
				t.Fatalf("round %d: balance %+v", round, e.balance(m.ID))
			}
		}
	})
}

// Refunding a spend to a member in debt repays the debt first; an erased
// member's transactions cannot be reversed.
func TestRefundRepaysDebt(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	m := e.newMember(nil)
	earned := e.earn(m.ID, 100)
	var sp txnObj
	e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 100}).want(201, &sp)
	e.post("/v1/transactions/"+earned.ID+"/reverse", nil).want(201, nil) // debt 100
	e.post("/v1/transactions/"+sp.ID+"/reverse", map[string]any{"points": 60}).want(201, nil)
	if got := e.balance(m.ID); got.Available != 0 || got.Debt != 40 {
		t.Fatalf("after refunding 60 of the spend: %+v, want debt 40", got)
	}
	e.post("/v1/members/"+m.ID+"/erase", nil).want(200, nil)
	e.post("/v1/transactions/"+sp.ID+"/reverse", nil).wantProblem(409, "conflict")
	e.verify()
}
