package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

// A member token acts for its own member on the member page's routes, and
// on nothing else.
func TestMemberTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m, other := e.newMember(map[string]any{"external_id": "me-1"}), e.newMember(nil)
		e.earn(m.ID, 1000)
		e.post("/v1/members/"+m.ID+"/tokens", map[string]any{"ttl_seconds": 30}).wantProblem(422, "validation_failed", "ttl_seconds")
		e.post("/v1/members/"+m.ID+"/tokens", map[string]any{"scope": "all"}).wantProblem(422, "validation_failed", "scope")
		var tok struct {
			Token     string    `json:"token"`
			MemberID  string    `json:"member_id"`
			Scope     string    `json:"scope"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		e.post("/v1/members/ext:me-1/tokens", nil).want(201, &tok)
		if !strings.HasPrefix(tok.Token, "jmt_") || tok.MemberID != m.ID || tok.Scope != "member" ||
			!tok.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) {
			t.Fatalf("token %+v", tok)
		}
		mt := tok.Token

		// Its own member, as "me" or by ID; nobody else.
		var me struct{ ID string }
		e.call(mt, "GET", "/v1/members/me", nil).want(200, &me)
		if me.ID != m.ID {
			t.Fatalf("me is %s, want %s", me.ID, m.ID)
		}
		e.call(mt, "GET", "/v1/members/"+m.ID+"/balance", nil).want(200, nil)
		e.call(mt, "GET", "/v1/members/"+other.ID, nil).wantProblem(404, "not_found")
		e.call(mt, "GET", "/v1/members/"+other.ID+"/transactions", nil).wantProblem(404, "not_found")
		// Routes a member may not use.
		e.call(mt, "GET", "/v1/members", nil).wantProblem(403, "forbidden")
		e.call(mt, "POST", "/v1/members/me/points/earn", map[string]any{"points": 5}).wantProblem(403, "forbidden")
		e.call(mt, "POST", "/v1/members/me/tokens", nil).wantProblem(403, "forbidden")

		// Acts for itself: redeem, profile (its own fields only).
		mug := e.reward(map[string]any{"name": "Mug", "type": "physical", "points_price": 100, "stock": 5})
		e.call(mt, "POST", "/v1/redemptions", map[string]any{"member": "me", "reward_id": mug.ID}).want(201, nil)
		e.call(mt, "POST", "/v1/redemptions", map[string]any{"member": other.ID, "reward_id": mug.ID}).wantProblem(404, "not_found")
		if got := e.balance(m.ID).Available; got != 900 {
			t.Fatalf("balance after the member's redemption %d", got)
		}
		e.call(mt, "PATCH", "/v1/members/me", map[string]any{"name": "小明"}).want(200, nil)
		e.call(mt, "PATCH", "/v1/members/me", map[string]any{"tags": []string{"vip"}}).wantProblem(403, "forbidden")
		// It gives only its own coupons.
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "gift", "kind": "amount_off", "value": 100, "transferable": true}).want(201, &tpl)
		var mine, theirs struct{ Code string }
		e.call(mt, "POST", "/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": "me"}).want(201, &mine)
		e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": other.ID}).want(201, &theirs)
		e.call(mt, "POST", "/v1/coupons/"+theirs.Code+"/transfer", map[string]any{"to": "me"}).wantProblem(404, "not_found")
		e.call(mt, "POST", "/v1/coupons/"+mine.Code+"/transfer", map[string]any{"to": other.ID}).want(200, nil)

		// A read token reads only.
		var ro struct{ Token string }
		e.post("/v1/members/"+m.ID+"/tokens", map[string]any{"scope": "read"}).want(201, &ro)
		e.call(ro.Token, "GET", "/v1/members/me/balance", nil).want(200, nil)
		e.call(ro.Token, "POST", "/v1/redemptions", map[string]any{"member": "me", "reward_id": mug.ID}).wantProblem(403, "forbidden")

		// Forged, expired, erased.
		forged := mt[:len(mt)-2] + "xx"
		e.call(forged, "GET", "/v1/members/me", nil).wantProblem(401, "unauthenticated")
		e.clock.Advance(15 * time.Minute)
		e.call(mt, "GET", "/v1/members/me", nil).wantProblem(401, "token_expired")
		var fresh struct{ Token string }
		e.post("/v1/members/"+m.ID+"/tokens", map[string]any{"ttl_seconds": 3600}).want(201, &fresh)
		e.call(fresh.Token, "GET", "/v1/members/me", nil).want(200, nil)
		e.post("/v1/members/"+m.ID+"/erase", nil).want(200, nil)
		e.call(fresh.Token, "GET", "/v1/members/me", nil).wantProblem(401, "unauthenticated")
		e.verify()
	})
}
