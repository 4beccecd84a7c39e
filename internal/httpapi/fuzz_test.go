package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// writeSeeds are valid bodies per write route, taken from the tests of
// each route. A route missing here is still fuzzed, from "{}". Path values
// are filled in from the fixture (see fuzzAPI.path).
var writeSeeds = map[string][]string{
	"POST /v1/members": {
		`{"external_id":"fz-2","phone":"13900000009","name":"A","gender":"female","birthday":"1990-03-01","tags":["gold"],"attributes":{"k":"v"}}`,
		`{"referral_code":"ZZZZZZZZ"}`,
	},
	"PATCH /v1/members/{member}":         {`{"name":"B","tags":["gold"]}`, `{"gender":"x","referral_code":"X"}`},
	"POST /v1/members/{member}/freeze":   {``},
	"POST /v1/members/{member}/unfreeze": {``},
	"POST /v1/members/{member}/erase":    {``},
	"POST /v1/members/{member}/points/earn": {
		`{"points":1000,"reason":"order 1","reference":"o-1","metadata":{"a":1}}`,
		`{"points":70,"available_at":"2026-03-02T00:00:00Z","expires_at":"2027-03-01T00:00:00+08:00"}`,
		`{"points":1000000000001}`,
	},
	"POST /v1/members/{member}/points/spend":  {`{"points":300,"reason":"r","reference":"x"}`},
	"POST /v1/members/{member}/points/adjust": {`{"points":-15,"reason":"correction"}`, `{"points":40,"reason":"goodwill","currency":"growth"}`},
	"POST /v1/members/{member}/holds":         {`{"points":50,"expires_in_seconds":60,"reference":"order-9"}`},
	"POST /v1/holds/{id}/capture":             {`{"points":150}`, ``},
	"POST /v1/holds/{id}/release":             {``},
	"POST /v1/transactions/{id}/reverse":      {`{"points":100,"reason":"refund"}`, ``},
	"PATCH /v1/program": {
		`{"name":"P","timezone":"America/St_Johns","currency":"CNY","points_per_yuan":100,"max_offset_percent":50,"expiry":{"kind":"end_of_year","years":1},"negative_balance":"allow"}`,
		`{"timezone":"Mars/Olympus","points_per_yuan":0,"expiry":{"kind":"rolling"}}`,
	},
	"POST /v1/merchants":             {`{"name":"Shop A"}`},
	"POST /v1/api-keys":              {`{"name":"temp","role":"readonly"}`, `{"name":"m","role":"merchant"}`},
	"DELETE /v1/api-keys/{id}":       {``},
	"POST /v1/jobs/expire":           {`{"as_of":"2026-02-01T00:00:00Z"}`, `{}`},
	"POST /v1/jobs/activate-pending": {`{"as_of":"2026-03-01T01:00:00+08:00"}`},
	"POST /v1/jobs/expire-holds":     {``},
	"POST /v1/jobs/tier-review":      {`{"as_of":"2026-01-01T00:00:00Z"}`},
	"POST /v1/jobs/birthdays":        {``},
	"POST /v1/jobs/expire-coupons":   {``},
	"POST /v1/rules": {
		`{"name":"spend brackets","event_type":"order.paid","reward":{"kind":"per_amount","per":100,"points":1,"brackets":[{"up_to":100000,"rate":"1"},{"up_to":500000,"rate":"1.5"},{"rate":"2"}],"category_multipliers":{"B":"2"},"expires":{"kind":"rolling","days":30}},"limits":{"per_member":{"day":100,"week":500,"month":1000,"total":5000},"budget":100000}}`,
		`{"name":"member day","event_type":"order.paid","condition":"order.amount >= 100 && local.weekday == 3","reward":{"kind":"expression","points":"order.amount / 100 * 2"},"recurrence":{"kind":"yearly","dates":["12-20..01-05"],"from":"10:00","to":"12:00"},"starts_at":"2026-01-01T00:00:00Z","ends_at":"2027-01-01T00:00:00Z","priority":5,"exclusive":true,"status":"active"}`,
	},
	"PATCH /v1/rules/{id}":  {`{"reward":{"kind":"fixed","points":20}}`, `{"status":"paused"}`, `{"condition":"1 +"}`},
	"DELETE /v1/rules/{id}": {``},
	"POST /v1/events": {
		`{"id":"evt-1","type":"order.paid","member":"ext:fz-1","occurred_at":"2026-03-01T09:00:00+08:00","data":{"order_id":"o-1","amount":200000,"currency":"CNY","items":[{"sku":"a","category":"B","quantity":1,"amount":200000}]}}`,
		`{"id":"r-1","type":"order.refunded","member":"ext:fz-1","data":{"order_id":"o-1","amount":5000}}`,
		`{"id":"x-1","type":"content.shared","member":"ext:new-member","merchant_id":""}`,
	},
	"POST /v1/events/simulate": {
		`{"id":"evt-2","type":"order.paid","member":"ext:fz-1","data":{"order_id":"o-2","amount":600000}}`,
	},
	"PUT /v1/tiers": {
		`[{"code":"silver","name":"Silver","threshold":0,"multiplier":"1"},{"code":"gold","name":"Gold","threshold":1000,"multiplier":"1.5","upgrade_cost_points":1000},{"code":"black","name":"Black","threshold":5000,"multiplier":"2","benefits":{"lounge":true}}]`,
		`{"code":"x"}`,
	},
	"POST /v1/members/{member}/tier/upgrade": {`{"to":"gold"}`},
	"PUT /v1/checkin":                        {`{"points":5,"streak_bonuses":[{"day":3,"points":20}],"cycle_days":4}`},
	"POST /v1/members/{member}/checkins":     {``},
	"POST /v1/tasks": {
		`{"name":"Share 3 times","event_type":"content.shared","target":3,"period":"day","reward":{"points":30}}`,
	},
	"PATCH /v1/tasks/{id}":  {`{"name":"Share 4 times","target":4,"period":"week"}`},
	"DELETE /v1/tasks/{id}": {``},
	"PUT /v1/referral":      {`{"inviter_points":100,"invitee_points":50,"on":"first_order","max_per_inviter":2}`},
	"POST /v1/coupon-templates": {
		`{"name":"满100减20","kind":"amount_off","value":2000,"min_order":10000,"total":3,"per_member_limit":2,"valid_days":7,"transferable":true}`,
		`{"name":"85折 up to 30","kind":"percent_off","value":15,"max_discount":3000,"points_price":200}`,
		`{"name":"10 o'clock","kind":"amount_off","value":100,"daily_release":{"time":"10:00","quantity":2}}`,
	},
	"PATCH /v1/coupon-templates/{id}":      {`{"name":"3 off","value":300,"valid_until":"2027-01-01T00:00:00Z"}`},
	"POST /v1/coupon-templates/{id}/claim": {`{"member":"ext:fz-1"}`},
	"POST /v1/coupons/{code}/validate":     {`{"member":"ext:fz-1","order_amount":20000}`},
	"POST /v1/coupons/{code}/redeem":       {`{"member":"ext:fz-1","order_amount":20000,"reference":"ord-1"}`},
	"POST /v1/coupons/{code}/unredeem":     {`{"reference":"ord-1"}`},
	"POST /v1/coupons/{code}/transfer":     {`{"to":"ext:fz-1"}`},
	"POST /v1/checkout/quote":              {`{"member":"ext:fz-1","order_amount":10000,"coupon":""}`},
	"POST /v1/rewards": {
		`{"name":"Mug","type":"physical","points_price":500,"cash_price":990,"stock":3,"per_member_limit":2}`,
		`{"name":"Soon","type":"virtual","points_price":1,"starts_at":"2026-03-01T03:00:00Z","tiers":["gold","black"]}`,
	},
	"PATCH /v1/rewards/{id}":           {`{"stock":10,"status":"active"}`},
	"POST /v1/redemptions":             {`{"member":"ext:fz-1","reward_id":"rwd_nope","quantity":1}`},
	"POST /v1/redemptions/{id}/fulfil": {``},
	"POST /v1/redemptions/{id}/cancel": {``},
	"POST /v1/lotteries": {
		`{"name":"Wheel","cost_points":10,"daily_limit":5,"prizes":[{"name":"100 points","weight":1,"stock":1,"reward":{"points":100}}],"fallback_prize":{"name":"Thanks","reward":{"points":1}}}`,
	},
	"PATCH /v1/lotteries/{id}":      {`{"status":"paused"}`},
	"POST /v1/lotteries/{id}/draws": {`{"member":"ext:fz-1"}`},
}

// garble returns broken variants of a valid body: truncated, wrapped in
// an array, a string where a value was, numbers out of range, a far year.
func garble(body string) []string {
	if body == "" {
		return []string{`{`, `null`, `[]`}
	}
	out := []string{
		body[:len(body)/2],
		"[" + body + "]",
		strings.Replace(body, `":`, `":"`, 1),
		strings.Replace(body, `":`, `":-9223372036854775808,"x":`, 1),
		strings.Replace(body, `":`, `":1e400,"x":`, 1),
	}
	if strings.Contains(body, `"2026-`) {
		out = append(out, strings.ReplaceAll(body, `"2026-`, `"9999-`))
	}
	return out
}

// fuzzAPI is a server on a SQLite database with one program and an admin
// key. Each write route that names objects in its path gets objects of its
// own, made afresh every refreshEvery calls of the route: erasing a member
// or capturing a hold then leaves the other routes, and later calls of
// the same route, something to work on.
type fuzzAPI struct {
	db     *store.DB
	watch  *sql.Conn // a connection of its own, for data_version
	api    *httpapi.Server
	routes []httpapi.Route // the write routes, sorted
	makers map[string]func() string
	ids    map[string]map[string]string // route → path value name → object
	calls  map[string]int
	seq    int
	logs   *lockedBuffer
}

const refreshEvery = 50

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

func newFuzzAPI(f *testing.F) *fuzzAPI {
	f.Helper()
	db := storetest.Open(f, storetest.SQLite, store.Options{})
	clk := clock.NewFake(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC))
	err := db.Write(context.Background(), "", func(ctx context.Context, tx *store.Tx) error {
		if _, err := program.Create(ctx, tx, program.DefaultID, program.DefaultID, clk.Now()); err != nil {
			return err
		}
		_, err := auth.Bootstrap(ctx, tx, program.DefaultID, adminKey, clk.Now())
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	a := &fuzzAPI{db: db, ids: map[string]map[string]string{}, calls: map[string]int{}, logs: &lockedBuffer{}}
	read, _ := db.SQL()
	if a.watch, err = read.Conn(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.watch.Close() })
	a.api = httpapi.New(httpapi.Config{
		// Lottery draws repeat from run to run.
		App:      app.New(app.Config{DB: db, Clock: clk, CacheTTL: time.Nanosecond, Random: rand.NewChaCha8([32]byte{})}),
		Registry: prometheus.NewRegistry(), Version: "test",
		Logger: slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	for _, rt := range a.api.Routes() {
		if rt.Method != "GET" {
			a.routes = append(a.routes, rt)
		}
	}
	sort.Slice(a.routes, func(i, j int) bool { return a.name(a.routes[i]) < a.name(a.routes[j]) })

	for _, s := range []struct{ method, path, body string }{
		{"POST", "/v1/members", `{"external_id":"fz-1","phone":"13600000000","birthday":"1990-03-01"}`},
		{"POST", "/v1/members/ext:fz-1/points/earn", `{"points":100000}`},
		{"PUT", "/v1/tiers", writeSeeds["PUT /v1/tiers"][0]},
		{"PUT", "/v1/checkin", writeSeeds["PUT /v1/checkin"][0]},
		{"PUT", "/v1/referral", writeSeeds["PUT /v1/referral"][0]},
	} {
		if res := a.do(s.method, s.path, s.body, ""); res.Code >= 300 {
			f.Fatalf("fixture %s %s %s: %d %s", s.method, s.path, s.body, res.Code, res.Body)
		}
	}
	a.makers = map[string]func() string{
		"member": a.richMember,
		"transactions": func() string {
			return a.field(a.post("/v1/members/"+a.richMember()+"/points/spend", `{"points":500}`), "id")
		},
		"holds":            func() string { return a.field(a.post("/v1/members/"+a.richMember()+"/holds", `{"points":100}`), "id") },
		"api-keys":         func() string { return a.field(a.post("/v1/api-keys", `{"name":"doomed","role":"readonly"}`), "id") },
		"rules":            func() string { return a.field(a.post("/v1/rules", writeSeeds["POST /v1/rules"][0]), "id") },
		"tasks":            func() string { return a.field(a.post("/v1/tasks", writeSeeds["POST /v1/tasks"][0]), "id") },
		"lotteries":        func() string { return a.field(a.post("/v1/lotteries", writeSeeds["POST /v1/lotteries"][0]), "id") },
		"coupon-templates": a.template,
		"code": func() string {
			tpl := a.template()
			return a.field(a.post("/v1/coupon-templates/"+tpl+"/claim", `{"member":"ext:fz-1"}`), "code")
		},
		"rewards": a.reward,
		"redemptions": func() string {
			return a.field(a.post("/v1/redemptions", `{"member":"`+a.richMember()+`","reward_id":"`+a.reward()+`"}`), "id")
		},
	}
	for _, rt := range a.routes {
		for k, v := range a.fixture(rt) {
			if v == "" {
				f.Fatalf("no fixture %s for %s", k, a.name(rt))
			}
		}
	}
	a.logs.take()
	return a
}

// post makes a fixture object; nil when that fails (a fuzzed request may
// have changed the program so that it cannot).
func (a *fuzzAPI) post(path, body string) map[string]any {
	res := a.do("POST", path, body, "")
	var v map[string]any
	if res.Code >= 300 || json.Unmarshal(res.Body.Bytes(), &v) != nil {
		return nil
	}
	return v
}

func (a *fuzzAPI) field(v map[string]any, k string) string {
	s, _ := v[k].(string)
	return s
}

// richMember is a new member with 100000 points.
func (a *fuzzAPI) richMember() string {
	a.seq++
	m := a.field(a.post("/v1/members", fmt.Sprintf(`{"external_id":"fz-m-%d"}`, a.seq)), "id")
	if m != "" {
		a.post("/v1/members/"+m+"/points/earn", `{"points":100000}`)
	}
	return m
}

func (a *fuzzAPI) template() string {
	return a.field(a.post("/v1/coupon-templates", `{"name":"3 off","kind":"amount_off","value":300,"transferable":true}`), "id")
}

func (a *fuzzAPI) reward() string {
	return a.field(a.post("/v1/rewards", `{"name":"Mug","type":"physical","points_price":5,"stock":1000}`), "id")
}

func (a *fuzzAPI) name(rt httpapi.Route) string { return rt.Method + " " + rt.Path }

// route picks the write route named sel, or, for any other text, one of
// them by its hash, so every mutation of sel lands on some route.
func (a *fuzzAPI) route(sel string) httpapi.Route {
	for _, rt := range a.routes {
		if a.name(rt) == sel {
			return rt
		}
	}
	h := fnv.New32a()
	h.Write([]byte(sel))
	return a.routes[h.Sum32()%uint32(len(a.routes))]
}

// kinds names the objects a route's path values stand for: {member} and
// {code} by themselves, {id} by the collection before it.
func kinds(rt httpapi.Route) map[int]string {
	out := map[int]string{}
	segs := strings.Split(rt.Path, "/")
	for i, s := range segs {
		switch {
		case s == "{member}", s == "{code}":
			out[i] = strings.Trim(s, "{}")
		case strings.HasPrefix(s, "{"):
			out[i] = segs[i-1]
		}
	}
	return out
}

// fixture returns the route's own objects, made afresh every
// refreshEvery calls.
func (a *fuzzAPI) fixture(rt httpapi.Route) map[string]string {
	name := a.name(rt)
	n := a.calls[name]
	a.calls[name]++
	if n%refreshEvery != 0 && a.ids[name] != nil {
		return a.ids[name]
	}
	old := a.ids[name]
	ids := map[string]string{}
	for _, kind := range kinds(rt) {
		if mk := a.makers[kind]; mk != nil {
			ids[kind] = cmp.Or(mk(), old[kind])
		}
	}
	a.ids[name] = ids
	return ids
}

// path fills the route's path values: ref when given (escaped, so it stays
// one segment), else the route's own fixture objects, else "x".
func (a *fuzzAPI) path(rt httpapi.Route, ref string) string {
	segs := strings.Split(rt.Path, "/")
	ids := a.fixture(rt)
	for i, kind := range kinds(rt) {
		segs[i] = url.PathEscape(cmp.Or(ref, ids[kind], "x"))
	}
	return strings.Join(segs, "/")
}

// unclean reports whether target's path, as sent (escaped), has dot
// segments or empty ones: ServeMux cleans it (keeping a final slash) and
// redirects.
func unclean(target string) bool {
	c := path.Clean(target)
	if strings.HasSuffix(target, "/") && c != "/" {
		c += "/"
	}
	return c != target
}

func (a *fuzzAPI) do(method, target, body, idemKey string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	rec := httptest.NewRecorder()
	a.api.ServeHTTP(rec, req)
	return rec
}

// FuzzWriteRoutes sends fuzzed bodies, path values and idempotency keys
// to every write route of the route table, through the real handlers and
// a SQLite store, as the admin. Whatever the input: never a 5xx; every
// error is application/problem+json with a code and its status; every
// body is JSON.
func FuzzWriteRoutes(f *testing.F) {
	a := newFuzzAPI(f)
	// Each seed costs the fuzzing engine a baseline run of some 20ms here
	// (the coverage map of the whole server is large), so a run of a few
	// seconds starts from the valid bodies only and leaves breaking them
	// to the mutator; plain go test runs every variant.
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	for _, rt := range a.routes {
		name := a.name(rt)
		seeds, ok := writeSeeds[name]
		if !ok {
			seeds = []string{`{}`}
		}
		for _, s := range seeds {
			f.Add(name, "", s, "")
		}
		if fuzzing {
			continue
		}
		for _, g := range garble(seeds[0]) {
			f.Add(name, "", g, "")
		}
		if strings.Contains(rt.Path, "{") {
			for _, ref := range []string{"ext:fz-1", "nope", "a/b%zz", strings.Repeat("x", 300)} {
				f.Add(name, ref, seeds[0], "")
			}
		}
		f.Add(name, "", seeds[0], "fuzz-key")
	}
	f.Add("POST /v1/members", "", `{}`, "tab\there")
	f.Add("POST /v1/rules", "", `{"name":"x","event_type":"order.paid","reward":{"kind":"fixed","points":1},"ends_at":"9999-12-31T23:00:00-05:00"}`, "")
	f.Add("POST /v1/members/{member}/points/earn", "", `{"points":5,"expires_at":"9999-12-31T23:00:00-05:00"}`, "")
	f.Add("POST /v1/members/{member}/points/earn", "", `{"points":5,"available_at":"9999-12-31T23:00:00-05:00"}`, "")
	f.Add("POST /v1/members/{member}/holds", "", `{"points":5,"expires_in_seconds":2592000}`, "")
	f.Add("POST /v1/rewards", "", `{"name":"Soon","type":"virtual","points_price":1,"ends_at":"9999-12-31T23:00:00-05:00"}`, "")
	f.Add("POST /v1/coupon-templates", "", `{"name":"3 off","kind":"amount_off","value":300,"valid_until":"9999-12-31T23:00:00-05:00"}`, "")
	f.Add("POST /v1/jobs/tier-review", "", `{"as_of":"0000-01-01T00:00:00+01:00"}`, "")
	f.Add("POST /v1/jobs/expire", "", `{"as_of":"0000-01-01T00:00:00+01:00"}`, "")
	f.Add("POST /v1/events", "", `{"id":"old","type":"order.paid","member":"ext:fz-1","occurred_at":"0000-01-01T00:00:00+01:00","data":{"order_id":"o-9","amount":100}}`, "")
	f.Fuzz(func(t *testing.T, route, ref, body, idemKey string) {
		rt := a.route(route)
		target := a.path(rt, ref)
		before := a.state(t)
		res := a.do(rt.Method, target, body, idemKey)
		logs := a.logs.take()
		req := rt.Method + " " + target + " " + body
		if res.Code >= 500 {
			t.Fatalf("%s (Idempotency-Key %q): %d %s\nlog: %s", req, idemKey, res.Code, res.Body, logs)
		}
		// Bad input changes nothing; a creation commits (which also shows
		// the watch sees commits).
		if res.Code == 201 && res.Header().Get("Idempotent-Replayed") == "" && a.name(rt) != "POST /v1/members/{member}/tokens" &&
			a.state(t) == before { // (a member token is signed, not stored)
			t.Fatalf("%s: 201 %s, but nothing was committed", req, res.Body)
		}
		// (A failed console login is recorded, for the lockout, by design.)
		if res.Code >= 400 && a.name(rt) != "POST /v1/console/login" {
			if after := a.state(t); after != before {
				t.Fatalf("%s: refused with %d %s, yet it committed a change (data_version %s → %s)", req, res.Code, res.Body, before, after)
			}
		}
		if unclean(target) {
			// ServeMux redirects to the cleaned path before any handler
			// runs; clients resolve dot segments before they send.
			if res.Code/100 != 3 || res.Header().Get("Location") == "" {
				t.Fatalf("%s: %d, want a redirect to the clean path", req, res.Code)
			}
			return
		}
		b := res.Body.Bytes()
		if res.Code == http.StatusNoContent {
			if len(b) != 0 {
				t.Fatalf("%s: 204 with a body %s", req, b)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("%s: %d, body is not JSON: %q", req, res.Code, b)
		}
		ct, _, _ := mime.ParseMediaType(res.Header().Get("Content-Type"))
		if res.Code < 400 {
			if ct != "application/json" {
				t.Fatalf("%s: %d with Content-Type %q", req, res.Code, res.Header().Get("Content-Type"))
			}
			return
		}
		if ct != "application/problem+json" {
			t.Fatalf("%s: %d with Content-Type %q: %s", req, res.Code, res.Header().Get("Content-Type"), b)
		}
		var p httpapi.Problem
		if err := json.Unmarshal(b, &p); err != nil || p.Code == "" || p.Status != res.Code {
			t.Fatalf("%s: %d, not a problem with a code: %s (%v)", req, res.Code, b, err)
		}
	})
}

// state is SQLite's data_version, read on a connection of its own: it
// changes whenever another connection commits. A refused request must not
// commit anything (nothing it does is kept; authentication writes nothing).
func (a *fuzzAPI) state(t *testing.T) string {
	t.Helper()
	var v int64
	if err := a.watch.QueryRowContext(context.Background(), `PRAGMA data_version`).Scan(&v); err != nil {
		t.Fatalf("data_version: %v", err)
	}
	return strconv.FormatInt(v, 10)
}
