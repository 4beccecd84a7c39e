package httpapi_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/jifen/jifen/internal/store/storetest"
)

func TestIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(nil)
		earn := "/v1/members/" + m.ID + "/points/earn"
		t.Run("replay and conflict", func(t *testing.T) {
			first := e.call(e.admin, "POST", earn, map[string]any{"points": 10}, "Idempotency-Key", "k-1").want(201, nil)
			again := e.call(e.admin, "POST", earn, map[string]any{"points": 10}, "Idempotency-Key", "k-1").want(201, nil)
			if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %s / %s (header %q)", first.Body, again.Body, again.Header.Get("Idempotent-Replayed"))
			}
			if first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatal("first response marked as replayed")
			}
			e.call(e.admin, "POST", earn, map[string]any{"points": 11}, "Idempotency-Key", "k-1").wantProblem(409, "idempotency_conflict")
			e.call(e.admin, "POST", "/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 10}, "Idempotency-Key", "k-1").
				wantProblem(409, "idempotency_conflict")
			if got := e.balance(m.ID); got.Available != 10 {
				t.Fatalf("balance %d after a replay, want 10", got.Available)
			}
		})
		t.Run("a refused request is not remembered", func(t *testing.T) {
			m := e.newMember(nil)
			e.earn(m.ID, 10)
			spend := "/v1/members/" + m.ID + "/points/spend"
			e.call(e.admin, "POST", spend, map[string]any{"points": 15}, "Idempotency-Key", "k-2").wantProblem(422, "insufficient_points")
			e.earn(m.ID, 10)
			e.call(e.admin, "POST", spend, map[string]any{"points": 15}, "Idempotency-Key", "k-2").want(201, nil)
			if got := e.balance(m.ID); got.Available != 5 {
				t.Fatalf("balance %d, want 5", got.Available)
			}
		})
		t.Run("concurrent duplicates apply once", func(t *testing.T) {
			m := e.newMember(nil)
			earn := "/v1/members/" + m.ID + "/points/earn"
			var wg sync.WaitGroup
			bodies := make([][]byte, 25)
			for i := range bodies {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					r := e.call(e.admin, "POST", earn, map[string]any{"points": 7}, "Idempotency-Key", "k-3")
					if r.Status != 201 {
						t.Errorf("duplicate %d: %d %s", i, r.Status, r.Body)
					}
					bodies[i] = r.Body
				}(i)
			}
			wg.Wait()
			for i := range bodies {
				if !bytes.Equal(bodies[i], bodies[0]) {
					t.Fatalf("duplicate %d answered %s, the first %s", i, bodies[i], bodies[0])
				}
			}
			if got := e.balance(m.ID); got.Available != 7 {
				t.Fatalf("balance %d after 25 duplicates of +7, want 7", got.Available)
			}
		})
		t.Run("creating a member replays the same member", func(t *testing.T) {
			a := e.call(e.admin, "POST", "/v1/members", map[string]any{"name": "once"}, "Idempotency-Key", "k-4").want(201, nil)
			b := e.call(e.admin, "POST", "/v1/members", map[string]any{"name": "once"}, "Idempotency-Key", "k-4").want(201, nil)
			if !bytes.Equal(a.Body, b.Body) {
				t.Fatalf("two members: %s / %s", a.Body, b.Body)
			}
		})
		t.Run("bad keys", func(t *testing.T) {
			e.call(e.admin, "POST", earn, map[string]any{"points": 1}, "Idempotency-Key", strings.Repeat("x", 256)).
				wantProblem(400, "bad_request", "Idempotency-Key")
			e.call(e.admin, "POST", earn, map[string]any{"points": 1}, "Idempotency-Key", "tab\there").
				wantProblem(400, "bad_request", "Idempotency-Key")
		})
		t.Run("jobs replay", func(t *testing.T) {
			a := e.call(e.admin, "POST", "/v1/jobs/expire", nil, "Idempotency-Key", "k-5").want(200, nil)
			b := e.call(e.admin, "POST", "/v1/jobs/expire", nil, "Idempotency-Key", "k-5").want(200, nil)
			if !bytes.Equal(a.Body, b.Body) || b.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("job replay: %s / %s", a.Body, b.Body)
			}
		})
	})
}

// The same JSON value is the same body, however it is spaced or ordered.
func TestIdempotencyCanonicalBody(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	m := e.newMember(nil)
	path := "/v1/members/" + m.ID + "/points/earn"
	e.call(e.admin, "POST", path, `{"points":5,"reason":"a"}`, "Idempotency-Key", "canon").want(201, nil)
	r := e.call(e.admin, "POST", path, `{ "reason": "a",  "points": 5 }`, "Idempotency-Key", "canon").want(201, nil)
	if r.Header.Get("Idempotent-Replayed") != "true" || e.balance(m.ID).Available != 5 {
		t.Fatalf("reformatted body was not a replay: %s", r.Body)
	}
}

// A retried purchase that took the last unit gets its first answer, not
// the flash-sale gate's "sold out".
func TestIdempotentRedemptionAfterSellOut(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	m := e.newMember(nil)
	e.earn(m.ID, 100)
	rw := e.reward(map[string]any{"name": "Last one", "type": "virtual", "points_price": 10, "stock": 1})
	body := map[string]any{"member": m.ID, "reward_id": rw.ID}
	first := e.call(e.admin, "POST", "/v1/redemptions", body, "Idempotency-Key", "buy-1").want(201, nil)
	e.post("/v1/redemptions", body).wantProblem(409, "out_of_stock") // the gate now knows
	again := e.call(e.admin, "POST", "/v1/redemptions", body, "Idempotency-Key", "buy-1").want(201, nil)
	if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered %s", again.Body)
	}
}
