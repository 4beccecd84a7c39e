package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// The contract's routes for the sections built so far. A route missing
// from the server, or from its OpenAPI document, fails here.
var contractRoutes = []string{
	"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
	"GET /v1/program", "PATCH /v1/program",
	"POST /v1/merchants", "GET /v1/merchants",
	"POST /v1/api-keys", "GET /v1/api-keys", "DELETE /v1/api-keys/{id}",
	"POST /v1/members", "GET /v1/members", "GET /v1/members/{member}", "PATCH /v1/members/{member}",
	"POST /v1/members/{member}/freeze", "POST /v1/members/{member}/unfreeze", "POST /v1/members/{member}/erase",
	"GET /v1/members/{member}/balance", "GET /v1/members/{member}/transactions", "GET /v1/members/{member}/lots",
	"POST /v1/members/{member}/points/earn", "POST /v1/members/{member}/points/spend", "POST /v1/members/{member}/points/adjust",
	"POST /v1/members/{member}/holds", "GET /v1/members/{member}/holds",
	"POST /v1/holds/{id}/capture", "POST /v1/holds/{id}/release", "GET /v1/holds/{id}",
	"POST /v1/transactions/{id}/reverse", "GET /v1/transactions/{id}",
	"POST /v1/jobs/expire", "POST /v1/jobs/activate-pending", "GET /v1/books/verify",
	// Events and rules; tiers; engagement.
	"POST /v1/events", "POST /v1/events/simulate",
	"POST /v1/rules", "GET /v1/rules", "GET /v1/rules/{id}", "PATCH /v1/rules/{id}", "DELETE /v1/rules/{id}",
	"PUT /v1/tiers", "GET /v1/tiers", "POST /v1/members/{member}/tier/upgrade", "GET /v1/members/{member}/tier-history",
	"POST /v1/jobs/tier-review",
	"PUT /v1/checkin", "POST /v1/members/{member}/checkins", "POST /v1/tasks", "GET /v1/members/{member}/tasks",
	"PUT /v1/referral",
	// Spending.
	"POST /v1/checkout/quote", "POST /v1/rewards", "GET /v1/rewards", "GET /v1/rewards/{id}", "PATCH /v1/rewards/{id}",
	"POST /v1/redemptions", "POST /v1/redemptions/{id}/fulfil", "POST /v1/redemptions/{id}/cancel",
	"POST /v1/coupon-templates", "GET /v1/coupon-templates", "GET /v1/coupon-templates/{id}", "PATCH /v1/coupon-templates/{id}",
	"POST /v1/coupon-templates/{id}/claim", "POST /v1/coupons/{code}/validate", "POST /v1/coupons/{code}/redeem",
	"POST /v1/coupons/{code}/transfer", "GET /v1/members/{member}/coupons",
	"POST /v1/lotteries", "POST /v1/lotteries/{id}/draws", "GET /v1/lotteries", "GET /v1/lotteries/{id}",
}

func TestOpenAPI(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	r := e.call("", "GET", "/openapi.json", nil).want(200, nil)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	inDoc := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			inDoc[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range e.api.Routes() {
		k := rt.Method + " " + rt.Path
		served[k] = true
		if !inDoc[k] {
			t.Errorf("route %s is missing from openapi.json", k)
		}
	}
	for k := range inDoc {
		if !served[k] {
			t.Errorf("openapi.json lists %s, which the server does not serve", k)
		}
	}
	for _, k := range contractRoutes {
		if !served[k] {
			t.Errorf("contract route %s is not served", k)
		}
	}
	golden := filepath.Join("testdata", "openapi.golden")
	if *update {
		if err := os.WriteFile(golden, r.Body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestOpenAPI -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(r.Body)) {
		t.Errorf("openapi.json differs from %s; if the change is intended, run go test ./internal/httpapi -run TestOpenAPI -update and review the diff", golden)
	}
}
