package httpapi_test

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/store/storetest"
)

// limitedKey creates an admin key with its own rate limit and returns
// its ID and secret.
func (e *env) limitedKey(perSecond float64, burst int) (string, string) {
	e.t.Helper()
	var k struct {
		ID, Secret string
		RateLimit  *auth.RateLimit `json:"rate_limit"`
	}
	e.post("/v1/api-keys", map[string]any{"name": "limited", "role": "admin",
		"rate_limit": map[string]any{"per_second": perSecond, "burst": burst}}).want(201, &k)
	if k.RateLimit == nil || k.RateLimit.PerSecond != perSecond || k.RateLimit.Burst != burst {
		e.t.Fatalf("rate_limit %+v", k.RateLimit)
	}
	return k.ID, k.Secret
}

func wantRateHeaders(t *testing.T, r resp, limit, remaining int) {
	t.Helper()
	if got := r.Header.Get("RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("RateLimit-Limit %q, want %d", got, limit)
	}
	if got := r.Header.Get("RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("RateLimit-Remaining %q, want %d", got, remaining)
	}
	if reset, err := strconv.Atoi(r.Header.Get("RateLimit-Reset")); err != nil || reset < 0 {
		t.Errorf("RateLimit-Reset %q", r.Header.Get("RateLimit-Reset"))
	}
}

func TestRateLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		t.Run("a key's own limit", func(t *testing.T) {
			_, secret := e.limitedKey(1, 2)
			wantRateHeaders(t, e.call(secret, "GET", "/v1/program", nil).want(200, nil), 2, 1)
			wantRateHeaders(t, e.call(secret, "GET", "/v1/program", nil).want(200, nil), 2, 0)
			r := e.call(secret, "POST", "/v1/members", map[string]any{"external_id": "limited-1"})
			r.wantProblem(429, "rate_limited")
			if got := r.Header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After %q, want 1", got)
			}
			wantRateHeaders(t, r, 2, 0)
			e.get("/v1/members/ext:limited-1").wantProblem(404, "not_found") // refused: nothing changed
			// Other keys are not limited by it.
			if r := e.get("/v1/program").want(200, nil); r.Header.Get("RateLimit-Limit") != "" {
				t.Errorf("an unlimited key got RateLimit-Limit %q", r.Header.Get("RateLimit-Limit"))
			}
			e.clock.Advance(time.Second)
			e.call(secret, "GET", "/v1/program", nil).want(200, nil)
			e.call(secret, "GET", "/v1/program", nil).wantProblem(429, "rate_limited")
		})
		t.Run("Retry-After is the wait for a token", func(t *testing.T) {
			_, secret := e.limitedKey(0.2, 1)
			e.call(secret, "GET", "/v1/program", nil).want(200, nil)
			r := e.call(secret, "GET", "/v1/program", nil)
			r.wantProblem(429, "rate_limited")
			if got := r.Header.Get("Retry-After"); got != "5" {
				t.Errorf("Retry-After %q, want 5", got)
			}
			if got := r.Header.Get("RateLimit-Reset"); got != "5" {
				t.Errorf("RateLimit-Reset %q, want 5", got)
			}
		})
		t.Run("PATCH changes the limit live", func(t *testing.T) {
			id, secret := e.limitedKey(1, 1)
			e.call(secret, "GET", "/v1/program", nil).want(200, nil)
			e.call(secret, "GET", "/v1/program", nil).wantProblem(429, "rate_limited")
			var k auth.Key
			e.patch("/v1/api-keys/"+id, map[string]any{"rate_limit": map[string]any{"per_second": 0, "burst": 0}}).want(200, &k)
			if k.RateLimit == nil || k.RateLimit.PerSecond != 0 {
				t.Fatalf("patched %+v", k)
			}
			for range 5 {
				if r := e.call(secret, "GET", "/v1/program", nil).want(200, nil); r.Header.Get("RateLimit-Limit") != "" {
					t.Fatal("an unlimited key got RateLimit headers")
				}
			}
			e.patch("/v1/api-keys/"+id, map[string]any{"name": "now limited", "rate_limit": map[string]any{"per_second": 1, "burst": 3}}).want(200, &k)
			if k.Name != "now limited" || k.RateLimit.Burst != 3 {
				t.Fatalf("patched %+v", k)
			}
			for i := range 3 {
				wantRateHeaders(t, e.call(secret, "GET", "/v1/program", nil).want(200, nil), 3, 2-i)
			}
			e.call(secret, "GET", "/v1/program", nil).wantProblem(429, "rate_limited")
		})
		t.Run("PATCH checks its input", func(t *testing.T) {
			id, _ := e.limitedKey(1, 1)
			e.patch("/v1/api-keys/"+id, map[string]any{"rate_limit": map[string]any{"per_second": -1, "burst": 1}}).
				wantProblem(422, "validation_failed", "rate_limit.per_second")
			e.patch("/v1/api-keys/"+id, map[string]any{"rate_limit": map[string]any{"per_second": 5, "burst": 0}}).
				wantProblem(422, "validation_failed", "rate_limit.burst")
			e.patch("/v1/api-keys/"+id, map[string]any{"name": ""}).wantProblem(422, "validation_failed", "name")
			e.patch("/v1/api-keys/key_nosuchkey", map[string]any{"name": "x"}).wantProblem(404, "not_found")
			e.post("/v1/api-keys", map[string]any{"name": "x", "role": "admin", "rate_limit": map[string]any{"per_second": 1, "burst": 0}}).
				wantProblem(422, "validation_failed", "rate_limit.burst")
			var k auth.Key
			e.patch("/v1/api-keys/"+id, map[string]any{}).want(200, &k)
			if k.RateLimit == nil || k.RateLimit.PerSecond != 1 {
				t.Fatalf("an empty patch changed the key: %+v", k)
			}
		})
		t.Run("the default limit", func(t *testing.T) {
			d := e.withRateLimit(auth.RateLimit{PerSecond: 1, Burst: 1})
			secret := e.key(auth.Admin, "")
			d.call(secret, "GET", "/v1/program", nil).want(200, nil)
			d.call(secret, "GET", "/v1/program", nil).wantProblem(429, "rate_limited")
			_, own := e.limitedKey(0, 0) // a key of its own not limited
			for range 3 {
				d.call(own, "GET", "/v1/program", nil).want(200, nil)
			}
		})
		t.Run("member tokens share one bucket per member", func(t *testing.T) {
			m := e.newMember(map[string]any{"external_id": "bucket-1"})
			other := e.newMember(map[string]any{"external_id": "bucket-2"})
			token := func(member string) string {
				var tok struct{ Token string }
				e.post("/v1/members/"+member+"/tokens", nil).want(201, &tok)
				return tok.Token
			}
			t1, t2, t3 := token(m.ID), token(m.ID), token(other.ID)
			for i := range 20 {
				wantRateHeaders(t, e.call(t1, "GET", "/v1/members/me", nil).want(200, nil), 20, 19-i)
			}
			e.call(t1, "GET", "/v1/members/me", nil).wantProblem(429, "rate_limited")
			e.call(t2, "GET", "/v1/members/me/balance", nil).wantProblem(429, "rate_limited") // same member, same bucket
			e.call(t3, "GET", "/v1/members/me", nil).want(200, nil)
			e.clock.Advance(time.Second) // 10 a second
			for range 10 {
				e.call(t2, "GET", "/v1/members/me", nil).want(200, nil)
			}
			e.call(t1, "GET", "/v1/members/me", nil).wantProblem(429, "rate_limited")
		})
	})
}

// withRateLimit is another server on e's database whose keys without a
// limit of their own have lim.
func (e *env) withRateLimit(lim auth.RateLimit) *env {
	d := *e
	d.api = httpapi.New(httpapi.Config{App: e.app, Registry: prometheus.NewRegistry(), Version: "test", RateLimit: lim})
	d.srv = httptest.NewServer(d.api)
	e.t.Cleanup(d.srv.Close)
	d.client = d.srv.Client()
	return &d
}
