package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

type campaignObj struct {
	ID         string  `json:"id"`
	Status     string  `json:"status"`
	MerchantID *string `json:"merchant_id"`
	BudgetUsed int64   `json:"budget_used"`
}

type runObj struct {
	Campaigns, Treated, Control, Skipped int64
}

type cmMember struct {
	MemberID   string  `json:"member_id"`
	Occurrence string  `json:"occurrence"`
	Group      string  `json:"group"`
	Reason     *string `json:"reason"`
}

type groupObj struct {
	Members        int64   `json:"members"`
	Converted      int64   `json:"converted"`
	ConversionRate *string `json:"conversion_rate"`
}

type cmReport struct {
	Treated       groupObj `json:"treated"`
	Control       groupObj `json:"control"`
	Uplift        *string  `json:"uplift"`
	PointsGranted int64    `json:"points_granted"`
	BudgetLeft    *int64   `json:"budget_left"`
	CouponsIssued int64    `json:"coupons_issued"`
	MessagesSent  int64    `json:"messages_sent"`
}

// campaign creates and activates a campaign granting points.
func (e *env) campaign(body map[string]any) campaignObj {
	e.t.Helper()
	if body["actions"] == nil {
		body["actions"] = []any{map[string]any{"kind": "grant_points", "points": 10}}
	}
	if body["name"] == nil {
		body["name"] = "c"
	}
	var c campaignObj
	e.post("/v1/campaigns", body).want(201, &c)
	if c.Status != "draft" || !strings.HasPrefix(c.ID, "cmp_") {
		e.t.Fatalf("created %+v", c)
	}
	e.post("/v1/campaigns/"+c.ID+"/activate", nil).want(200, &c)
	if c.Status != "active" {
		e.t.Fatalf("activated %+v", c)
	}
	return c
}

func (e *env) runCampaigns() runObj {
	e.t.Helper()
	var r runObj
	e.post("/v1/jobs/campaigns", map[string]any{}).want(200, &r)
	return r
}

func (e *env) campaignMembers(id, group string) []cmMember {
	e.t.Helper()
	var out struct{ Data []cmMember }
	e.get("/v1/campaigns/"+id+"/members?limit=500&group="+group).want(200, &out)
	return out.Data
}

func TestCampaignValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		grant := []any{map[string]any{"kind": "grant_points", "points": 10}}
		once := map[string]any{"kind": "once"}
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"schedule": once, "actions": grant}, "name"},
			{map[string]any{"name": "x", "actions": grant}, "schedule"},
			{map[string]any{"name": "x", "schedule": map[string]any{"kind": "weekly"}, "actions": grant}, "schedule.kind"},
			{map[string]any{"name": "x", "schedule": map[string]any{"kind": "trigger"}, "actions": grant}, "schedule.on"},
			{map[string]any{"name": "x", "schedule": map[string]any{"kind": "trigger", "on": "rain"}, "actions": grant}, "schedule.on"},
			{map[string]any{"name": "x", "schedule": map[string]any{"kind": "trigger", "on": "inactive"}, "actions": grant}, "schedule.days"},
			{map[string]any{"name": "x", "schedule": map[string]any{"kind": "trigger", "on": "tier_changed", "to": "nope"}, "actions": grant}, "schedule.to"},
			{map[string]any{"name": "x", "schedule": once}, "actions"},
			{map[string]any{"name": "x", "schedule": once, "actions": []any{}}, "actions"},
			{map[string]any{"name": "x", "schedule": once, "actions": []any{map[string]any{"kind": "dance"}}}, "actions[0].kind"},
			{map[string]any{"name": "x", "schedule": once, "actions": []any{map[string]any{"kind": "grant_points"}}}, "actions[0].points"},
			{map[string]any{"name": "x", "schedule": once, "actions": []any{map[string]any{"kind": "issue_coupon"}}}, "actions[0].coupon_template_id"},
			{map[string]any{"name": "x", "schedule": once, "actions": []any{map[string]any{"kind": "issue_coupon", "coupon_template_id": "cpt_nope"}}}, "actions[0].coupon_template_id"},
			{map[string]any{"name": "x", "schedule": once, "actions": []any{map[string]any{"kind": "send_message", "channel_id": "chn_x"}}}, "actions[0].template_id"},
			{map[string]any{"name": "x", "schedule": once, "actions": grant, "control_percent": 60}, "control_percent"},
			{map[string]any{"name": "x", "schedule": once, "actions": grant, "control_percent": -1}, "control_percent"},
			{map[string]any{"name": "x", "schedule": once, "actions": grant, "budget": -5}, "budget"},
			{map[string]any{"name": "x", "schedule": once, "actions": grant, "segment_id": "seg_nope"}, "segment_id"},
			{map[string]any{"name": "x", "schedule": once, "actions": grant, "conversion": map[string]any{"days": 400}}, "conversion.days"},
		} {
			e.post("/v1/campaigns", c.body).wantProblem(422, "validation_failed", c.field)
		}
		var list struct{ Data []campaignObj }
		e.get("/v1/campaigns").want(200, &list)
		if len(list.Data) != 0 {
			t.Fatalf("bad input created %+v", list.Data)
		}
		c := e.campaign(map[string]any{"schedule": once, "starts_at": "2030-01-01T00:00:00Z"})
		e.patch("/v1/campaigns/"+c.ID, map[string]any{"name": "y"}).wantProblem(409, "conflict")
		e.post("/v1/campaigns/"+c.ID+"/pause", nil).want(200, &c)
		e.patch("/v1/campaigns/"+c.ID, map[string]any{"name": "y", "control_percent": 70}).wantProblem(422, "validation_failed", "control_percent")
		e.patch("/v1/campaigns/"+c.ID, map[string]any{"name": "y"}).want(200, &c)
		e.get("/v1/campaigns/"+c.ID+"/members?group=lucky").wantProblem(422, "validation_failed", "group")
	})
}

// Each schedule kind fires for what it should, once per occurrence.
func TestCampaignTriggers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.call(e.admin, "PUT", "/v1/tiers", tiersBody).want(200, nil)
		// 2026-03-01 10:00 in Shanghai: a's birthday.
		a := e.newMember(map[string]any{"external_id": "a", "birthday": "1990-03-01"})
		bm := e.newMember(map[string]any{"external_id": "b", "birthday": "1991-07-09"})
		e.clock.Advance(time.Second) // they joined before the campaigns began

		once := e.campaign(map[string]any{"schedule": map[string]any{"kind": "once"}})
		birthday := e.campaign(map[string]any{"schedule": map[string]any{"kind": "trigger", "on": "birthday"}})
		joined := e.campaign(map[string]any{"schedule": map[string]any{"kind": "trigger", "on": "joined"}})
		gold := e.campaign(map[string]any{"schedule": map[string]any{"kind": "trigger", "on": "tier_changed", "to": "gold"}})
		r := e.runCampaigns()
		if r.Treated != 3 || r.Control != 0 || r.Skipped != 0 {
			t.Fatalf("first run %+v: want a and b once, a's birthday", r)
		}
		if ms := e.campaignMembers(birthday.ID, ""); len(ms) != 1 || ms[0].MemberID != a.ID || ms[0].Occurrence != "2026" {
			t.Fatalf("birthday members %+v", ms)
		}
		var oc campaignObj
		e.get("/v1/campaigns/"+once.ID).want(200, &oc)
		if oc.Status != "ended" {
			t.Fatalf("a once campaign after its run: %s", oc.Status)
		}
		// A join fires right after its commit; the job finds nothing more.
		c := e.newMember(map[string]any{"external_id": "c"})
		e.app.Campaigns.Wait()
		if ms := e.campaignMembers(joined.ID, ""); len(ms) != 1 || ms[0].MemberID != c.ID || ms[0].Occurrence != "joined" {
			t.Fatalf("joined members %+v", ms)
		}
		// A tier change to gold fires too.
		e.post("/v1/members/"+bm.ID+"/points/earn", map[string]any{"points": 1000, "currency": "growth"}).want(201, nil)
		e.app.Campaigns.Wait()
		if ms := e.campaignMembers(gold.ID, ""); len(ms) != 1 || ms[0].MemberID != bm.ID || !strings.HasPrefix(ms[0].Occurrence, "") {
			t.Fatalf("tier_changed members %+v", ms)
		}
		if r := e.runCampaigns(); r.Treated != 0 {
			t.Fatalf("second run %+v: everything was done", r)
		}
		if got := e.balance(a.ID).Available; got != 20 {
			t.Fatalf("a has %d points, want 10 (once) + 10 (birthday)", got)
		}
		if got := e.balance(c.ID).Available; got != 10 {
			t.Fatalf("c has %d points, want 10 (joined)", got)
		}

		// inactive 30 days: all three, keyed by their last activity date.
		inactive := e.campaign(map[string]any{"schedule": map[string]any{"kind": "trigger", "on": "inactive", "days": 30}})
		if r := e.runCampaigns(); r.Treated != 0 {
			t.Fatalf("nobody is inactive yet: %+v", r)
		}
		e.clock.Advance(31 * 24 * time.Hour)
		if r := e.runCampaigns(); r.Treated != 3 {
			t.Fatalf("after 31 quiet days %+v, want 3", r)
		}
		if r := e.runCampaigns(); r.Treated != 0 {
			t.Fatalf("the same quiet spell twice: %+v", r)
		}
		// The grant was activity: 31 days on, each is quiet again (a new
		// occurrence, keyed by the new date).
		e.earn(a.ID, 1)
		e.clock.Advance(31 * 24 * time.Hour)
		e.campaign(map[string]any{"schedule": map[string]any{"kind": "trigger", "on": "points_expiring", "days": 7}, "name": "expiring"})
		if r := e.runCampaigns(); r.Treated != 3 {
			t.Fatalf("a new quiet spell: %+v, want 3", r)
		}
		if ms := e.campaignMembers(inactive.ID, ""); len(ms) != 6 || ms[0].Occurrence == ms[5].Occurrence {
			t.Fatalf("inactive members %+v", ms)
		}
		// points_expiring 7 days: c's points expire in 5 days.
		at := e.clock.Now().Add(5 * 24 * time.Hour).Format(time.RFC3339)
		e.post("/v1/members/"+c.ID+"/points/earn", map[string]any{"points": 5, "expires_at": at}).want(201, nil)
		r = e.runCampaigns()
		if r.Treated != 1 {
			t.Fatalf("expiring run %+v", r)
		}
		if r := e.runCampaigns(); r.Treated != 0 {
			t.Fatalf("expiring twice %+v", r)
		}
		e.verify()
	})
}

// Two app instances run the job at once on one database: each member is
// treated once, and the budget pays once.
func TestCampaignConcurrentRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for i := range 30 {
			e.newMember(map[string]any{"external_id": fmt.Sprint("m", i)})
		}
		c := e.campaign(map[string]any{"schedule": map[string]any{"kind": "once"}, "control_percent": 20, "budget": 1000})
		other := app.New(app.Config{DB: e.db, Clock: e.clock, CacheTTL: time.Nanosecond})
		p, err := e.app.Programs.Get(context.Background(), program.DefaultID)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total int64
		for _, a := range []*app.App{e.app, other, e.app, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := a.Campaigns.Run(context.Background(), p, e.clock.Now())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += r.Treated + r.Control + r.Skipped
				mu.Unlock()
			}()
		}
		wg.Wait()
		ms := e.campaignMembers(c.ID, "")
		seen := map[string]bool{}
		for _, m := range ms {
			if seen[m.MemberID] {
				t.Fatalf("member %s recorded twice", m.MemberID)
			}
			seen[m.MemberID] = true
		}
		if len(ms) != 30 || total != 30 {
			t.Fatalf("%d recorded, runs counted %d, want 30", len(ms), total)
		}
		var rep cmReport
		e.get("/v1/campaigns/"+c.ID+"/report").want(200, &rep)
		if rep.PointsGranted != 10*rep.Treated.Members || *rep.BudgetLeft != 1000-rep.PointsGranted {
			t.Fatalf("report %+v", rep)
		}
		e.verify()
	})
}

// 2,000 members at 20 %: the control group is 400 give or take five
// standard deviations (about 18 each), and sticky across occurrences.
func TestCampaignControlGroup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ms := make([]store.NewMember, 2000)
		for i := range ms {
			ms[i] = store.NewMember{ID: fmt.Sprintf("mem_%05d", i), ExternalID: fmt.Sprint("x", i), ReferralCode: fmt.Sprintf("R%05d", i)}
		}
		err := e.db.Write(context.Background(), "", func(ctx context.Context, tx *store.Tx) error {
			return tx.InsertMembers(ctx, program.DefaultID, ms, e.clock.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		c := e.campaign(map[string]any{"schedule": map[string]any{"kind": "trigger", "on": "inactive", "days": 1}, "control_percent": 20})
		e.clock.Advance(48 * time.Hour)
		r := e.runCampaigns()
		if r.Treated+r.Control != 2000 || r.Control < 310 || r.Control > 490 {
			t.Fatalf("run %+v: want 2000 with about 400 in control", r)
		}
		control := map[string]bool{}
		for _, m := range e.campaignMembers(c.ID, "control") {
			control[m.MemberID] = true
		}
		// A second occurrence for a few of them keeps their group.
		for i := range 20 {
			e.earn(ms[i].ID, 1)
		}
		e.clock.Advance(48 * time.Hour)
		e.runCampaigns()
		var rep cmReport
		e.get("/v1/campaigns/"+c.ID+"/report").want(200, &rep)
		if rep.Control.Members != r.Control || rep.Treated.Members != r.Treated {
			t.Fatalf("report %+v after a second occurrence, first run %+v: groups changed", rep, r)
		}
		_ = control
	})
}

func TestCampaignBudget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for i := range 3 {
			e.newMember(map[string]any{"external_id": fmt.Sprint("m", i)})
		}
		c := e.campaign(map[string]any{"schedule": map[string]any{"kind": "once"}, "budget": 25})
		r := e.runCampaigns()
		if r.Treated != 2 || r.Skipped != 1 {
			t.Fatalf("run %+v: 25 points cover two grants of 10", r)
		}
		sk := e.campaignMembers(c.ID, "skipped")
		if len(sk) != 1 || sk[0].Reason == nil || *sk[0].Reason != "budget_exhausted" {
			t.Fatalf("skipped %+v", sk)
		}
		if got := e.balance(sk[0].MemberID).Available; got != 0 {
			t.Fatalf("the skipped member got %d points", got)
		}
		var rep cmReport
		e.get("/v1/campaigns/"+c.ID+"/report").want(200, &rep)
		if rep.PointsGranted != 20 || rep.BudgetLeft == nil || *rep.BudgetLeft != 5 {
			t.Fatalf("report %+v", rep)
		}
		e.verify()
	})
}

// The report against a hand-computed fixture: of the treated members two
// convert within the window, of the control members one; an order after
// the window and an event of another type do not count.
func TestCampaignReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for i := range 20 {
			e.newMember(map[string]any{"external_id": fmt.Sprint("m", i)})
		}
		var seg struct{ ID string }
		e.post("/v1/segments", map[string]any{"name": "all", "condition": "member.status == 'active'"}).want(201, &seg)
		c := e.campaign(map[string]any{"schedule": map[string]any{"kind": "once"}, "control_percent": 50, "segment_id": seg.ID,
			"conversion": map[string]any{"days": 7}})
		r := e.runCampaigns()
		treated, control := e.campaignMembers(c.ID, "treated"), e.campaignMembers(c.ID, "control")
		if r.Treated+r.Control != 20 || len(treated) < 3 || len(control) < 2 {
			t.Fatalf("run %+v: treated %d, control %d", r, len(treated), len(control))
		}
		e.clock.Advance(24 * time.Hour)
		for i, m := range []string{treated[0].MemberID, treated[1].MemberID, control[0].MemberID} {
			e.post("/v1/events", map[string]any{"id": fmt.Sprint("o", i), "type": "order.paid", "member": m, "data": map[string]any{"order_id": fmt.Sprint("o", i), "amount": 100}}).want(201, nil)
		}
		e.post("/v1/events", map[string]any{"id": "v", "type": "page.viewed", "member": treated[2].MemberID, "data": map[string]any{}}).want(201, nil)
		e.clock.Advance(8 * 24 * time.Hour)
		e.post("/v1/events", map[string]any{"id": "late", "type": "order.paid", "member": control[1].MemberID, "data": map[string]any{"order_id": "late", "amount": 100}}).want(201, nil)
		var rep cmReport
		e.get("/v1/campaigns/"+c.ID+"/report").want(200, &rep)
		nt, nc := int64(len(treated)), int64(len(control))
		rate := func(a, b int64) string { return fmt.Sprintf("%.4f", float64(a)/float64(b)) }
		if rep.Treated.Members != nt || rep.Treated.Converted != 2 || *rep.Treated.ConversionRate != rate(2, nt) ||
			rep.Control.Members != nc || rep.Control.Converted != 1 || *rep.Control.ConversionRate != rate(1, nc) {
			t.Fatalf("report %+v %+v, with %d treated and %d control", rep.Treated, rep.Control, nt, nc)
		}
		if want := fmt.Sprintf("%.4f", 2/float64(nt)-1/float64(nc)); rep.Uplift == nil || *rep.Uplift != want {
			t.Fatalf("uplift %v, want %s", rep.Uplift, want)
		}
		if rep.PointsGranted != 10*nt || rep.BudgetLeft != nil {
			t.Fatalf("report %+v", rep)
		}
		var rows struct {
			Data []struct {
				CampaignID     string  `json:"campaign_id"`
				Treated        int64   `json:"treated"`
				Control        int64   `json:"control"`
				ConversionRate *string `json:"conversion_rate"`
				Uplift         *string `json:"uplift"`
			}
		}
		e.get("/v1/reports/campaigns").want(200, &rows)
		if len(rows.Data) != 1 || rows.Data[0].CampaignID != c.ID || rows.Data[0].Treated != nt || rows.Data[0].Control != nc ||
			*rows.Data[0].Uplift != *rep.Uplift {
			t.Fatalf("campaigns report %+v", rows.Data)
		}
		csv := e.call(e.admin, "GET", "/v1/reports/campaigns?format=csv", nil)
		if !strings.HasPrefix(string(csv.Body), "\ufeffcampaign_id,name,treated,control,points_granted,coupons_issued,messages_sent,conversion_rate,uplift\r\n") {
			t.Fatalf("csv %q", csv.Body)
		}
	})
}

// A merchant's campaign: its key sees only its own, and the points it
// grants are the merchant's (the lot's issuer).
func TestCampaignMerchant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var ma, mb struct{ ID string }
		e.post("/v1/merchants", map[string]any{"name": "A"}).want(201, &ma)
		e.post("/v1/merchants", map[string]any{"name": "B"}).want(201, &mb)
		keyA, keyB := e.key("merchant", ma.ID), e.key("merchant", mb.ID)
		m := e.newMember(nil)
		var c campaignObj
		body := map[string]any{"name": "A's", "schedule": map[string]any{"kind": "once"}, "actions": []any{map[string]any{"kind": "grant_points", "points": 7}}}
		e.call(keyB, "POST", "/v1/campaigns", map[string]any{"name": "x", "schedule": map[string]any{"kind": "once"},
			"actions": []any{map[string]any{"kind": "grant_points", "points": 7}}, "merchant_id": ma.ID}).wantProblem(403, "forbidden")
		e.call(keyA, "POST", "/v1/campaigns", body).want(201, &c)
		if c.MerchantID == nil || *c.MerchantID != ma.ID {
			t.Fatalf("A's campaign %+v", c)
		}
		e.call(keyB, "GET", "/v1/campaigns/"+c.ID, nil).wantProblem(404, "not_found")
		e.call(keyB, "POST", "/v1/campaigns/"+c.ID+"/activate", nil).wantProblem(404, "not_found")
		var list struct{ Data []campaignObj }
		e.call(keyB, "GET", "/v1/campaigns", nil).want(200, &list)
		if len(list.Data) != 0 {
			t.Fatalf("B sees %+v", list.Data)
		}
		e.call(keyA, "POST", "/v1/campaigns/"+c.ID+"/activate", nil).want(200, &c)
		e.runCampaigns()
		var lots struct {
			Data []struct {
				Points     int64   `json:"amount"`
				MerchantID *string `json:"merchant_id"`
			}
		}
		e.get("/v1/members/"+m.ID+"/lots").want(200, &lots)
		if len(lots.Data) != 1 || lots.Data[0].MerchantID == nil || *lots.Data[0].MerchantID != ma.ID {
			t.Fatalf("lots %+v: the campaign's merchant issues its points", lots.Data)
		}
	})
}

// A coupon and a message in the member's transaction: the message names
// the campaign and carries the coupon's code.
func TestCampaignCouponAndMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(nil)
		var tpl, ch, mt struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "5 off", "kind": "amount_off", "value": 500}).want(201, &tpl)
		e.post("/v1/channels", map[string]any{"name": "hook", "kind": "webhook", "config": map[string]any{"url": "https://example.com/h"}}).want(201, &ch)
		e.post("/v1/message-templates", map[string]any{"name": "t", "body": "{{campaign.name}}: {{coupon.name}} {{coupon.code}}"}).want(201, &mt)
		c := e.campaign(map[string]any{"name": "welcome", "schedule": map[string]any{"kind": "once"}, "actions": []any{
			map[string]any{"kind": "issue_coupon", "coupon_template_id": tpl.ID},
			map[string]any{"kind": "send_message", "channel_id": ch.ID, "template_id": mt.ID}}})
		if r := e.runCampaigns(); r.Treated != 1 {
			t.Fatalf("run %+v", r)
		}
		var msgs struct {
			Data []struct {
				MemberID   string `json:"member_id"`
				CampaignID string `json:"campaign_id"`
				Body       string `json:"body"`
			}
		}
		e.get("/v1/messages?campaign_id="+c.ID).want(200, &msgs)
		if len(msgs.Data) != 1 || msgs.Data[0].MemberID != m.ID || !strings.HasPrefix(msgs.Data[0].Body, "welcome: 5 off ") || len(msgs.Data[0].Body) < 18 {
			t.Fatalf("messages %+v", msgs.Data)
		}
		var rep cmReport
		e.get("/v1/campaigns/"+c.ID+"/report").want(200, &rep)
		if rep.CouponsIssued != 1 || rep.Treated.Members != 1 || rep.Uplift != nil {
			t.Fatalf("report %+v", rep)
		}
	})
}
