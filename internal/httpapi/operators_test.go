package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

type loginObj struct {
	Operator struct {
		ID         string  `json:"id"`
		Email      string  `json:"email"`
		Role       string  `json:"role"`
		MerchantID *string `json:"merchant_id"`
		Status     string  `json:"status"`
	} `json:"operator"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// console logs in and returns the session cookie and the login.
func (e *env) console(email, password string) (string, loginObj) {
	e.t.Helper()
	var l loginObj
	r := e.call("", "POST", "/v1/console/login", map[string]any{"email": email, "password": password}).want(200, &l)
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "jifen_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		e.t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", cookie)
	}
	if strings.Contains(string(r.Body), cookie.Value) {
		e.t.Fatal("the session's secret is in the login's body")
	}
	return "jifen_session=" + cookie.Value, l
}

func TestOperators(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		const pw = "correct horse battery"
		e.post("/v1/operators", map[string]any{"email": "not-an-email", "role": "boss", "password": "short"}).
			wantProblem(422, "validation_failed", "email", "role", "password")
		e.post("/v1/operators", map[string]any{"email": "m@shop.cn", "role": "merchant", "password": pw}).
			wantProblem(422, "validation_failed", "merchant_id")
		var op struct {
			ID     string `json:"id"`
			Email  string `json:"email"`
			Status string `json:"status"`
		}
		e.post("/v1/operators", map[string]any{"email": " Ops@Brand.CN ", "name": "Ops", "role": "admin", "password": pw}).want(201, &op)
		if op.Email != "ops@brand.cn" || op.Status != "active" {
			t.Fatalf("operator %+v", op)
		}
		e.post("/v1/operators", map[string]any{"email": "ops@brand.cn", "role": "readonly", "password": pw}).wantProblem(409, "conflict", "email")
		var list listObj[struct {
			Email string `json:"email"`
		}]
		e.get("/v1/operators").want(200, &list)
		if len(list.Data) != 1 || strings.Contains(string(e.get("/v1/operators").Body), "argon2") {
			t.Fatalf("operators %+v, or a password hash shown", list.Data)
		}

		// A session acts with its operator's role; writes need the CSRF token.
		cookie, l := e.console("OPS@brand.cn", pw)
		if l.Operator.ID != op.ID || l.CSRFToken == "" || !l.ExpiresAt.Equal(e.clock.Now().Add(12*time.Hour)) {
			t.Fatalf("login %+v", l)
		}
		m := e.newMember(nil)
		e.call("", "GET", "/v1/members/"+m.ID, nil, "Cookie", cookie).want(200, nil)
		e.call("", "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5}, "Cookie", cookie).wantProblem(403, "csrf_failed")
		e.call("", "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5}, "Cookie", cookie, "X-CSRF-Token", "wrong").
			wantProblem(403, "csrf_failed")
		var txn txnObj
		e.call("", "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 5}, "Cookie", cookie, "X-CSRF-Token", l.CSRFToken).
			want(201, &txn)
		var sess loginObj
		e.call("", "GET", "/v1/console/session", nil, "Cookie", cookie).want(200, &sess)
		if sess.CSRFToken != l.CSRFToken || sess.Operator.Email != "ops@brand.cn" {
			t.Fatalf("session %+v", sess)
		}
		e.get("/v1/console/session").wantProblem(404, "not_found") // an API key has no session

		// A merchant operator acts as its merchant, like a merchant key.
		var mer struct{ ID string }
		e.post("/v1/merchants", map[string]any{"name": "Shop"}).want(201, &mer)
		e.post("/v1/operators", map[string]any{"email": "till@shop.cn", "role": "merchant", "merchant_id": mer.ID, "password": pw}).want(201, nil)
		mc, ml := e.console("till@shop.cn", pw)
		e.call("", "POST", "/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 7}, "Cookie", mc, "X-CSRF-Token", ml.CSRFToken).want(201, &txn)
		if txn.MerchantID == nil || *txn.MerchantID != mer.ID {
			t.Fatalf("merchant operator's earn: merchant %v", txn.MerchantID)
		}
		e.call("", "GET", "/v1/operators", nil, "Cookie", mc).wantProblem(403, "forbidden")

		// Idle for 30 minutes: the session has ended.
		e.clock.Advance(29 * time.Minute)
		e.call("", "GET", "/v1/program", nil, "Cookie", cookie).want(200, nil) // counts as use
		e.clock.Advance(29 * time.Minute)
		e.call("", "GET", "/v1/program", nil, "Cookie", cookie).want(200, nil)
		e.call("", "GET", "/v1/program", nil, "Cookie", mc).wantProblem(401, "unauthenticated")

		// Disabling ends the operator's sessions and its logins.
		var till listObj[struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		}]
		e.get("/v1/operators").want(200, &till)
		tillID := ""
		for _, o := range till.Data {
			if o.Email == "till@shop.cn" {
				tillID = o.ID
			}
		}
		mc, _ = e.console("till@shop.cn", pw)
		e.post("/v1/operators/"+tillID+"/disable", nil).want(200, nil)
		e.call("", "GET", "/v1/program", nil, "Cookie", mc).wantProblem(401, "unauthenticated")
		e.call("", "POST", "/v1/console/login", map[string]any{"email": "till@shop.cn", "password": pw}).wantProblem(401, "invalid_credentials")
		e.post("/v1/operators/"+tillID+"/enable", nil).want(200, nil)
		e.console("till@shop.cn", pw)

		// A new password ends the sessions; the old password no longer works.
		e.patch("/v1/operators/"+op.ID, map[string]any{"password": "another long password"}).want(200, nil)
		e.call("", "GET", "/v1/program", nil, "Cookie", cookie).wantProblem(401, "unauthenticated")
		e.call("", "POST", "/v1/console/login", map[string]any{"email": "ops@brand.cn", "password": pw}).wantProblem(401, "invalid_credentials")
		cookie, l = e.console("ops@brand.cn", "another long password")

		// Logout ends the session (with its CSRF token, as every write).
		e.call("", "POST", "/v1/console/logout", nil, "Cookie", cookie).wantProblem(403, "csrf_failed")
		e.call("", "POST", "/v1/console/logout", nil, "Cookie", cookie, "X-CSRF-Token", l.CSRFToken).want(204, nil)
		e.call("", "GET", "/v1/program", nil, "Cookie", cookie).wantProblem(401, "unauthenticated")
	})
}

// Five failed logins for an email within 15 minutes lock it for 15
// minutes, whatever the password; an unknown email fails the same way.
func TestOperatorLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		const pw = "correct horse battery"
		e.post("/v1/operators", map[string]any{"email": "ops@brand.cn", "role": "admin", "password": pw}).want(201, nil)
		login := func(email, password string) resp {
			return e.call("", "POST", "/v1/console/login", map[string]any{"email": email, "password": password})
		}
		login("nobody@brand.cn", pw).wantProblem(401, "invalid_credentials")
		for i := 0; i < 5; i++ {
			login("ops@brand.cn", "wrong password!").wantProblem(401, "invalid_credentials")
			e.clock.Advance(time.Minute)
		}
		r := login("ops@brand.cn", pw)
		r.wantProblem(423, "account_locked")
		if ra := r.Header.Get("Retry-After"); ra != "840" { // 15 minutes after the fifth failure, a minute ago
			t.Fatalf("Retry-After %q, want 840", ra)
		}
		e.clock.Advance(13 * time.Minute)
		login("ops@brand.cn", pw).wantProblem(423, "account_locked")
		e.clock.Advance(time.Minute + time.Second)
		e.console("ops@brand.cn", pw)
		// A success clears the count.
		for i := 0; i < 4; i++ {
			login("ops@brand.cn", "wrong password!").wantProblem(401, "invalid_credentials")
		}
		e.console("ops@brand.cn", pw)
		login("ops@brand.cn", "wrong password!").wantProblem(401, "invalid_credentials")
		e.console("ops@brand.cn", pw)
	})
}
