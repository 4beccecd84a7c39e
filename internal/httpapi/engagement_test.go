package httpapi_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

var tiersBody = []map[string]any{
	{"code": "silver", "name": "Silver", "threshold": 0, "multiplier": "1"},
	{"code": "gold", "name": "Gold", "threshold": 1000, "multiplier": "1.5", "upgrade_cost_points": 1000},
	{"code": "black", "name": "Black", "threshold": 5000, "multiplier": "2", "benefits": map[string]any{"lounge": true}},
}

func TestTiers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.call(e.admin, "PUT", "/v1/tiers", []map[string]any{{"code": "a", "name": "A", "threshold": 10}, {"code": "a", "name": "B", "threshold": 5, "multiplier": "x"}}).
			wantProblem(422, "validation_failed", "[1].code", "[1].threshold", "[1].multiplier")
		var tiers []map[string]any
		e.call(e.admin, "PUT", "/v1/tiers", tiersBody).want(200, &tiers)
		e.get("/v1/tiers").want(200, &tiers)
		if len(tiers) != 3 || tiers[1]["multiplier"] != "1.5" || tiers[0]["code"] != "silver" {
			t.Fatalf("tiers %+v", tiers)
		}
		e.call(e.admin, "PUT", "/v1/tiers", map[string]any{"code": "x"}).wantProblem(400, "bad_request")
		e.rule(map[string]any{"name": "points", "event_type": "order.paid", "reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1}})
		e.rule(map[string]any{"name": "growth", "event_type": "order.paid", "reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1, "currency": "growth"}})
		m := e.newMember(nil)
		var raw0 map[string]any
		e.get("/v1/members/"+m.ID).want(200, &raw0)
		if raw0["tier"] != "silver" {
			t.Fatalf("a new member starts in the threshold-0 tier, got %v", raw0["tier"])
		}
		r := e.event(order(m.ID, "t-1", 50000)) // 500 growth: still silver
		if r.TierChange != nil {
			t.Fatalf("first order tier change %+v", r.TierChange)
		}
		r = e.event(order(m.ID, "t-2", 60000)) // 1100 growth: gold, still earning at silver's ×1
		if r.TierChange == nil || *r.TierChange.To != "gold" || r.total("points") != 600 {
			t.Fatalf("second order: %+v %+v", r.TierChange, r.Awards)
		}
		r = e.event(order(m.ID, "t-3", 10001)) // gold ×1.5 on points: floor(100.01 × 1.5) = 150; growth is not multiplied
		if r.TierChange != nil || r.total("points") != 150 || r.total("growth") != 100 {
			t.Fatalf("gold order: %+v %+v", r.TierChange, r.Awards)
		}
		var hist listObj[struct {
			From   *string `json:"from"`
			To     *string `json:"to"`
			Reason string  `json:"reason"`
		}]
		e.get("/v1/members/"+m.ID+"/tier-history").want(200, &hist)
		if len(hist.Data) != 2 || *hist.Data[0].To != "gold" || hist.Data[0].Reason != "growth" {
			t.Fatalf("history %+v", hist.Data)
		}

		// Growth earned directly raises the tier too.
		direct := e.newMember(nil)
		e.post("/v1/members/"+direct.ID+"/points/earn", map[string]any{"points": 1200, "currency": "growth"}).want(201, nil)
		var rawd map[string]any
		e.get("/v1/members/"+direct.ID).want(200, &rawd)
		if rawd["tier"] != "gold" {
			t.Fatalf("growth earned over the API left the tier at %v", rawd["tier"])
		}

		// Buying an upgrade with points.
		buyer := e.newMember(nil)
		e.event(order(buyer.ID, "t-4", 10000)) // silver, 100 points
		e.post("/v1/members/"+buyer.ID+"/tier/upgrade", map[string]any{"to": "gold"}).wantProblem(422, "insufficient_points")
		e.post("/v1/members/"+buyer.ID+"/tier/upgrade", map[string]any{"to": "black"}).wantProblem(422, "validation_failed", "to")
		e.post("/v1/members/"+buyer.ID+"/tier/upgrade", map[string]any{"to": "nope"}).wantProblem(422, "validation_failed", "to")
		e.post("/v1/members/"+buyer.ID+"/points/earn", map[string]any{"points": 950}).want(201, nil)
		var up struct {
			From *string `json:"from"`
			To   *string `json:"to"`
		}
		e.post("/v1/members/"+buyer.ID+"/tier/upgrade", map[string]any{"to": "gold"}).want(200, &up)
		if *up.To != "gold" || *up.From != "silver" || e.balance(buyer.ID).Available != 50 {
			t.Fatalf("upgrade %+v, balance %+v", up, e.balance(buyer.ID))
		}
		e.post("/v1/members/"+buyer.ID+"/tier/upgrade", map[string]any{"to": "gold"}).wantProblem(409, "conflict")

		// A year later with no growth, the review lowers the member who
		// earned gold; the buyer keeps a bought tier for twelve months.
		e.clock.Advance(200 * 24 * time.Hour)
		var rev struct{ Reviewed, Lowered int64 }
		e.post("/v1/jobs/tier-review", nil).want(200, &rev)
		if rev.Lowered != 0 {
			t.Fatalf("lowered %d within twelve months", rev.Lowered)
		}
		e.clock.Advance(200 * 24 * time.Hour)
		e.post("/v1/jobs/tier-review", nil).want(200, &rev)
		if rev.Lowered != 3 {
			t.Fatalf("review %+v, want all three lowered", rev)
		}
		var got memberObj
		e.get("/v1/members/"+m.ID).want(200, &got)
		var raw map[string]any
		e.get("/v1/members/"+m.ID).want(200, &raw)
		if raw["tier"] != "silver" {
			t.Fatalf("after review tier %v", raw["tier"])
		}
		e.verify()
	})
}

func TestCheckin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		m := e.newMember(nil)
		e.post("/v1/members/"+m.ID+"/checkins", nil).wantProblem(409, "conflict") // not configured
		e.call(e.admin, "PUT", "/v1/checkin", map[string]any{"points": 5, "streak_bonuses": []any{map[string]any{"day": 3, "points": 20}}, "cycle_days": 4}).want(200, nil)
		e.call(e.admin, "PUT", "/v1/checkin", map[string]any{"points": -1, "streak_bonuses": []any{map[string]any{"day": 9, "points": 0}}, "cycle_days": 4}).
			wantProblem(422, "validation_failed", "points", "streak_bonuses[0].day", "streak_bonuses[0].points")
		type checkin struct {
			Date          string  `json:"date"`
			Streak        int64   `json:"streak"`
			Points        int64   `json:"points"`
			TransactionID *string `json:"transaction_id"`
		}
		e.clock.Set(time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)) // 23:00 on 1 March in Shanghai
		var streaks []int64
		var points []int64
		for day := 0; day < 6; day++ {
			var c checkin
			e.post("/v1/members/"+m.ID+"/checkins", nil).want(201, &c)
			streaks, points = append(streaks, c.Streak), append(points, c.Points)
			if day == 0 {
				if c.Date != "2026-03-01" || c.TransactionID == nil {
					t.Fatalf("first check-in %+v", c)
				}
				e.post("/v1/members/"+m.ID+"/checkins", nil).wantProblem(409, "conflict")
			}
			e.clock.Advance(24 * time.Hour)
		}
		// Days 1–4 of a 4-day cycle, bonus on day 3, then a new cycle.
		if fmt.Sprint(streaks) != "[1 2 3 4 1 2]" || fmt.Sprint(points) != "[5 5 25 5 5 5]" {
			t.Fatalf("streaks %v points %v", streaks, points)
		}
		e.clock.Advance(24 * time.Hour) // a missed day
		var c checkin
		e.post("/v1/members/"+m.ID+"/checkins", nil).want(201, &c)
		if c.Streak != 1 {
			t.Fatalf("after a missed day streak %d, want 1", c.Streak)
		}
		// Check-ins are events too: rules on member.checked_in apply.
		e.rule(map[string]any{"name": "checkin bonus", "event_type": "member.checked_in", "reward": map[string]any{"kind": "fixed", "points": 2}})
		e.clock.Advance(24 * time.Hour)
		before := e.balance(m.ID).Available
		e.post("/v1/members/"+m.ID+"/checkins", nil).want(201, nil)
		if got := e.balance(m.ID).Available - before; got != 7 {
			t.Fatalf("check-in with a rule earned %d, want 5 + 2", got)
		}
		e.verify()
	})
}

func TestTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.post("/v1/tasks", map[string]any{"name": "", "event_type": "content.shared", "target": 0, "period": "month", "reward": map[string]any{"points": 0}}).
			wantProblem(422, "validation_failed", "name", "target", "period", "reward.points")
		var task struct{ ID string }
		e.post("/v1/tasks", map[string]any{"name": "Share 3 times", "event_type": "content.shared", "target": 3, "period": "day",
			"reward": map[string]any{"points": 30}}).want(201, &task)
		var once struct{ ID string }
		e.post("/v1/tasks", map[string]any{"name": "Complete profile", "event_type": "profile.completed", "target": 1, "period": "once",
			"reward": map[string]any{"points": 100}}).want(201, &once)
		m := e.newMember(nil)
		share := func(i int) eventResult {
			return e.event(map[string]any{"id": fmt.Sprintf("share-%d", i), "type": "content.shared", "member": m.ID})
		}
		for i := 0; i < 2; i++ {
			if r := share(i); len(r.Tasks) != 0 {
				t.Fatalf("completed early: %+v", r.Tasks)
			}
		}
		var progress listObj[struct {
			TaskID      string     `json:"task_id"`
			Progress    int64      `json:"progress"`
			Target      int64      `json:"target"`
			CompletedAt *time.Time `json:"completed_at"`
		}]
		e.get("/v1/members/"+m.ID+"/tasks").want(200, &progress)
		if len(progress.Data) != 2 || progress.Data[0].TaskID != task.ID || progress.Data[0].Progress != 2 || progress.Data[0].CompletedAt != nil {
			t.Fatalf("progress %+v", progress.Data)
		}
		if r := share(2); len(r.Tasks) != 1 || r.Tasks[0].Points != 30 {
			t.Fatalf("third share: %+v", r.Tasks)
		}
		if r := share(3); len(r.Tasks) != 0 {
			t.Fatalf("a fourth share completed again: %+v", r.Tasks)
		}
		if e.balance(m.ID).Available != 30 {
			t.Fatalf("balance %+v", e.balance(m.ID))
		}
		e.clock.Advance(24 * time.Hour) // a new day, a new period
		for i := 4; i < 7; i++ {
			share(i)
		}
		if e.balance(m.ID).Available != 60 {
			t.Fatalf("after a second day: %+v", e.balance(m.ID))
		}
		for i := 0; i < 2; i++ {
			e.event(map[string]any{"id": fmt.Sprintf("profile-%d", i), "type": "profile.completed", "member": m.ID})
		}
		if e.balance(m.ID).Available != 160 {
			t.Fatalf("a once task paid twice: %+v", e.balance(m.ID))
		}
	})
}

func TestReferral(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.call(e.admin, "PUT", "/v1/referral", map[string]any{"inviter_points": 100, "invitee_points": 50, "on": "never"}).
			wantProblem(422, "validation_failed", "on")
		e.call(e.admin, "PUT", "/v1/referral", map[string]any{"inviter_points": 100, "invitee_points": 50, "on": "first_order", "max_per_inviter": 2}).want(200, nil)
		inviter := e.newMember(nil)
		e.post("/v1/members", map[string]any{"referral_code": "ZZZZZZZZ"}).wantProblem(422, "validation_failed", "referral_code")
		var invitees []memberObj
		for i := 0; i < 3; i++ {
			invitees = append(invitees, e.newMember(map[string]any{"referral_code": inviter.ReferralCode}))
		}
		if e.balance(inviter.ID).Available != 0 || e.balance(invitees[0].ID).Available != 0 {
			t.Fatal("rewarded on join although the program rewards first orders")
		}
		for i, inv := range invitees {
			e.event(order(inv.ID, fmt.Sprintf("ref-o-%d", i), 100))
			e.event(order(inv.ID, fmt.Sprintf("ref-o2-%d", i), 100)) // a second order pays nothing more
		}
		if got := e.balance(inviter.ID).Available; got != 200 {
			t.Fatalf("inviter got %d, want 2 × 100 (max_per_inviter 2)", got)
		}
		if e.balance(invitees[0].ID).Available != 50 || e.balance(invitees[2].ID).Available != 0 {
			t.Fatalf("invitees got %d and %d", e.balance(invitees[0].ID).Available, e.balance(invitees[2].ID).Available)
		}
		var refs listObj[struct {
			Status string `json:"status"`
		}]
		e.get("/v1/members/"+inviter.ID+"/referrals").want(200, &refs)
		if len(refs.Data) != 3 {
			t.Fatalf("referrals %+v", refs.Data)
		}

		// On join: rewarded at once. Late binding refuses self-referral and cycles.
		e.call(e.admin, "PUT", "/v1/referral", map[string]any{"inviter_points": 10, "invitee_points": 5, "on": "join"}).want(200, nil)
		a := e.newMember(nil)
		bm := e.newMember(map[string]any{"referral_code": a.ReferralCode})
		if e.balance(a.ID).Available != 10 || e.balance(bm.ID).Available != 5 {
			t.Fatalf("join rewards %d / %d", e.balance(a.ID).Available, e.balance(bm.ID).Available)
		}
		e.patch("/v1/members/"+a.ID, map[string]any{"referral_code": a.ReferralCode}).wantProblem(422, "validation_failed", "referral_code")
		e.patch("/v1/members/"+a.ID, map[string]any{"referral_code": bm.ReferralCode}).wantProblem(422, "validation_failed", "referral_code")
		c := e.newMember(nil)
		var late memberObj
		e.patch("/v1/members/"+c.ID, map[string]any{"referral_code": bm.ReferralCode}).want(200, &late)
		if late.ReferredBy == nil || *late.ReferredBy != bm.ID || e.balance(c.ID).Available != 5 {
			t.Fatalf("late referral %+v, balance %+v", late, e.balance(c.ID))
		}
		e.patch("/v1/members/"+c.ID, map[string]any{"referral_code": a.ReferralCode}).wantProblem(409, "conflict")
		e.verify()
	})
}

func TestBirthdays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.rule(map[string]any{"name": "birthday gift", "event_type": "member.birthday", "reward": map[string]any{"kind": "fixed", "points": 88}})
		today := e.newMember(map[string]any{"birthday": "1990-03-01"})
		leap := e.newMember(map[string]any{"birthday": "2000-02-29"})
		other := e.newMember(map[string]any{"birthday": "1990-03-02"})
		e.clock.Set(time.Date(2026, 2, 28, 16, 30, 0, 0, time.UTC)) // 00:30 on 1 March in Shanghai
		var res struct{ Members, Events int64 }
		e.post("/v1/jobs/birthdays", nil).want(200, &res)
		if res.Events != 1 || e.balance(today.ID).Available != 88 || e.balance(other.ID).Available != 0 {
			t.Fatalf("birthday run %+v", res)
		}
		e.post("/v1/jobs/birthdays", nil).want(200, &res) // once a year, however often it runs
		if res.Events != 0 || e.balance(today.ID).Available != 88 {
			t.Fatalf("second run %+v", res)
		}
		e.clock.Set(time.Date(2026, 2, 28, 4, 0, 0, 0, time.UTC)) // 28 February 2026 (not a leap year)
		e.post("/v1/jobs/birthdays", nil).want(200, &res)
		if e.balance(leap.ID).Available != 88 {
			t.Fatalf("29 February birthday not celebrated on the 28th: %+v", res)
		}
	})
}

// Referral abuse (薅羊毛): a tiny first order pays nothing, the rewards of
// a qualifying order stay pending for the return window and are clawed
// back when that order is refunded in full; the event response and its
// simulation show them with their source and member.
func TestReferralQualifyingOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.call(e.admin, "PUT", "/v1/referral", map[string]any{"inviter_points": 100, "invitee_points": 50, "on": "first_order",
			"min_order_amount": -1, "pending_days": 400}).wantProblem(422, "validation_failed", "min_order_amount", "pending_days")
		e.call(e.admin, "PUT", "/v1/referral", map[string]any{"inviter_points": 100, "invitee_points": 50, "on": "first_order",
			"min_order_amount": 5000, "pending_days": 7}).want(200, nil)
		e.rule(map[string]any{"name": "1 per yuan", "event_type": "order.paid", "reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1}})
		inviter := e.newMember(nil)
		invitee := e.newMember(map[string]any{"referral_code": inviter.ReferralCode})

		// A 1-yuan order earns its rule points and no referral reward.
		r := e.event(order(invitee.ID, "tiny", 100))
		if len(r.Awards) != 1 || r.Awards[0].Source != "rule" || r.Awards[0].MemberID != invitee.ID || r.Awards[0].Points != 1 {
			t.Fatalf("tiny order awards %+v", r.Awards)
		}
		if got := e.balance(inviter.ID); got.Available+got.Pending != 0 {
			t.Fatalf("a 1-yuan order paid the inviter: %+v", got)
		}

		// The simulation of a qualifying order shows every award it would make.
		var sim eventResult
		e.post("/v1/events/simulate", order(invitee.ID, "big", 10000)).want(200, &sim)
		bySource := func(r eventResult) map[string]int64 {
			out := map[string]int64{}
			for _, a := range r.Awards {
				out[a.Source+":"+a.MemberID] += a.Points
			}
			return out
		}
		want := map[string]int64{"rule:" + invitee.ID: 100, "referral:" + invitee.ID: 50, "referral:" + inviter.ID: 100}
		if got := bySource(sim); !maps.Equal(got, want) {
			t.Fatalf("simulated awards %v, want %v", got, want)
		}
		r = e.event(order(invitee.ID, "big", 10000))
		if got := bySource(r); !maps.Equal(got, want) {
			t.Fatalf("event awards %v, want %v", got, want)
		}
		if got := e.balance(inviter.ID); got.Pending != 100 || got.Available != 0 {
			t.Fatalf("inviter's reward is not pending for the return window: %+v", got)
		}
		// A partial refund keeps the referral; the full refund claws it back.
		r = e.event(map[string]any{"id": "refund-1", "type": "order.refunded", "member": invitee.ID,
			"data": map[string]any{"order_id": "big", "amount": 4000}})
		if got := bySource(r); got["referral:"+inviter.ID] != 0 || got["rule:"+invitee.ID] != -40 {
			t.Fatalf("partial refund awards %v", got)
		}
		r = e.event(map[string]any{"id": "refund-2", "type": "order.refunded", "member": invitee.ID,
			"data": map[string]any{"order_id": "big"}})
		want = map[string]int64{"rule:" + invitee.ID: -60, "referral:" + invitee.ID: -50, "referral:" + inviter.ID: -100}
		if got := bySource(r); !maps.Equal(got, want) {
			t.Fatalf("full refund awards %v, want %v", got, want)
		}
		if got := e.balance(inviter.ID); got.Pending != 0 || got.Available != 0 {
			t.Fatalf("inviter keeps a refunded referral: %+v", got)
		}
		if got := e.balance(invitee.ID); got.Pending != 0 || got.Available != 1 {
			t.Fatalf("invitee keeps a refunded referral: %+v", got)
		}
		var refs listObj[struct {
			Status string `json:"status"`
		}]
		e.get("/v1/members/"+inviter.ID+"/referrals").want(200, &refs)
		if len(refs.Data) != 1 || refs.Data[0].Status != "reversed" {
			t.Fatalf("referral after the refund %+v", refs.Data)
		}
		e.verify()
	})
}
