package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store/storetest"
	"github.com/jifen/jifen/internal/tier"
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

// openAPIDoc fetches the served document.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	e := newEnv(t, storetest.SQLite)
	r := e.call("", "GET", "/openapi.json", nil).want(200, nil)
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// obj walks a JSON document along keys.
func obj(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// errorCodes lists the problem codes of one response, following its $ref.
func errorCodes(doc, resp map[string]any) []string {
	if ref, ok := resp["$ref"].(string); ok {
		resp = obj(doc, "components", "responses", strings.TrimPrefix(ref, "#/components/responses/"))
	}
	var codes []string
	parts, _ := obj(resp, "content", "application/problem+json", "schema")["allOf"].([]any)
	for _, part := range parts {
		enum, _ := obj(part, "properties", "code")["enum"].([]any)
		for _, c := range enum {
			codes = append(codes, c.(string))
		}
	}
	return codes
}

// Every route lists the errors its attributes imply, each as problem+json
// with its codes; a few domain refusals are checked by name.
func TestOpenAPIErrorResponses(t *testing.T) {
	doc := openAPIDoc(t)
	has := func(op map[string]any, status, code string) bool {
		resp := obj(op, "responses", status)
		return resp != nil && slices.Contains(errorCodes(doc, resp), code)
	}
	n := 0
	for path, ops := range obj(doc, "paths") {
		for method, o := range ops.(map[string]any) {
			op := o.(map[string]any)
			name := strings.ToUpper(method) + " " + path
			if !strings.HasPrefix(path, "/v1/") {
				continue
			}
			n++
			want := [][2]string{{"500", "internal"}}
			if path != "/v1/ping" {
				want = append(want, [2]string{"503", "unavailable"})
			}
			if sec, ok := op["security"].([]any); !ok || len(sec) > 0 { // not public
				want = append(want, [2]string{"401", "unauthenticated"})
				if roles, _ := op["x-jifen-roles"].([]any); len(roles) < 3 {
					want = append(want, [2]string{"403", "forbidden"})
				}
			}
			if strings.Contains(path, "{") {
				want = append(want, [2]string{"404", "not_found"})
			}
			if op["requestBody"] != nil {
				want = append(want, [2]string{"400", "bad_request"}, [2]string{"413", "payload_too_large"},
					[2]string{"422", "validation_failed"})
			}
			idem := false
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				idem = idem || p.(map[string]any)["name"] == "Idempotency-Key"
			}
			readOnly := map[string]bool{"POST /v1/events/simulate": true, "POST /v1/checkout/quote": true,
				"POST /v1/coupons/{code}/validate": true, "POST /v1/rules/validate": true,
				"POST /v1/console/login": true, "POST /v1/console/logout": true, "POST /v1/segments/preview": true,
				"POST /v1/message-templates/{id}/render": true}
			if method != "get" && !readOnly[name] {
				if !idem {
					t.Errorf("%s: no Idempotency-Key parameter", name)
				}
				want = append(want, [2]string{"409", "idempotency_conflict"}, [2]string{"400", "bad_request"})
			}
			for _, w := range want {
				if !has(op, w[0], w[1]) {
					t.Errorf("%s: no %s %s response", name, w[0], w[1])
				}
			}
			for status := range obj(op, "responses") {
				if status[0] >= '4' && len(errorCodes(doc, obj(op, "responses", status))) == 0 {
					t.Errorf("%s: error response %s names no code", name, status)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d /v1 operations in the document", n)
	}
	for _, c := range []struct{ route, status, code string }{
		{"POST /v1/members/{member}/points/spend", "422", "insufficient_points"},
		{"POST /v1/members", "409", "member_exists"},
		{"POST /v1/holds/{id}/capture", "409", "conflict"},
		{"POST /v1/transactions/{id}/reverse", "422", "limit_exceeded"},
		{"POST /v1/events", "404", "not_found"}, // an unknown member
		{"POST /v1/redemptions", "409", "out_of_stock"},
		{"GET /v1/members", "422", "validation_failed"}, // ?limit=
	} {
		method, path, _ := strings.Cut(c.route, " ")
		if !has(obj(doc, "paths", path, strings.ToLower(method)), c.status, c.code) {
			t.Errorf("%s: no %s %s response", c.route, c.status, c.code)
		}
	}
	// Public routes are not problem+json, but /readyz says when it is not ready.
	if obj(doc, "paths", "/readyz", "get", "responses", "503") == nil {
		t.Error("GET /readyz: no 503 response")
	}
}

// Constraints from api tags appear in the document.
func TestOpenAPIConstraints(t *testing.T) {
	doc := openAPIDoc(t)
	prop := func(schema, field string) map[string]any {
		p := obj(doc, "components", "schemas", schema, "properties", field)
		if p == nil {
			t.Fatalf("schema %s has no property %s", schema, field)
		}
		return p
	}
	for _, c := range []struct {
		schema, field, keyword string
		want                   any
	}{
		{"EarnInput", "points", "maximum", float64(input.MaxPoints)},
		{"EarnInput", "points", "minimum", float64(1)},
		{"EarnInput", "available_at", "format", "date-time"},
		{"HoldInput", "expires_in_seconds", "maximum", float64(points.MaxHoldSeconds)},
		{"HoldInput", "expires_in_seconds", "default", float64(900)},
		{"Patch", "max_offset_percent", "maximum", float64(100)},
	} {
		if c.keyword == "" {
			continue
		}
		if got := prop(c.schema, c.field)[c.keyword]; got != c.want {
			t.Errorf("%s.%s: %s = %v, want %v", c.schema, c.field, c.keyword, got, c.want)
		}
	}
	if got := prop("Txn", "created_at")["format"]; got != "date-time" {
		t.Errorf("Txn.created_at: format %v, want date-time", got)
	}
	if got := prop("Txn", "points")["format"]; got != "int64" {
		t.Errorf("Txn.points: format %v, want int64", got)
	}
	if got := fmt.Sprint(prop("Member", "status")["enum"]); got != "[active frozen erased merged]" {
		t.Errorf("Member.status: enum %s", got)
	}
	if got := prop("AdjustInput", "points")["not"]; got == nil {
		t.Error("AdjustInput.points: no not: {const: 0}")
	}
	if got := fmt.Sprint(obj(doc, "components", "schemas", "EarnInput")["required"]); got != "[points]" {
		t.Errorf("EarnInput: required %s, want [points]", got)
	}
	if got := prop("Tier", "multiplier")["type"]; got != "string" {
		t.Errorf("Tier.multiplier: type %v, want string (a decimal string)", got)
	}
}

// validator is a request type that checks itself.
type validator interface{ Validate() error }

// The api tags on request types say what their Validate methods enforce:
// a value just past a numeric bound or length, outside an enum, or 0 where
// nonzero is documented is refused, naming the field. (0 in an omitempty
// field means "absent" and is not checked against a minimum.)
func TestOpenAPITagsMatchValidate(t *testing.T) {
	types := []validator{
		points.EarnInput{}, points.SpendInput{}, points.AdjustInput{}, points.HoldInput{},
		points.CaptureInput{}, points.ReverseInput{}, member.Input{}, events.Input{},
		program.MerchantInput{}, program.CheckinConfig{}, program.ReferralConfig{}, auth.CreateInput{},
		tier.UpgradeInput{}, mall.QuoteInput{}, mall.RedemptionInput{}, coupon.ClaimInput{},
	}
	checked := 0
	for _, v := range types {
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			tag, ok := f.Tag.Lookup("api")
			if !ok {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			omitempty := strings.Contains(opts, "omitempty")
			try := func(what string, val any) {
				t.Helper()
				pv := reflect.New(rt).Elem()
				pv.Set(reflect.ValueOf(v))
				fv := pv.Field(i)
				x := reflect.ValueOf(val)
				if fv.Kind() == reflect.Pointer {
					p := reflect.New(fv.Type().Elem())
					p.Elem().Set(x.Convert(fv.Type().Elem()))
					fv.Set(p)
				} else {
					fv.Set(x.Convert(fv.Type()))
				}
				err := pv.Interface().(validator).Validate()
				fe := failure.As(err)
				if fe == nil || !slices.ContainsFunc(fe.Fields, func(e failure.FieldError) bool { return e.Field == name }) {
					t.Errorf("%s.%s: api:%q documents that %s is refused, but Validate gives %v", rt, name, tag, what, err)
				}
				checked++
			}
			for _, item := range strings.Split(tag, ",") {
				k, val, _ := strings.Cut(item, "=")
				bound := func() int64 {
					switch val {
					case "MaxPoints":
						return input.MaxPoints
					case "-MaxPoints":
						return -input.MaxPoints
					case "MaxAmount":
						return input.MaxAmount
					}
					n, err := strconv.ParseInt(val, 10, 64)
					if err != nil {
						t.Fatalf("%s.%s: %v", rt, name, err)
					}
					return n
				}
				switch k {
				case "max":
					try("max+1", bound()+1)
				case "min":
					if b := bound(); !(omitempty && b-1 == 0) {
						try("min-1", b-1)
					}
				case "maxlen":
					try("a string of maxlen+1", strings.Repeat("a", int(bound())+1))
				case "minlen":
					try("a string of minlen-1", strings.Repeat("a", int(bound())-1))
				case "enum":
					try("a value outside the enum", "no-such-value")
				case "nonzero":
					try("0", 0)
				case "pattern":
					return // the rest is the pattern
				}
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d constraints checked", checked)
	}
}
