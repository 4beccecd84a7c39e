package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/store/storetest"
)

// snapshot counts every table's rows and sums the balances, so a test can
// tell that a request changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	read, _ := e.db.SQL()
	var parts []string
	for _, table := range []string{"programs", "merchants", "api_keys", "members", "member_tags", "balances", "transactions",
		"postings", "lots", "lot_moves", "holds", "idempotency"} {
		var n int64
		if err := read.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d", table, n))
	}
	var sum int64
	if err := read.QueryRowContext(context.Background(),
		"SELECT COALESCE(SUM(available + pending + held + debt + lifetime_earned + lifetime_spent), 0) FROM balances").Scan(&sum); err != nil {
		e.t.Fatal(err)
	}
	var updated int64
	read.QueryRowContext(context.Background(), "SELECT COALESCE(MAX(updated_at), 0) FROM members").Scan(&updated)
	return strings.Join(parts, " ") + fmt.Sprintf(" sum=%d members_updated=%d", sum, updated)
}

// Bad input gets a clear error and changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(map[string]any{"external_id": "bad-1", "phone": "13600000000"})
		e.earn(m.ID, 100)
		var h holdObj
		e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 10}).want(201, &h)
		spent := txnObj{}
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 5}).want(201, &spent)
		before := e.snapshot()
		mp := "/v1/members/" + m.ID
		cases := []struct {
			method, path string
			body         any
			status       int
			code         string
			fields       []string
		}{
			{"POST", mp + "/points/earn", `{"points": 5`, 400, "bad_request", nil},
			{"POST", mp + "/points/earn", `[1,2]`, 400, "bad_request", nil},
			{"POST", mp + "/points/earn", `{"points": 5} {"points": 6}`, 400, "bad_request", nil},
			{"POST", mp + "/points/earn", `{"points": "5"}`, 422, "validation_failed", []string{"points"}},
			{"POST", mp + "/points/earn", `{"points": 1.5}`, 422, "validation_failed", []string{"points"}},
			{"POST", mp + "/points/earn", map[string]any{"points": -5}, 422, "validation_failed", []string{"points"}},
			{"POST", mp + "/points/earn", map[string]any{"points": 5, "metadata": "x"}, 422, "validation_failed", []string{"metadata"}},
			{"POST", mp + "/points/earn", map[string]any{"points": 5, "reason": strings.Repeat("r", 300)}, 422, "validation_failed", []string{"reason"}},
			{"POST", mp + "/points/earn", map[string]any{"points": 5, "available_at": "2026-13-01"}, 422, "validation_failed", []string{"available_at"}},
			{"POST", mp + "/points/spend", map[string]any{"points": 1000}, 422, "insufficient_points", nil},
			{"POST", mp + "/points/spend", map[string]any{"points": 1, "currency": "nope"}, 422, "validation_failed", []string{"currency"}},
			{"POST", mp + "/holds", map[string]any{"points": 10, "expires_in_seconds": -1}, 422, "validation_failed", []string{"expires_in_seconds"}},
			{"POST", mp + "/holds", map[string]any{"points": 1000}, 422, "insufficient_points", nil},
			{"POST", "/v1/holds/" + h.ID + "/capture", map[string]any{"points": 11}, 422, "validation_failed", []string{"points"}},
			{"POST", "/v1/transactions/" + spent.ID + "/reverse", map[string]any{"points": 6}, 422, "limit_exceeded", nil},
			{"POST", "/v1/members/ext:nobody/points/earn", map[string]any{"points": 5}, 404, "not_found", nil},
			{"POST", "/v1/members", map[string]any{"external_id": "bad-1"}, 409, "member_exists", []string{"external_id"}},
			{"POST", "/v1/members", map[string]any{"phone": "bad"}, 422, "validation_failed", []string{"phone"}},
			{"PATCH", mp, map[string]any{"phone": "bad"}, 422, "validation_failed", []string{"phone"}},
			{"PATCH", "/v1/program", map[string]any{"timezone": "Mars/Olympus", "points_per_yuan": 0, "expiry": map[string]any{"kind": "rolling"}},
				422, "validation_failed", []string{"timezone", "points_per_yuan", "expiry.days"}},
			{"PATCH", "/v1/program", map[string]any{"negative_balance": "sometimes", "max_offset_percent": 101}, 422, "validation_failed",
				[]string{"negative_balance", "max_offset_percent"}},
			{"POST", "/v1/merchants", map[string]any{"name": ""}, 422, "validation_failed", []string{"name"}},
			{"POST", "/v1/jobs/expire", map[string]any{"as_of": "2099-01-01T00:00:00Z"}, 422, "validation_failed", []string{"as_of"}},
			{"POST", mp + "/points/earn", strings.Repeat(" ", 2<<20), 413, "payload_too_large", nil},
			{"DELETE", mp, nil, 405, "method_not_allowed", nil},
			// What a merchant's walkthrough found accepted.
			{"POST", mp + "/points/earn", `{"points":1,"points":1000000}`, 400, "bad_request", nil},
			{"POST", mp + "/points/earn", "{\"points\":5,\"reason\":\"\xff\xfe\"}", 400, "bad_request", nil},
			{"POST", "/v1/events", map[string]any{"id": "w-1", "type": "order.paid", "member": m.ID,
				"data": map[string]any{"order_id": "w-1", "amount": "10000"}}, 422, "validation_failed", []string{"data.amount"}},
			{"POST", "/v1/events/simulate", map[string]any{"id": "w-2", "type": "order.paid", "member": m.ID,
				"data": map[string]any{"order_id": "w-2", "amount": int64(1<<63 - 1)}}, 422, "validation_failed", []string{"data.amount"}},
			{"POST", "/v1/rules", map[string]any{"name": "never fires", "event_type": "order.paid", "condition": "order.amount",
				"reward": map[string]any{"kind": "fixed", "points": 1}}, 422, "validation_failed", []string{"condition"}},
			{"POST", mp + "/holds", map[string]any{"points": 60, "order_id": "o-w", "order_amount": 100}, 422, "validation_failed", []string{"points"}},
			{"GET", "/v1/nothing/here", nil, 404, "not_found", nil},
		}
		for _, tc := range cases {
			r := e.call(e.admin, tc.method, tc.path, tc.body)
			r.wantProblem(tc.status, tc.code, tc.fields...)
			if after := e.snapshot(); after != before {
				t.Fatalf("%s %s %v changed the database:\n before %s\n after  %s", tc.method, tc.path, tc.body, before, after)
			}
		}
	})
}

func TestHeaders(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	r := e.call(e.admin, "GET", "/v1/program", nil, "X-Request-Id", "abc-123")
	for h, want := range map[string]string{
		"X-Request-Id": "abc-123", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-store", "Content-Type": "application/json; charset=utf-8",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	r = e.call(e.admin, "GET", "/v1/program", nil, "X-Request-Id", "no spaces allowed")
	if id := r.Header.Get("X-Request-Id"); id == "no spaces allowed" || id == "" {
		t.Errorf("bad request id kept: %q", id)
	}
	if id := e.call(e.admin, "GET", "/v1/program", nil, "X-Request-Id", strings.Repeat("a", 65)).Header.Get("X-Request-Id"); id == strings.Repeat("a", 65) || id == "" {
		t.Errorf("a 65-character request id kept: %q", id)
	}
	// Refusals carry them too.
	r = e.call("", "GET", "/v1/program", nil, "X-Request-Id", "refused.1")
	r.wantProblem(401, "unauthenticated")
	for h, want := range map[string]string{
		"X-Request-Id": "refused.1", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("401: %s = %q, want %q", h, got, want)
		}
	}
	e.call("", "GET", "/healthz", nil).want(200, nil)
	e.call("", "GET", "/readyz", nil).want(200, nil)
	m := e.call("", "GET", "/metrics", nil).want(200, nil)
	for _, name := range []string{"jifen_http_requests_total", "jifen_writer_operations_total", "go_sql_open_connections"} {
		if !strings.Contains(string(m.Body), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	var ping struct {
		OK        bool   `json:"ok"`
		ProgramID string `json:"program_id"`
	}
	e.get("/v1/ping").want(200, &ping)
	if !ping.OK || ping.ProgramID != "default" {
		t.Errorf("ping = %+v", ping)
	}
}
