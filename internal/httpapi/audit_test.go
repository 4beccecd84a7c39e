package httpapi_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/httpapi"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Every route that changes state has an audit spec (the write path
// refuses to change anything for one that has none), every spec names a
// route, and actions read <resource>.<verb>, each used once.
func TestAuditEveryWriteRoute(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	actions := httpapi.AuditActions()
	routes := map[string]bool{}
	for _, rt := range e.api.Routes() {
		key := rt.Method + " " + rt.Path
		routes[key] = true
		if !httpapi.ChangesState(rt.Method, rt.Path) {
			continue
		}
		if _, ok := actions[key]; !ok {
			t.Errorf("%s changes state and has no audit spec (internal/httpapi/audit.go)", key)
		}
	}
	seen := map[string]string{}
	shape := regexp.MustCompile(`^[a-z_]+\.[a-z_]+$`)
	for key, action := range actions {
		if !routes[key] && key != "POST /v1/console/login" && key != "POST /v1/console/logout" {
			t.Errorf("the audit spec of %s names no route", key)
		}
		if !shape.MatchString(action) {
			t.Errorf("%s: action %q is not <resource>.<verb>", key, action)
		}
		if other, dup := seen[action]; dup {
			t.Errorf("action %s is used by %s and %s", action, key, other)
		}
		seen[action] = key
	}
}

type auditEntry struct {
	ID    string `json:"id"`
	Actor struct {
		Kind, ID, Name string
	} `json:"actor"`
	Action string `json:"action"`
	Target struct {
		Type, ID string
	} `json:"target"`
	Method    string         `json:"method"`
	Route     string         `json:"route"`
	RequestID string         `json:"request_id"`
	IP        string         `json:"ip"`
	Status    int            `json:"status"`
	Summary   map[string]any `json:"summary"`
}

func (e *env) audit(query string) []auditEntry {
	e.t.Helper()
	var l struct{ Data []auditEntry }
	e.get("/v1/audit"+query).want(200, &l)
	return l.Data
}

// A change writes one entry in its transaction — its actor, action,
// target (a member's ID, never the phone number it was named by), route
// pattern, request ID and status — with personal values redacted and
// secrets left out; a refused request, a replay and a read write none;
// login attempts are recorded, failed ones too; the log is admin-only,
// filterable, and no route changes it.
func TestAuditLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(map[string]any{"name": "王小明", "phone": "13800138000", "attributes": map[string]any{"city": "杭州"}})
		r := e.call(e.admin, "POST", "/v1/members/phone:13800138000/points/earn", map[string]any{"points": 50, "reason": "welcome"},
			"X-Request-Id", "req-earn-1", "Idempotency-Key", "earn-1")
		r.want(201, nil)
		got := e.audit("?action=points.earn")
		if len(got) != 1 {
			t.Fatalf("points.earn entries: %+v", got)
		}
		en := got[0]
		if en.Actor.Kind != "api_key" || en.Actor.ID == "" || en.Target.Type != "member" || en.Target.ID != m.ID ||
			en.Route != "/v1/members/{member}/points/earn" || en.Method != "POST" || en.RequestID != "req-earn-1" ||
			en.Status != 201 || en.IP == "" || en.Summary["points"] != json.Number("50") && en.Summary["points"] != float64(50) {
			t.Fatalf("earn entry %+v", en)
		}
		raw := string(e.get("/v1/audit/"+en.ID).want(200, nil).Body)
		if strings.Contains(raw, "13800138000") {
			t.Fatalf("the entry keeps the phone number: %s", raw)
		}

		// The member's creation: its personal values redacted.
		created := e.audit("?action=members.create&target_id=" + m.ID)
		if len(created) != 1 {
			t.Fatalf("members.create entries: %+v", created)
		}
		for _, k := range []string{"name", "phone", "attributes"} {
			if created[0].Summary[k] != "[redacted]" {
				t.Fatalf("members.create summary %v: %s not redacted", created[0].Summary, k)
			}
		}

		// Secrets are left out.
		e.post("/v1/channels", map[string]any{"name": "mail", "kind": "smtp", "config": map[string]any{
			"host": "127.0.0.1", "port": 2525, "security": "none", "username": "u", "password": "hunter2-secret", "from": "a@b.cn"}}).want(201, nil)
		ch := e.audit("?action=channels.create")
		if len(ch) != 1 {
			t.Fatalf("channels.create entries: %+v", ch)
		}
		if raw := string(e.get("/v1/audit/"+ch[0].ID).want(200, nil).Body); strings.Contains(raw, "hunter2") || !strings.Contains(raw, `"host"`) {
			t.Fatalf("channel entry: %s", raw)
		}

		// A replay, a refusal and a read write none.
		before := len(e.audit("?limit=100"))
		e.call(e.admin, "POST", "/v1/members/phone:13800138000/points/earn", map[string]any{"points": 50, "reason": "welcome"},
			"Idempotency-Key", "earn-1").want(201, nil)
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 5000}).wantProblem(422, "insufficient_points")
		e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": "5"}).wantProblem(422, "validation_failed", "points")
		e.get("/v1/members/" + m.ID)
		if after := len(e.audit("?limit=100")); after != before {
			t.Fatalf("a replay, refusals and a read wrote %d entries", after-before)
		}

		// A member token acts as the member.
		var tok struct{ Token string }
		e.post("/v1/members/"+m.ID+"/tokens", nil).want(201, &tok)
		e.call(tok.Token, "PATCH", "/v1/members/me", map[string]any{"name": "小明"}).want(200, nil)
		mine := e.audit("?action=members.update")
		if len(mine) != 1 || mine[0].Actor.Kind != "member" || mine[0].Actor.ID == "" || mine[0].Target.ID != m.ID ||
			mine[0].Summary["name"] != "[redacted]" {
			t.Fatalf("members.update by the member: %+v", mine)
		}

		// Login attempts, failed ones too.
		e.post("/v1/operators", map[string]any{"email": "ops@brand.cn", "role": "admin", "password": "the-right-password-42"}).want(201, nil)
		e.call("", "POST", "/v1/console/login", map[string]any{"email": "ops@brand.cn", "password": "wrong-password-0000"}).wantProblem(401, "invalid_credentials")
		e.call("", "POST", "/v1/console/login", map[string]any{"email": "ops@brand.cn", "password": "the-right-password-42"}).want(200, nil)
		logins := e.audit("?action=console.login")
		if len(logins) != 2 || logins[0].Status != 200 || logins[1].Status != 401 || logins[0].Actor.Kind != "operator" {
			t.Fatalf("login entries: %+v", logins)
		}
		if raw := string(e.get("/v1/audit/"+logins[1].ID).want(200, nil).Body); strings.Contains(raw, "wrong-password") {
			t.Fatalf("a login entry keeps the password: %s", raw)
		}

		// Filters, paging, access, and no way to change an entry.
		if l := e.audit("?target_type=member&target_id=" + m.ID + "&limit=2"); len(l) != 2 {
			t.Fatalf("a page of the member's entries: %+v", l)
		}
		if l := e.audit("?request_id=req-earn-1"); len(l) != 1 || l[0].ID != en.ID {
			t.Fatalf("by request ID: %+v", l)
		}
		if l := e.audit("?actor_id=" + en.Actor.ID + "&from=2099-01-01T00:00:00Z"); len(l) != 0 {
			t.Fatalf("entries from 2099: %+v", l)
		}
		e.get("/v1/audit?from=yesterday").wantProblem(422, "validation_failed", "from")
		e.call(e.key("readonly", ""), "GET", "/v1/audit", nil).wantProblem(403, "forbidden")
		e.get("/v1/audit/aud_nope").wantProblem(404, "not_found")
		for _, method := range []string{"PATCH", "DELETE", "PUT"} {
			if st := e.call(e.admin, method, "/v1/audit/"+en.ID, map[string]any{}).Status; st != 405 {
				t.Fatalf("%s of an entry: %d, want 405", method, st)
			}
		}
	})
}
