package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

const adminKey = "test-admin-key-0123456789abcdefgh"

// env is a server on a fresh database of one backend, with a fake clock
// and program "default" bootstrapped as jifen serve does it.
type env struct {
	t      testing.TB
	db     *store.DB
	clock  *clock.Fake
	srv    *httptest.Server
	api    *httpapi.Server
	app    *app.App
	admin  string
	client *http.Client
	dsn    string // the database's (sqlite:<path> or a PostgreSQL DSN)
}

func newEnv(t testing.TB, b storetest.Backend) *env {
	t.Helper()
	return newEnvAt(t, b.DSN(t), store.Options{Keys: testKeys})
}

// newEnvAt is newEnv on the fresh database at dsn, opened with opt.
func newEnvAt(t testing.TB, dsn string, opt store.Options) *env {
	t.Helper()
	db := storetest.OpenDSN(t, dsn, opt)
	e := &env{t: t, db: db, clock: clock.NewFake(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)), admin: adminKey, dsn: dsn}
	ctx := context.Background()
	err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
		if _, err := program.Create(ctx, tx, program.DefaultID, program.DefaultID, e.clock.Now()); err != nil {
			return err
		}
		_, err := auth.Bootstrap(ctx, tx, program.DefaultID, adminKey, e.clock.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app = app.New(app.Config{DB: db, Clock: e.clock, CacheTTL: time.Nanosecond})
	t.Cleanup(e.app.Campaigns.Wait) // campaigns fired by joins, before the database closes
	e.api = httpapi.New(httpapi.Config{
		App:      e.app,
		Registry: prometheus.NewRegistry(), Version: "test",
	})
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	e.client = e.srv.Client()
	return e
}

// resp is an answer, read whole.
type resp struct {
	t      testing.TB
	req    string
	Status int
	Header http.Header
	Body   []byte
}

// call sends a request with key (none when empty) and a JSON body (none
// when nil; a string or []byte is sent as is).
func (e *env) call(key, method, path string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{t: e.t, req: method + " " + path, Status: res.StatusCode, Header: res.Header, Body: b}
	if res.StatusCode >= 400 {
		var p httpapi.Problem
		if json.Unmarshal(b, &p) == nil {
			seenCodes.add(p.Code)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			e.t.Errorf("%s: error with Content-Type %q", r.req, ct)
		}
	}
	return r
}

// as* call with the admin key.
func (e *env) get(path string) resp { e.t.Helper(); return e.call(e.admin, "GET", path, nil) }
func (e *env) post(path string, body any) resp {
	e.t.Helper()
	return e.call(e.admin, "POST", path, body)
}
func (e *env) patch(path string, body any) resp {
	e.t.Helper()
	return e.call(e.admin, "PATCH", path, body)
}

// want checks the status and decodes the body into v (when not nil).
func (r resp) want(status int, v any) resp {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s: status %d, want %d: %s", r.req, r.Status, status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			r.t.Fatalf("%s: decode %s: %v", r.req, r.Body, err)
		}
	}
	return r
}

// wantProblem checks an error answer's status and code, and that it names
// the given fields.
func (r resp) wantProblem(status int, code string, fields ...string) httpapi.Problem {
	r.t.Helper()
	var p httpapi.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		r.t.Fatalf("%s: not a problem: %s", r.req, r.Body)
	}
	if r.Status != status || p.Code != code || p.Status != status {
		r.t.Fatalf("%s: %d %s, want %d %s: %s", r.req, r.Status, p.Code, status, code, r.Body)
	}
	for _, f := range fields {
		if !slices.ContainsFunc(p.Errors, func(fe failure.FieldError) bool { return fe.Field == f }) {
			r.t.Fatalf("%s: problem does not name field %q: %s", r.req, f, r.Body)
		}
	}
	return p
}

// Objects as the tests read them.
type memberObj struct {
	ID           string   `json:"id"`
	ExternalID   *string  `json:"external_id"`
	Phone        *string  `json:"phone"`
	Name         *string  `json:"name"`
	Gender       string   `json:"gender"`
	Status       string   `json:"status"`
	Tags         []string `json:"tags"`
	ReferralCode string   `json:"referral_code"`
	ReferredBy   *string  `json:"referred_by"`
}

type txnObj struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	MemberID   string  `json:"member_id"`
	Currency   string  `json:"currency"`
	Points     int64   `json:"points"`
	MerchantID *string `json:"merchant_id"`
	Status     string  `json:"status"`
	Reverses   string  `json:"reverses"`
	HoldID     string  `json:"hold_id"`
	LotMoves   []struct {
		LotID  string `json:"lot_id"`
		Kind   string `json:"kind"`
		Points int64  `json:"points"`
	} `json:"lot_moves"`
}

type holdObj struct {
	ID            string    `json:"id"`
	MemberID      string    `json:"member_id"`
	Points        int64     `json:"points"`
	Captured      int64     `json:"captured"`
	Status        string    `json:"status"`
	ExpiresAt     time.Time `json:"expires_at"`
	TransactionID string    `json:"transaction_id"`
}

type balanceObj struct {
	Available       int64 `json:"available"`
	Pending         int64 `json:"pending"`
	Held            int64 `json:"held"`
	Debt            int64 `json:"debt"`
	LifetimeEarned  int64 `json:"lifetime_earned"`
	LifetimeSpent   int64 `json:"lifetime_spent"`
	LifetimeExpired int64 `json:"lifetime_expired"`
	Expiring        []struct {
		Date   string `json:"date"`
		Points int64  `json:"points"`
	} `json:"expiring"`
}

type listObj[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func (e *env) newMember(body map[string]any) memberObj {
	e.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	var m memberObj
	e.post("/v1/members", body).want(201, &m)
	return m
}

func (e *env) earn(member string, points int64) txnObj {
	e.t.Helper()
	var t txnObj
	e.post("/v1/members/"+member+"/points/earn", map[string]any{"points": points}).want(201, &t)
	return t
}

func (e *env) balance(member string) balanceObj {
	e.t.Helper()
	var b map[string]balanceObj
	e.get("/v1/members/"+member+"/balance").want(200, &b)
	return b["points"]
}

func (e *env) verify() {
	e.t.Helper()
	var v struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	e.get("/v1/books/verify").want(200, &v)
	if !v.OK {
		e.t.Fatalf("books do not balance: %+v", v.Checks)
	}
}

// key creates an API key with a role and returns its secret.
func (e *env) key(role, merchant string) string {
	e.t.Helper()
	body := map[string]any{"name": role + " key", "role": role}
	if merchant != "" {
		body["merchant_id"] = merchant
	}
	var k struct {
		Secret string `json:"secret"`
	}
	e.post("/v1/api-keys", body).want(201, &k)
	return k.Secret
}

// seenCodes records every problem code any test has produced.
var seenCodes = codeSet{m: map[string]bool{}}

type codeSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (c *codeSet) add(code string) {
	c.mu.Lock()
	c.m[code] = true
	c.mu.Unlock()
}

// contractCodes are the error codes of the API sections this package
// implements; a full run of the tests must produce each of them.
var contractCodes = []string{
	"unauthenticated", "forbidden", "not_found", "validation_failed", "insufficient_points",
	"limit_exceeded", "conflict", "member_exists", "idempotency_conflict", "payload_too_large",
	"bad_request", "method_not_allowed", "out_of_stock", "not_started", "ended",
	"rate_limited", "bad_signature", "stale_request", "replayed_request",
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		var missing []string
		for _, c := range contractCodes {
			if !seenCodes.m[c] {
				missing = append(missing, c)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			os.Stderr.WriteString("no test produced the error codes " + strings.Join(missing, ", ") + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

func jsonUnmarshal(b []byte, v any) { json.Unmarshal(b, v) }

// newNodes starts n servers, each with a store of its own on one database,
// as n processes would be. The first one bootstraps the program.
func newNodes(t *testing.T, dsn string, n int) []*env {
	t.Helper()
	var out []*env
	for i := 0; i < n; i++ {
		db := storetest.OpenDSN(t, dsn, store.Options{Keys: testKeys})
		e := &env{t: t, db: db, clock: clock.NewFake(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)), admin: adminKey}
		if i == 0 {
			err := db.Write(context.Background(), "", func(ctx context.Context, tx *store.Tx) error {
				if _, err := program.Create(ctx, tx, program.DefaultID, program.DefaultID, e.clock.Now()); err != nil {
					return err
				}
				_, err := auth.Bootstrap(ctx, tx, program.DefaultID, adminKey, e.clock.Now())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		e.api = httpapi.New(httpapi.Config{
			App:      app.New(app.Config{DB: db, Clock: e.clock, CacheTTL: time.Nanosecond}),
			Registry: prometheus.NewRegistry(), Version: "test",
		})
		e.srv = httptest.NewServer(e.api)
		t.Cleanup(e.srv.Close)
		e.client = e.srv.Client()
		out = append(out, e)
	}
	return out
}
