package httpapi_test

import (
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/jifen/jifen/internal/store/storetest"
)

type identityObj struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Verified bool   `json:"verified"`
}

type fullMember struct {
	memberObj
	Identities []identityObj `json:"identities"`
	MergedInto *string       `json:"merged_into"`
	Region     *string       `json:"region"`
	Tier       *string       `json:"tier"`
}

func (e *env) member(ref string) fullMember {
	e.t.Helper()
	var m fullMember
	e.get("/v1/members/"+ref).want(200, &m)
	return m
}

func (e *env) identities(ref string) []identityObj {
	e.t.Helper()
	var l listObj[identityObj]
	e.get("/v1/members/"+ref+"/identities").want(200, &l)
	return l.Data
}

func kindsOf(ids []identityObj) map[string]string {
	out := map[string]string{}
	for _, i := range ids {
		out[i.Kind] = i.Value
	}
	return out
}

func TestIdentities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(map[string]any{"external_id": "id-1", "phone": "13800001111"})
		if got := kindsOf(e.member(m.ID).Identities); got["phone"] != "+8613800001111" || got["external_id"] != "id-1" || len(got) != 2 {
			t.Fatalf("a new member's identities: %v", got)
		}
		add := func(ref, kind, value string) resp {
			return e.post("/v1/members/"+ref+"/identities", map[string]any{"kind": kind, "value": value})
		}
		// The identities every case below reads, added (and checked) here so
		// each case also runs alone.
		var em identityObj
		add(m.ID, "email", "  Wang.Xiao@Example.COM ").want(201, &em)
		if em.Value != "wang.xiao@example.com" || em.Kind != "email" || em.Verified || len(em.ID) < 5 || em.ID[:4] != "idn_" {
			t.Fatalf("email identity %+v", em)
		}
		var card identityObj
		e.post("/v1/members/"+m.ID+"/identities", map[string]any{"kind": "card", "value": "C-0001", "verified": true}).want(201, &card)
		if !card.Verified || card.Value != "C-0001" {
			t.Fatalf("card %+v", card)
		}
		add(m.ID, "card", "C-0002").want(201, nil) // cards may repeat
		add(m.ID, "wechat_openid", "oABC-123").want(201, nil)
		add(m.ID, "wechat_unionid", "uXYZ").want(201, nil)
		add(m.ID, "alipay_uid", "2088 0000").want(201, nil) // a custom kind, as given

		t.Run("normalised and unique", func(t *testing.T) {
			other := e.newMember(nil)
			add(other.ID, "email", "WANG.XIAO@example.com").wantProblem(409, "member_exists", "value")
			add(other.ID, "phone", "+8613800001111").wantProblem(409, "member_exists", "value")
			add(other.ID, "card", "C-0001").wantProblem(409, "member_exists", "value")
			add(other.ID, "external_id", "id-1").wantProblem(409, "member_exists", "value")
			add(m.ID, "email", "second@example.com").wantProblem(409, "conflict")
			add(m.ID, "phone", "13900002222").wantProblem(409, "conflict")
			add(m.ID, "external_id", "id-2").wantProblem(409, "conflict")
			add(m.ID, "Bad-Kind", "x").wantProblem(422, "validation_failed", "kind")
			add(m.ID, "ext", "x").wantProblem(422, "validation_failed", "kind")
			add(m.ID, "x", "x").wantProblem(422, "validation_failed", "kind")
			add(m.ID, "phone", "12345").wantProblem(422, "validation_failed", "value")
			add(m.ID, "email", "not-an-email").wantProblem(422, "validation_failed", "value")
			add(m.ID, "card", "").wantProblem(422, "validation_failed", "value")
			add(m.ID, "card", string(make([]byte, 129))).wantProblem(422, "validation_failed", "value")
			add("mem_nobody", "card", "z").wantProblem(404, "not_found")
		})
		t.Run("lookup by every kind", func(t *testing.T) {
			for _, ref := range []string{
				m.ID, "ext:id-1", "external_id:id-1", "phone:%2B8613800001111", "phone:13800001111",
				"email:" + url.PathEscape("WANG.XIAO@example.com"), "card:C-0001", "card:C-0002",
				"wechat_openid:oABC-123", "wechat_unionid:uXYZ", "alipay_uid:" + url.PathEscape("2088 0000"),
			} {
				if got := e.member(ref); got.ID != m.ID {
					t.Errorf("%s found %s, want %s", ref, got.ID, m.ID)
				}
			}
			for _, ref := range []string{"card:C-0003", "phone:%2B8613800009999", "email:nobody%40example.com", "nokind:x", "ext:", "phone:bad", ":x"} {
				e.get("/v1/members/"+ref).wantProblem(404, "not_found")
			}
			// In a member field of a body: an event and a redemption.
			e.earn("wechat_openid:oABC-123", 1000)
			if ev := e.event(map[string]any{"id": "idn-ev-1", "type": "page.view", "member": "card:C-0002"}); ev.MemberID != m.ID {
				t.Errorf("an event naming card:C-0002 went to %s, want %s", ev.MemberID, m.ID)
			}
			mug := e.reward(map[string]any{"name": "Mug", "type": "physical", "points_price": 100, "stock": 5})
			var rd redemptionObj
			e.post("/v1/redemptions", map[string]any{"member": "email:wang.xiao@example.com", "reward_id": mug.ID}).want(201, &rd)
			e.post("/v1/redemptions", map[string]any{"member": "email:nobody@example.com", "reward_id": mug.ID}).wantProblem(404, "not_found")
			if bal := e.balance(m.ID); bal.Available != 900 {
				t.Fatalf("balance after earn by openid and redemption by email: %+v", bal)
			}
			var txns listObj[txnObj]
			e.get("/v1/members/phone:%2B8613800001111/transactions").want(200, &txns)
			if len(txns.Data) != 2 {
				t.Fatalf("transactions by phone: %d", len(txns.Data))
			}
		})
		t.Run("phone and external_id mirror the member", func(t *testing.T) {
			n := e.newMember(nil)
			var ph identityObj
			add(n.ID, "phone", "13700003333").want(201, &ph)
			if got := e.member(n.ID); got.Phone == nil || *got.Phone != "+8613700003333" {
				t.Fatalf("phone field after adding the identity: %v", got.Phone)
			}
			e.call(e.admin, "DELETE", "/v1/members/"+n.ID+"/identities/"+ph.ID, nil).want(204, nil)
			if got := e.member(n.ID); got.Phone != nil || len(got.Identities) != 0 {
				t.Fatalf("after deleting the phone identity: %+v", got)
			}
			e.call(e.admin, "DELETE", "/v1/members/"+n.ID+"/identities/"+ph.ID, nil).wantProblem(404, "not_found")
			e.get("/v1/members/phone:13700003333").wantProblem(404, "not_found")
			// A patch moves the identity with the field.
			e.patch("/v1/members/"+n.ID, map[string]any{"phone": "13700004444", "external_id": "mirror-1"}).want(200, nil)
			e.patch("/v1/members/"+n.ID, map[string]any{"phone": "+8613700005555"}).want(200, nil)
			if got := kindsOf(e.identities(n.ID)); got["phone"] != "+8613700005555" || got["external_id"] != "mirror-1" {
				t.Fatalf("identities after patches: %v", got)
			}
			e.get("/v1/members/phone:13700004444").wantProblem(404, "not_found")
			if e.member("phone:13700005555").ID != n.ID || e.member("ext:mirror-1").ID != n.ID {
				t.Fatal("patched phone or external_id does not resolve")
			}
			e.patch("/v1/members/"+n.ID, map[string]any{"phone": ""}).want(200, nil)
			if got := kindsOf(e.identities(n.ID)); got["phone"] != "" {
				t.Fatalf("cleared phone still an identity: %v", got)
			}
			// A member token reads its own identities, not another's.
			var tok struct {
				Token string `json:"token"`
			}
			e.post("/v1/members/"+n.ID+"/tokens", map[string]any{}).want(201, &tok)
			e.call(tok.Token, "GET", "/v1/members/me/identities", nil).want(200, nil)
			e.call(tok.Token, "GET", "/v1/members/"+m.ID+"/identities", nil).wantProblem(404, "not_found")
			e.call(tok.Token, "POST", "/v1/members/me/identities", map[string]any{"kind": "card", "value": "self"}).wantProblem(403, "forbidden")
			// Readonly keys read; they do not write.
			ro := e.key("readonly", "")
			e.call(ro, "GET", "/v1/members/"+n.ID+"/identities", nil).want(200, nil)
			e.call(ro, "POST", "/v1/members/"+n.ID+"/identities", map[string]any{"kind": "card", "value": "ro"}).wantProblem(403, "forbidden")
			// Erasure deletes them: nothing names the member any more.
			e.post("/v1/members/"+n.ID+"/erase", nil).want(200, nil)
			e.get("/v1/members/ext:mirror-1").wantProblem(404, "not_found")
			if got := e.identities(n.ID); len(got) != 0 {
				t.Fatalf("erased member's identities: %v", got)
			}
		})
	})
}

func TestTags(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		a := e.newMember(map[string]any{"external_id": "tag-a", "tags": []string{"vip"}})
		c := e.newMember(map[string]any{"external_id": "tag-c"})
		var got struct {
			Tags []string `json:"tags"`
		}
		e.post("/v1/members/ext:tag-a/tags", map[string]any{"tags": []string{"new", " vip ", "北京"}}).want(200, &got)
		if !slices.Equal(got.Tags, []string{"vip", "new", "北京"}) {
			t.Fatalf("tags after add: %v", got.Tags)
		}
		e.post("/v1/members/"+c.ID+"/tags", map[string]any{"tags": []string{"new"}}).want(200, nil)
		e.post("/v1/members/"+c.ID+"/tags", map[string]any{"tags": []string{"a,b"}}).wantProblem(422, "validation_failed", "tags")
		e.post("/v1/members/"+c.ID+"/tags", map[string]any{"tags": []string{"x\u0007"}}).wantProblem(422, "validation_failed", "tags")
		e.post("/v1/members/"+c.ID+"/tags", map[string]any{"tags": []string{"123456789012345678901234567890123"}}).wantProblem(422, "validation_failed", "tags")
		e.post("/v1/members/"+c.ID+"/tags", map[string]any{"tags": []string{}}).wantProblem(422, "validation_failed", "tags")
		var every listObj[memberObj]
		e.get("/v1/members?tag=new&tag=vip").want(200, &every)
		if len(every.Data) != 1 || every.Data[0].ID != a.ID {
			t.Fatalf("members with new and vip: %+v", every.Data)
		}
		e.get("/v1/members?tag=new").want(200, &every)
		if len(every.Data) != 2 {
			t.Fatalf("members with new: %d", len(every.Data))
		}
		var counts listObj[struct {
			Tag     string `json:"tag"`
			Members int64  `json:"members"`
		}]
		e.get("/v1/tags").want(200, &counts)
		want := map[string]int64{"new": 2, "vip": 1, "北京": 1}
		if len(counts.Data) != len(want) {
			t.Fatalf("tag counts %+v", counts.Data)
		}
		for _, tc := range counts.Data {
			if want[tc.Tag] != tc.Members {
				t.Fatalf("tag counts %+v", counts.Data)
			}
		}
		e.call(e.admin, "DELETE", "/v1/members/ext:tag-a/tags/"+url.PathEscape("北京"), nil).want(204, nil)
		e.call(e.admin, "DELETE", "/v1/members/ext:tag-a/tags/nope", nil).wantProblem(404, "not_found")
		if m := e.member(a.ID); !slices.Equal(m.Tags, []string{"vip", "new"}) {
			t.Fatalf("tags after delete: %v", m.Tags)
		}
		e.get("/v1/members?tag=北京").want(200, &every)
		if len(every.Data) != 0 {
			t.Fatalf("deleted tag still lists %d", len(every.Data))
		}
		mer := e.key("merchant", e.merchant("Tags Shop"))
		e.call(mer, "POST", "/v1/members/"+c.ID+"/tags", map[string]any{"tags": []string{"shop"}}).want(200, nil)
		e.call(mer, "GET", "/v1/tags", nil).want(200, nil)
	})
}

func (e *env) merchant(name string) string {
	e.t.Helper()
	var m struct {
		ID string `json:"id"`
	}
	e.post("/v1/merchants", map[string]any{"name": name}).want(201, &m)
	return m.ID
}

type mergeObj struct {
	Member fullMember `json:"member"`
	Source fullMember `json:"source"`
	Moved  struct {
		Identities  int64 `json:"identities"`
		Lots        int64 `json:"lots"`
		Holds       int64 `json:"holds"`
		Coupons     int64 `json:"coupons"`
		Redemptions int64 `json:"redemptions"`
	} `json:"moved"`
}

func TestMerge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.call(e.admin, "PUT", "/v1/tiers", []map[string]any{
			{"code": "silver", "name": "Silver", "threshold": 0, "multiplier": "1"},
			{"code": "gold", "name": "Gold", "threshold": 500, "multiplier": "1.5"},
		}).want(200, nil)
		dst := e.newMember(map[string]any{"external_id": "m-dst", "name": "Target", "tags": []string{"t1"}})
		src := e.newMember(map[string]any{"external_id": "m-src", "phone": "13600001111", "region": "杭州", "gender": "female",
			"tags": []string{"t1", "t2"}, "attributes": map[string]any{"k": 1}})
		e.post("/v1/members/"+src.ID+"/identities", map[string]any{"kind": "card", "value": "MC-1"}).want(201, nil)
		e.post("/v1/members/"+src.ID+"/identities", map[string]any{"kind": "email", "value": "src@example.com"}).want(201, nil)
		e.earn(dst.ID, 100)
		srcEarn := e.earn(src.ID, 1000)
		e.post("/v1/members/"+src.ID+"/points/earn", map[string]any{"points": 600, "currency": "growth"}).want(201, nil)
		var pendingTxn txnObj
		e.post("/v1/members/"+src.ID+"/points/earn", map[string]any{"points": 50,
			"available_at": e.clock.Now().Add(48 * 3600e9).Format("2006-01-02T15:04:05Z07:00")}).want(201, &pendingTxn)
		var h holdObj
		e.post("/v1/members/"+src.ID+"/holds", map[string]any{"points": 200}).want(201, &h)
		mug := e.reward(map[string]any{"name": "Mug", "type": "physical", "points_price": 100, "stock": 5})
		var rd redemptionObj
		e.post("/v1/redemptions", map[string]any{"member": src.ID, "reward_id": mug.ID}).want(201, &rd)
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "5 off", "kind": "amount_off", "value": 500}).want(201, &tpl)
		var cp couponObj
		e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": src.ID}).want(201, &cp)
		before := e.balance(src.ID)

		t.Run("refused", func(t *testing.T) {
			e.post("/v1/members/"+dst.ID+"/merge", map[string]any{"source": "ext:m-dst"}).wantProblem(422, "validation_failed", "source")
			e.post("/v1/members/"+dst.ID+"/merge", map[string]any{}).wantProblem(422, "validation_failed", "source")
			e.post("/v1/members/"+dst.ID+"/merge", map[string]any{"source": "ext:nobody"}).wantProblem(404, "not_found")
			frozen := e.newMember(nil)
			e.post("/v1/members/"+frozen.ID+"/freeze", nil).want(200, nil)
			e.post("/v1/members/"+dst.ID+"/merge", map[string]any{"source": frozen.ID}).wantProblem(409, "conflict")
			e.post("/v1/members/"+frozen.ID+"/merge", map[string]any{"source": dst.ID}).wantProblem(409, "conflict")
			erased := e.newMember(nil)
			e.post("/v1/members/"+erased.ID+"/erase", nil).want(200, nil)
			e.post("/v1/members/"+dst.ID+"/merge", map[string]any{"source": erased.ID}).wantProblem(409, "conflict")
			mer := e.key("merchant", e.merchant("Merge Shop"))
			e.call(mer, "POST", "/v1/members/"+dst.ID+"/merge", map[string]any{"source": src.ID}).wantProblem(403, "forbidden")
			if e.member(src.ID).Status != "active" {
				t.Fatal("a refused merge changed the source")
			}
		})

		var res mergeObj
		e.post("/v1/members/ext:m-dst/merge", map[string]any{"source": "phone:13600001111", "reason": "same person"}).want(200, &res)
		t.Run("moved everything", func(t *testing.T) {
			mv := res.Moved
			// identities: phone, card, email (external_id stays: the target has one)
			if mv.Identities != 3 || mv.Lots != 3 || mv.Holds != 1 || mv.Coupons != 1 || mv.Redemptions != 1 {
				t.Fatalf("moved %+v", mv)
			}
			if res.Source.Status != "merged" || res.Source.MergedInto == nil || *res.Source.MergedInto != dst.ID {
				t.Fatalf("source %+v", res.Source)
			}
			got := res.Member
			if got.ID != dst.ID || got.Phone == nil || *got.Phone != "+8613600001111" || *got.ExternalID != "m-dst" ||
				*got.Name != "Target" || got.Region == nil || *got.Region != "杭州" || got.Gender != "female" {
				t.Fatalf("target after merge %+v", got)
			}
			if !slices.Equal(got.Tags, []string{"t1", "t2"}) || len(res.Source.Tags) != 0 {
				t.Fatalf("tags: target %v, source %v", got.Tags, res.Source.Tags)
			}
			if got.Tier == nil || *got.Tier != "gold" {
				t.Fatalf("tier after 600 growth moved in: %v", got.Tier)
			}
			var hist struct {
				Data []struct {
					To     string `json:"to"`
					Reason string `json:"reason"`
				} `json:"data"`
			}
			e.get("/v1/members/"+dst.ID+"/tier-history").want(200, &hist)
			if len(hist.Data) == 0 || hist.Data[0].To != "gold" || hist.Data[0].Reason != "merge" {
				t.Fatalf("tier history %+v", hist.Data)
			}
			after := e.balance(dst.ID)
			if after.Available != before.Available+100 || after.Pending != before.Pending || after.Held != before.Held ||
				after.LifetimeEarned != before.LifetimeEarned+100 {
				t.Fatalf("target balance %+v, source had %+v", after, before)
			}
			if sb := e.balance(src.ID); sb.Available != 0 || sb.Pending != 0 || sb.Held != 0 || sb.Debt != 0 ||
				sb.LifetimeEarned != 0 || sb.LifetimeSpent != 0 || len(sb.Expiring) != 0 {
				t.Fatalf("source balance after merge %+v", sb)
			}
			var txns listObj[txnObj]
			e.get("/v1/members/"+dst.ID+"/transactions?type=merge").want(200, &txns)
			if len(txns.Data) != 2 { // points and growth
				t.Fatalf("merge transactions %+v", txns.Data)
			}
			var lots listObj[map[string]any]
			e.get("/v1/members/"+dst.ID+"/lots").want(200, &lots)
			found := false
			for _, l := range lots.Data {
				found = found || l["transaction_id"] == srcEarn.ID
			}
			if !found {
				t.Fatal("the source's lot is not the target's")
			}
			var hold holdObj
			e.get("/v1/holds/"+h.ID).want(200, &hold)
			if hold.MemberID != dst.ID {
				t.Fatalf("hold member %s", hold.MemberID)
			}
			var c couponObj
			e.get("/v1/members/"+dst.ID+"/coupons").want(200, &struct{ Data []couponObj }{})
			e.get("/v1/coupons/"+cp.Code).want(200, &c)
			if c.MemberID != dst.ID {
				t.Fatalf("coupon member %s", c.MemberID)
			}
			e.verify()
		})
		t.Run("the source afterwards", func(t *testing.T) {
			s := e.member(src.ID)
			if s.Status != "merged" || s.MergedInto == nil || *s.MergedInto != dst.ID {
				t.Fatalf("source read by ID: %+v", s)
			}
			// Its identities resolve to the target, the kept one too.
			for _, ref := range []string{"phone:13600001111", "card:MC-1", "email:src@example.com", "ext:m-src"} {
				if got := e.member(ref); got.ID != dst.ID {
					t.Errorf("%s resolves to %s, want %s", ref, got.ID, dst.ID)
				}
			}
			if got := kindsOf(e.identities(src.ID)); len(got) != 1 || got["external_id"] != "m-src" {
				t.Fatalf("identities left on the source: %v", got)
			}
			// Writes naming it by ID are conflicts; by an identity they reach the target.
			e.post("/v1/members/"+src.ID+"/points/earn", map[string]any{"points": 1}).wantProblem(409, "conflict")
			e.post("/v1/members/"+src.ID+"/points/spend", map[string]any{"points": 1}).wantProblem(409, "conflict")
			e.patch("/v1/members/"+src.ID, map[string]any{"name": "x"}).wantProblem(409, "conflict")
			e.post("/v1/members/"+src.ID+"/identities", map[string]any{"kind": "card", "value": "late"}).wantProblem(409, "conflict")
			e.post("/v1/members/"+src.ID+"/tags", map[string]any{"tags": []string{"late"}}).wantProblem(409, "conflict")
			e.post("/v1/members/"+src.ID+"/freeze", nil).wantProblem(409, "conflict")
			e.post("/v1/members/"+dst.ID+"/merge", map[string]any{"source": src.ID}).wantProblem(409, "conflict")
			other := e.newMember(nil)
			e.post("/v1/members/"+src.ID+"/merge", map[string]any{"source": other.ID}).wantProblem(409, "conflict")
			e.post("/v1/redemptions", map[string]any{"member": src.ID, "reward_id": mug.ID}).wantProblem(409, "conflict")
			e.earn("ext:m-src", 5) // its identity names the target
			// Reversing the source's old earn claws from the moved lot, on the target.
			var rev txnObj
			e.post("/v1/transactions/"+srcEarn.ID+"/reverse", map[string]any{"points": 300, "reason": "refund"}).want(201, &rev)
			if rev.MemberID != dst.ID {
				t.Fatalf("reversal written on %s, want the target %s", rev.MemberID, dst.ID)
			}
			// The moved hold and redemption work on the target.
			e.post("/v1/holds/"+h.ID+"/capture", map[string]any{"points": 50}).want(200, nil)
			e.post("/v1/redemptions/"+rd.ID+"/cancel", nil).want(200, nil)
			e.clock.Advance(72 * 3600e9)
			e.post("/v1/jobs/activate-pending", map[string]any{}).want(200, nil)
			e.verify()
			bal := e.balance(dst.ID)
			if bal.LifetimeEarned-bal.LifetimeSpent-bal.LifetimeExpired != bal.Available+bal.Pending+bal.Held-bal.Debt {
				t.Fatalf("target's lifetime figures do not add up: %+v", bal)
			}
		})
		t.Run("a chain of merges", func(t *testing.T) {
			third := e.newMember(map[string]any{"external_id": "m-third"})
			e.earn(third.ID, 10)
			e.post("/v1/members/"+third.ID+"/merge", map[string]any{"source": dst.ID}).want(200, nil)
			// The first source's kept identity now resolves to the last target.
			if got := e.member("ext:m-src"); got.ID != third.ID {
				t.Fatalf("ext:m-src resolves to %s, want %s", got.ID, third.ID)
			}
			if s := e.member(src.ID); s.MergedInto == nil || *s.MergedInto != third.ID {
				t.Fatalf("first source merged_into %v", s.MergedInto)
			}
			e.post("/v1/transactions/"+srcEarn.ID+"/reverse", map[string]any{"points": 10, "reason": "again"}).want(201, nil)
			e.verify()
		})
	})
}

// A merge racing spends and earns of either member conserves every point
// and leaves the books verified.
func TestMergeRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for round := 0; round < 3; round++ {
			x := e.newMember(map[string]any{"external_id": fmt.Sprintf("race-x-%d", round)})
			y := e.newMember(map[string]any{"external_id": fmt.Sprintf("race-y-%d", round)})
			e.earn(x.ID, 5000)
			e.earn(y.ID, 5000)
			var wg sync.WaitGroup
			var mu sync.Mutex
			spent, earned := int64(0), int64(0)
			var mergeStatus int
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					who := x
					if i%2 == 1 {
						who = y
					}
					// By ID: refused (409) once its member is merged.
					r := e.call(e.admin, "POST", "/v1/members/"+who.ID+"/points/spend", map[string]any{"points": 10})
					if r.Status == 201 {
						mu.Lock()
						spent += 10
						mu.Unlock()
					} else if r.Status != 409 {
						t.Errorf("spend: %d %s", r.Status, r.Body)
					}
					// By external_id: always someone's. One that resolved the
					// source just before the merge committed is a conflict;
					// asked again, it names the target.
					for attempt := 0; ; attempt++ {
						r = e.call(e.admin, "POST", "/v1/members/ext:"+*who.ExternalID+"/points/earn", map[string]any{"points": 7})
						if r.Status == 201 {
							mu.Lock()
							earned += 7
							mu.Unlock()
							break
						}
						if r.Status != 409 || attempt == 3 {
							t.Errorf("earn by ext: %d %s", r.Status, r.Body)
							break
						}
					}
				}(i)
				if i == 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						dst, src := x, y
						if round%2 == 1 {
							dst, src = y, x
						}
						r := e.call(e.admin, "POST", "/v1/members/"+dst.ID+"/merge", map[string]any{"source": src.ID})
						mergeStatus = r.Status
					}()
				}
			}
			wg.Wait()
			if mergeStatus != 200 {
				t.Fatalf("merge: %d", mergeStatus)
			}
			bx, by := e.balance(x.ID), e.balance(y.ID)
			if total := bx.Available + by.Available; total != 10000-spent+earned {
				t.Fatalf("round %d: %d points, want %d (spent %d, earned %d)", round, total, 10000-spent+earned, spent, earned)
			}
			e.verify()
		}
	})
}
