package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jifen/jifen/internal/store/storetest"
)

// A member's export holds every record that names it — profile,
// identities, tags, books, coupons, redemptions, campaigns, messages and
// the audit entries about it — as an attachment; taking it is audited;
// only an admin takes it.
func TestMemberExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(map[string]any{"name": "韩梅梅", "phone": "13600136000", "tags": []string{"vip"}})
		other := e.newMember(nil)
		e.post("/v1/members/"+m.ID+"/identities", map[string]any{"kind": "email", "value": "mei@example.cn"}).want(201, nil)
		e.earn(m.ID, 500)
		e.earn(other.ID, 70)
		e.post("/v1/members/"+m.ID+"/points/spend", map[string]any{"points": 40}).want(201, nil)
		e.post("/v1/members/"+m.ID+"/holds", map[string]any{"points": 30}).want(201, nil)
		mug := e.reward(map[string]any{"name": "Mug", "type": "physical", "points_price": 100, "stock": 5})
		e.post("/v1/redemptions", map[string]any{"member": m.ID, "reward_id": mug.ID}).want(201, nil)
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "gift", "kind": "amount_off", "value": 100}).want(201, &tpl)
		e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": m.ID}).want(201, nil)
		var ch, mt struct{ ID string }
		e.post("/v1/channels", map[string]any{"name": "hook", "kind": "webhook", "config": map[string]any{"url": "http://127.0.0.1:9/x"}}).want(201, &ch)
		e.post("/v1/message-templates", map[string]any{"name": "hi", "body": "hi {{member.name}}"}).want(201, &mt)
		e.post("/v1/messages", map[string]any{"member": m.ID, "channel_id": ch.ID, "template_id": mt.ID}).want(202, nil)
		var seg struct{ ID string }
		e.post("/v1/segments", map[string]any{"name": "vips", "condition": `"vip" in member.tags`}).want(201, &seg)
		e.campaign(map[string]any{"segment_id": seg.ID, "schedule": map[string]any{"kind": "once"}, "budget": 1000})
		e.runCampaigns()

		r := e.get("/v1/members/phone:13600136000/export").want(200, nil)
		if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="member_`+m.ID+`.json"` {
			t.Fatalf("Content-Disposition %q", cd)
		}
		var x struct {
			Member     struct{ ID, Name string }
			Identities []struct{ Kind, Value string }
			Tags       []string
			Balances   map[string]struct{ Available int64 }
			Lots       []struct {
				MemberID string `json:"member_id"`
			}
			Transactions []struct {
				MemberID string `json:"member_id"`
				Type     string
			}
			Holds []struct {
				MemberID string `json:"member_id"`
			}
			Coupons []struct {
				MemberID string `json:"member_id"`
			}
			Redemptions []struct {
				MemberID string `json:"member_id"`
			}
			Campaigns []struct {
				CampaignID string `json:"campaign_id"`
				Group      string
			}
			Messages []struct {
				MemberID string `json:"member_id"`
			}
			Audit []struct {
				Action string
				Target struct{ ID string }
			}
			Stats struct{ Orders int64 }
		}
		if err := json.Unmarshal(r.Body, &x); err != nil {
			t.Fatal(err)
		}
		if x.Member.ID != m.ID || x.Member.Name != "韩梅梅" || len(x.Identities) < 2 || len(x.Tags) != 1 {
			t.Fatalf("profile: %+v %+v %v", x.Member, x.Identities, x.Tags)
		}
		// 500 earned + 10 from the campaign − 40 spent − 30 held − 100 redeemed
		if x.Balances["points"].Available != 340 || len(x.Lots) != 2 || len(x.Transactions) < 4 || len(x.Holds) != 1 ||
			len(x.Coupons) != 1 || len(x.Redemptions) != 1 || len(x.Campaigns) != 1 || x.Campaigns[0].Group != "treated" ||
			len(x.Messages) != 1 {
			t.Fatalf("records: balance %d, %d lots, %d txns, %d holds, %d coupons, %d redemptions, campaigns %+v, %d messages",
				x.Balances["points"].Available, len(x.Lots), len(x.Transactions), len(x.Holds), len(x.Coupons), len(x.Redemptions),
				x.Campaigns, len(x.Messages))
		}
		for _, id := range append(append([]string{}, ids(x.Lots)...), ids(x.Transactions)...) {
			if id != m.ID {
				t.Fatalf("the export holds another member's record (%s)", id)
			}
		}
		actions := map[string]bool{}
		for _, a := range x.Audit {
			actions[a.Action] = a.Target.ID == m.ID
		}
		if !actions["members.create"] || !actions["points.earn"] || !actions["points.spend"] {
			t.Fatalf("the export's audit entries: %+v", x.Audit)
		}
		if strings.Contains(string(r.Body), other.ID) {
			t.Fatal("the export names another member")
		}

		if got := e.audit("?action=members.export"); len(got) != 1 || got[0].Target.ID != m.ID || got[0].Method != "GET" {
			t.Fatalf("the export's audit entry: %+v", got)
		}
		e.call(e.key("readonly", ""), "GET", "/v1/members/"+m.ID+"/export", nil).wantProblem(403, "forbidden")
		e.get("/v1/members/mem_nope/export").wantProblem(404, "not_found")
	})
}

// ids are the member IDs of records.
func ids[T any](rows []T) []string {
	var out []string
	for _, r := range rows {
		b, _ := json.Marshal(r)
		var x struct {
			MemberID string `json:"member_id"`
		}
		json.Unmarshal(b, &x)
		out = append(out, x.MemberID)
	}
	return out
}
