package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/jifen/jifen/internal/store/storetest"
)

func TestMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		t.Run("create and read", func(t *testing.T) {
			m := e.newMember(map[string]any{
				"external_id": "u-100", "phone": "13800000000", "name": "王小明", "gender": "male",
				"birthday": "1990-05-06", "region": "上海", "attributes": map[string]any{"vip": true}, "tags": []string{"a", "b"},
			})
			if m.Status != "active" || *m.Phone != "+8613800000000" || len(m.ReferralCode) != 8 || len(m.Tags) != 2 {
				t.Fatalf("member = %+v", m)
			}
			var byExt, byID memberObj
			e.get("/v1/members/ext:u-100").want(200, &byExt)
			e.get("/v1/members/"+m.ID).want(200, &byID)
			if byExt.ID != m.ID || byID.ID != m.ID {
				t.Fatalf("lookups found %s and %s, want %s", byExt.ID, byID.ID, m.ID)
			}
			e.get("/v1/members/ext:nobody").wantProblem(404, "not_found")
			e.get("/v1/members/mem_nobody").wantProblem(404, "not_found")
			e.get("/v1/members/whatever").wantProblem(404, "not_found")
		})
		t.Run("unique external_id and phone", func(t *testing.T) {
			e.newMember(map[string]any{"external_id": "dup-1", "phone": "+8613900000001"})
			e.post("/v1/members", map[string]any{"external_id": "dup-1"}).wantProblem(409, "member_exists", "external_id")
			e.post("/v1/members", map[string]any{"phone": "13900000001"}).wantProblem(409, "member_exists", "phone")
		})
		t.Run("validation", func(t *testing.T) {
			e.post("/v1/members", map[string]any{
				"phone": "12345", "gender": "other", "birthday": "1990-13-01", "attributes": []int{1}, "external_id": "",
			}).wantProblem(422, "validation_failed", "phone", "gender", "birthday", "attributes", "external_id")
			e.post("/v1/members", map[string]any{"referral_code": "NOSUCH"}).wantProblem(422, "validation_failed", "referral_code")
			e.post("/v1/members", map[string]any{"tags": []string{"has,comma"}}).wantProblem(422, "validation_failed", "tags")
			e.post("/v1/members", map[string]any{"name": 12}).wantProblem(422, "validation_failed", "name")
		})
		t.Run("referral code sets referred_by", func(t *testing.T) {
			inviter := e.newMember(nil)
			m := e.newMember(map[string]any{"referral_code": inviter.ReferralCode})
			if m.ReferredBy == nil || *m.ReferredBy != inviter.ID {
				t.Fatalf("referred_by = %v, want %s", m.ReferredBy, inviter.ID)
			}
		})
		t.Run("patch", func(t *testing.T) {
			m := e.newMember(map[string]any{"external_id": "p-1", "name": "A"})
			var got memberObj
			e.patch("/v1/members/ext:p-1", map[string]any{"name": "B", "tags": []string{"gold"}}).want(200, &got)
			if *got.Name != "B" || len(got.Tags) != 1 || *got.ExternalID != "p-1" {
				t.Fatalf("patched = %+v", got)
			}
			e.newMember(map[string]any{"external_id": "p-2"})
			e.patch("/v1/members/"+m.ID, map[string]any{"external_id": "p-2"}).wantProblem(409, "member_exists", "external_id")
			e.patch("/v1/members/"+m.ID, map[string]any{"gender": "x"}).wantProblem(422, "validation_failed", "gender")
			e.patch("/v1/members/"+m.ID, map[string]any{"referral_code": "X"}).wantProblem(422, "validation_failed", "referral_code")
		})
		t.Run("list and filters", func(t *testing.T) {
			for i := 0; i < 5; i++ {
				e.newMember(map[string]any{"external_id": fmt.Sprintf("l-%d", i), "tags": []string{"list", fmt.Sprintf("t%d", i%2)}})
			}
			var page1, page2 listObj[memberObj]
			e.get("/v1/members?tag=list&limit=3").want(200, &page1)
			if len(page1.Data) != 3 || page1.NextCursor == nil {
				t.Fatalf("page 1: %d members, cursor %v", len(page1.Data), page1.NextCursor)
			}
			if page1.Data[0].ExternalID == nil || *page1.Data[0].ExternalID != "l-4" {
				t.Fatalf("newest first: got %v", page1.Data[0].ExternalID)
			}
			e.get("/v1/members?tag=list&limit=3&cursor="+*page1.NextCursor).want(200, &page2)
			if len(page2.Data) != 2 || page2.NextCursor != nil {
				t.Fatalf("page 2: %d members, cursor %v", len(page2.Data), page2.NextCursor)
			}
			var both listObj[memberObj]
			e.get("/v1/members?tag=list&tag=t0").want(200, &both)
			if len(both.Data) != 3 {
				t.Fatalf("tag=list&tag=t0: %d members, want 3", len(both.Data))
			}
			var one listObj[memberObj]
			e.get("/v1/members?external_id=l-2").want(200, &one)
			if len(one.Data) != 1 {
				t.Fatalf("external_id filter: %d members", len(one.Data))
			}
			e.get("/v1/members?limit=0").wantProblem(422, "validation_failed", "limit")
			e.get("/v1/members?limit=501").wantProblem(422, "validation_failed", "limit")
		})
		t.Run("freeze, unfreeze, erase", func(t *testing.T) {
			m := e.newMember(map[string]any{"external_id": "f-1", "phone": "13700000000", "name": "F"})
			e.earn(m.ID, 100)
			var got memberObj
			e.post("/v1/members/"+m.ID+"/freeze", nil).want(200, &got)
			if got.Status != "frozen" {
				t.Fatalf("status %s", got.Status)
			}
			e.post("/v1/members/"+m.ID+"/points/earn", map[string]any{"points": 1}).wantProblem(409, "conflict")
			e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 1}).wantProblem(409, "conflict")
			e.get("/v1/members/"+m.ID+"/balance").want(200, nil) // a frozen member can be read
			e.post("/v1/members/"+m.ID+"/unfreeze", nil).want(200, &got)
			if got.Status != "active" {
				t.Fatalf("status %s", got.Status)
			}
			var h holdObj
			e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 30}).want(201, &h)
			e.post("/v1/members/"+m.ID+"/erase", nil).want(200, &got)
			if got.Status != "erased" || got.Name != nil || got.Phone != nil || got.ExternalID != nil || got.Gender != "unknown" {
				t.Fatalf("erased member = %+v", got)
			}
			bal := e.balance(m.ID)
			if bal.Available != 0 || bal.Held != 0 || bal.LifetimeExpired != 100 {
				t.Fatalf("erased balance = %+v", bal)
			}
			var hold holdObj
			e.get("/v1/holds/"+h.ID).want(200, &hold)
			if hold.Status != "released" {
				t.Fatalf("erased member's hold is %s", hold.Status)
			}
			e.post("/v1/members/"+m.ID+"/erase", nil).want(200, nil) // repeatable
			e.post("/v1/members/"+m.ID+"/freeze", nil).wantProblem(409, "conflict")
			e.get("/v1/members/ext:f-1").wantProblem(404, "not_found")
			e.newMember(map[string]any{"external_id": "f-1", "phone": "13700000000"}) // identifiers are free again
			e.verify()
		})
	})
}
