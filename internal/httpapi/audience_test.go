package httpapi_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

type statsObj struct {
	Orders         int64      `json:"orders"`
	Spend          int64      `json:"spend"`
	Refunds        int64      `json:"refunds"`
	Refunded       int64      `json:"refunded"`
	FirstOrderAt   *time.Time `json:"first_order_at"`
	LastOrderAt    *time.Time `json:"last_order_at"`
	LastActivityAt *time.Time `json:"last_activity_at"`
	TopCategories  []struct {
		Category string `json:"category"`
		Score    int64  `json:"score"`
	} `json:"top_categories"`
	RFM *struct {
		R, F, M int64
		Cell    string `json:"cell"`
	} `json:"rfm"`
	Lifecycle string `json:"lifecycle"`
}

func (e *env) order(ext, id string, amount int64, items ...map[string]any) {
	e.t.Helper()
	data := map[string]any{"order_id": id, "amount": amount}
	if len(items) > 0 {
		data["items"] = items
	}
	e.post("/v1/events", map[string]any{"id": "evt-" + id, "type": "order.paid", "member": "ext:" + ext, "data": data}).want(201, nil)
}

func (e *env) stats(ext string) statsObj {
	e.t.Helper()
	var s statsObj
	e.get("/v1/members/ext:"+ext+"/stats").want(200, &s)
	return s
}

// Statistics against a hand-computed fixture: two orders with items, a
// partial refund, decay after one half-life, and a merge that adds up.
func TestMemberStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.newMember(map[string]any{"external_id": "a"})
		e.newMember(map[string]any{"external_id": "b"})
		s := e.stats("a")
		if s.Orders != 0 || s.LastOrderAt != nil || s.RFM != nil || s.Lifecycle != "new" || len(s.TopCategories) != 0 {
			t.Fatalf("a new member's stats: %+v", s)
		}
		t0 := e.clock.Now()
		e.order("a", "o1", 10000, map[string]any{"sku": "x", "category": "tea", "quantity": 1, "amount": 6000},
			map[string]any{"sku": "y", "category": "cake", "quantity": 1, "amount": 4000})
		e.clock.Advance(time.Hour)
		e.order("a", "o2", 5000, map[string]any{"sku": "x", "category": "tea", "quantity": 1, "amount": 5000})
		e.clock.Advance(time.Hour)
		e.post("/v1/events", map[string]any{"id": "r1", "type": "order.refunded", "member": "ext:a",
			"data": map[string]any{"order_id": "o1", "amount": 2000}}).want(201, nil)
		s = e.stats("a")
		if s.Orders != 2 || s.Spend != 15000 || s.Refunds != 1 || s.Refunded != 2000 {
			t.Fatalf("stats %+v, want 2 orders, 15000 spend, 1 refund of 2000", s)
		}
		if !s.FirstOrderAt.Equal(t0) || !s.LastOrderAt.Equal(t0.Add(time.Hour)) || !s.LastActivityAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("times %v %v %v, from %v", s.FirstOrderAt, s.LastOrderAt, s.LastActivityAt, t0)
		}
		// Read two hours after the first order: tea 6000 decayed two hours
		// plus 5000 decayed one, cake 4000 decayed two (half-life 90 days).
		decay := func(v float64, h float64) float64 { return v * math.Exp2(-h/(90*24)) }
		if len(s.TopCategories) != 2 || s.TopCategories[0].Category != "tea" ||
			s.TopCategories[0].Score != int64(math.Round(decay(6000, 2)+decay(5000, 1))) || s.TopCategories[0].Score != 10995 ||
			s.TopCategories[1].Category != "cake" || s.TopCategories[1].Score != 3997 {
			t.Fatalf("top categories %+v", s.TopCategories)
		}
		// One half-life (90 days) after the first order the scores are
		// about halved.
		e.clock.Advance(90*24*time.Hour - 2*time.Hour)
		s = e.stats("a")
		if s.TopCategories[0].Score != int64(math.Round(3000+decay(2500, -1))) || s.TopCategories[1].Score != 2000 {
			t.Fatalf("after a half-life: %+v", s.TopCategories)
		}
		// An earn is activity too.
		e.post("/v1/members/ext:b/points/earn", map[string]any{"points": 10}).want(201, nil)
		if sb := e.stats("b"); sb.LastActivityAt == nil || !sb.LastActivityAt.Equal(e.clock.Now()) {
			t.Fatalf("b's last activity %v, want %v", sb.LastActivityAt, e.clock.Now())
		}
		e.order("b", "o3", 3000, map[string]any{"sku": "z", "category": "tea", "quantity": 1, "amount": 3000})
		// Merge b into a: the stats add up.
		e.post("/v1/members/ext:a/merge", map[string]any{"source": "ext:b"}).want(200, nil)
		s = e.stats("a")
		if s.Orders != 3 || s.Spend != 18000 || s.Refunds != 1 || s.Refunded != 2000 || s.TopCategories[0].Score != 8501 { // 3000 + 2500.8 + 3000
			t.Fatalf("after the merge: %+v", s)
		}
	})
}

// Lifecycle stages at the exact threshold days, in programme-local days
// (Asia/Shanghai): joined and ordered on local day D.
func TestLifecycleEdges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		sh, _ := time.LoadLocation("Asia/Shanghai")
		// 2026-03-01 02:00 UTC is 10:00 local on 2026-03-01.
		day := func(n int, hh, mm int) time.Time { return time.Date(2026, 3, 1+n, hh, mm, 0, 0, sh) }
		e.newMember(map[string]any{"external_id": "buyer"})
		e.newMember(map[string]any{"external_id": "zombie"})
		e.order("buyer", "o1", 100)
		counts := func() (c struct {
			New     int64 `json:"new"`
			Active  int64 `json:"active"`
			AtRisk  int64 `json:"at_risk"`
			Dormant int64 `json:"dormant"`
			Zombie  int64 `json:"zombie"`
		}) {
			e.get("/v1/audience/lifecycle").want(200, &c)
			return
		}
		for _, c := range []struct {
			at           time.Time
			buyer, other string
		}{
			{day(29, 23, 59), "new", "new"},
			{day(30, 0, 0), "active", "zombie"},
			{day(89, 23, 59), "active", "zombie"},
			{day(90, 0, 0), "at_risk", "zombie"},
			{day(179, 23, 59), "at_risk", "zombie"},
			{day(180, 0, 0), "dormant", "zombie"},
		} {
			e.clock.Set(c.at)
			if got := e.stats("buyer").Lifecycle; got != c.buyer {
				t.Errorf("%v: buyer %s, want %s", c.at, got, c.buyer)
			}
			if got := e.stats("zombie").Lifecycle; got != c.other {
				t.Errorf("%v: zombie %s, want %s", c.at, got, c.other)
			}
			n := counts()
			got := map[string]int64{"new": n.New, "active": n.Active, "at_risk": n.AtRisk, "dormant": n.Dormant, "zombie": n.Zombie}
			want := map[string]int64{}
			want[c.buyer]++
			want[c.other]++
			for k, v := range got {
				if v != want[k] {
					t.Errorf("%v: lifecycle counts %v, want %v", c.at, got, want)
					break
				}
			}
			// The same stage through a segment (translated to SQL).
			var p struct{ Size int64 }
			e.post("/v1/segments/preview", map[string]any{"condition": fmt.Sprintf(`stats.lifecycle == %q`, c.buyer)}).want(200, &p)
			if p.Size != want[c.buyer] {
				t.Errorf("%v: segment lifecycle == %s: %d, want %d", c.at, c.buyer, p.Size, want[c.buyer])
			}
		}
		// Settings move the thresholds.
		e.call(e.admin, "PUT", "/v1/audience/settings", map[string]any{"rfm_window_days": 365, "new_days": 1,
			"at_risk_days": 200, "dormant_days": 300, "category_half_life_days": 90}).want(200, nil)
		if got := e.stats("buyer").Lifecycle; got != "active" {
			t.Errorf("with at_risk_days 200: %s", got)
		}
		e.call(e.admin, "PUT", "/v1/audience/settings", map[string]any{"rfm_window_days": 365, "new_days": 1,
			"at_risk_days": 200, "dormant_days": 100, "category_half_life_days": 0}).wantProblem(422, "validation_failed",
			"dormant_days", "category_half_life_days")
	})
}

// RFM against a hand-computed fixture: member i (1–5) has i orders of
// 100·i fen, its last on day i, so R = F = M = i.
func TestRFM(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.newMember(map[string]any{"external_id": "none"})
		for i := 1; i <= 5; i++ {
			e.newMember(map[string]any{"external_id": fmt.Sprint("m", i)})
		}
		for i := 1; i <= 5; i++ {
			e.clock.Advance(24 * time.Hour)
			for k := 0; k < i; k++ {
				e.order(fmt.Sprint("m", i), fmt.Sprintf("o%d-%d", i, k), int64(100*i))
			}
		}
		var run struct {
			Members    int64     `json:"members"`
			ComputedAt time.Time `json:"computed_at"`
		}
		e.post("/v1/jobs/rfm", map[string]any{}).want(200, &run)
		if run.Members != 5 || !run.ComputedAt.Equal(e.clock.Now()) {
			t.Fatalf("rfm run %+v", run)
		}
		cells := []string{"", "hibernating", "slipping", "needs_attention", "champions", "champions"}
		for i := 1; i <= 5; i++ {
			s := e.stats(fmt.Sprint("m", i))
			if s.RFM == nil || s.RFM.R != int64(i) || s.RFM.F != int64(i) || s.RFM.M != int64(i) || s.RFM.Cell != cells[i] {
				t.Errorf("m%d: rfm %+v, want %d %d %d %s", i, s.RFM, i, i, i, cells[i])
			}
		}
		if s := e.stats("none"); s.RFM != nil {
			t.Errorf("a member without orders scored: %+v", s.RFM)
		}
		var g struct {
			Grid  []struct{ R, F, Members int64 }
			Cells []struct {
				Cell    string
				Members int64
			}
		}
		e.get("/v1/audience/rfm").want(200, &g)
		if len(g.Grid) != 25 {
			t.Fatalf("grid of %d squares", len(g.Grid))
		}
		for _, sq := range g.Grid {
			want := int64(0)
			if sq.R == sq.F {
				want = 1
			}
			if sq.Members != want {
				t.Errorf("square r=%d f=%d: %d members, want %d", sq.R, sq.F, sq.Members, want)
			}
		}
		for _, c := range g.Cells {
			want := map[string]int64{"hibernating": 1, "slipping": 1, "needs_attention": 1, "champions": 2}[c.Cell]
			if c.Members != want {
				t.Errorf("cell %s: %d, want %d", c.Cell, c.Members, want)
			}
		}
		// A refund of m5's whole spend makes its M the lowest (ties by ID).
		for k := 0; k < 5; k++ {
			e.post("/v1/events", map[string]any{"id": fmt.Sprint("rf", k), "type": "order.refunded", "member": "ext:m5",
				"data": map[string]any{"order_id": fmt.Sprintf("o5-%d", k)}}).want(201, nil)
		}
		e.post("/v1/jobs/rfm", map[string]any{}).want(200, nil)
		if s := e.stats("m5"); s.RFM == nil || s.RFM.M != 1 || s.RFM.Cell != "loyal" {
			t.Errorf("m5 after refunds: %+v", s.RFM)
		}
		// Outside the window nobody is scored.
		e.clock.Advance(400 * 24 * time.Hour)
		e.post("/v1/jobs/rfm", map[string]any{}).want(200, &run)
		if run.Members != 0 || e.stats("m4").RFM != nil {
			t.Errorf("window: %+v", run)
		}
	})
}

// Segments: CEL errors on condition, sizes through SQL and through CEL
// (attributes do not translate), members in ID order, paged.
func TestSegments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for i := 1; i <= 4; i++ {
			e.newMember(map[string]any{"external_id": fmt.Sprint("s", i), "tags": []string{fmt.Sprint("t", i%2)},
				"attributes": map[string]any{"n": i}})
			for k := 0; k < i; k++ {
				e.order(fmt.Sprint("s", i), fmt.Sprintf("so%d-%d", i, k), 1000)
			}
		}
		for _, bad := range []struct{ cond, msg string }{
			{`stats.nope > 1`, "undefined field 'nope'"},
			{`stats.orders`, "must return a bool"},
			{`stats.orders >`, "Syntax error"},
			{``, "must not be empty"},
		} {
			p := e.post("/v1/segments", map[string]any{"name": "bad", "condition": bad.cond}).wantProblem(422, "validation_failed", "condition")
			if !strings.Contains(fmt.Sprint(p.Errors), bad.msg) {
				t.Errorf("%q: %v, want %q", bad.cond, p.Errors, bad.msg)
			}
			e.post("/v1/segments/preview", map[string]any{"condition": bad.cond}).wantProblem(422, "validation_failed", "condition")
		}
		e.post("/v1/segments", map[string]any{"condition": "true"}).wantProblem(422, "validation_failed", "name")
		var seg struct{ ID, Name, Condition string }
		e.post("/v1/segments", map[string]any{"name": "regulars", "condition": `stats.orders >= 2 && "t0" in member.tags`}).want(201, &seg)
		if !strings.HasPrefix(seg.ID, "seg_") {
			t.Fatalf("segment id %q", seg.ID)
		}
		var size struct{ Size int64 }
		e.get("/v1/segments/"+seg.ID+"/size").want(200, &size)
		if size.Size != 2 { // s2 and s4
			t.Fatalf("size %d, want 2", size.Size)
		}
		var page struct {
			Data       []memberObj
			NextCursor *string `json:"next_cursor"`
		}
		e.get("/v1/segments/"+seg.ID+"/members?limit=1").want(200, &page)
		if len(page.Data) != 1 || *page.Data[0].ExternalID != "s2" || page.NextCursor == nil {
			t.Fatalf("first page %+v", page)
		}
		e.get("/v1/segments/"+seg.ID+"/members?limit=1&cursor="+*page.NextCursor).want(200, &page)
		if len(page.Data) != 1 || *page.Data[0].ExternalID != "s4" {
			t.Fatalf("second page %+v", page)
		}
		// Attributes are evaluated in Go, after the SQL part.
		e.patch("/v1/segments/"+seg.ID, map[string]any{"condition": `stats.orders >= 2 && member.attributes.n % 2 == 1`}).want(200, nil)
		e.get("/v1/segments/"+seg.ID+"/size").want(200, &size)
		if size.Size != 1 { // s3
			t.Fatalf("size by attributes %d, want 1", size.Size)
		}
		var pv struct {
			Size   int64
			Sample []memberObj
		}
		e.post("/v1/segments/preview", map[string]any{"condition": `stats.days_since_order == 0 && member.id != ""`}).want(200, &pv)
		if pv.Size != 4 || len(pv.Sample) != 4 {
			t.Fatalf("preview %+v", pv)
		}
		// Erased members are never included.
		e.post("/v1/members/ext:s1/erase", nil).want(200, nil)
		e.post("/v1/segments/preview", map[string]any{"condition": `true`}).want(200, &pv)
		if pv.Size != 3 {
			t.Fatalf("with one erased: %d", pv.Size)
		}
		e.call(e.admin, "DELETE", "/v1/segments/"+seg.ID, nil).want(204, nil)
		e.get("/v1/segments/"+seg.ID).wantProblem(404, "not_found")
	})
}

// Recommendations: only what the member may take (stock, window, per-member
// limit), best first, ties by ID, each with the largest part as reason.
func TestRecommendations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.newMember(map[string]any{"external_id": "r"})
		e.order("r", "ro1", 9000, map[string]any{"sku": "t", "category": "tea", "quantity": 1, "amount": 9000})
		e.post("/v1/members/ext:r/points/earn", map[string]any{"points": 1000}).want(201, nil)
		type obj struct{ ID string }
		var tea, cheap, pricey, gone, ended obj
		e.post("/v1/rewards", map[string]any{"name": "tea cup", "type": "physical", "points_price": 5000, "categories": []string{"tea"}}).want(201, &tea)
		e.post("/v1/rewards", map[string]any{"name": "sticker", "type": "physical", "points_price": 900}).want(201, &cheap)
		e.post("/v1/rewards", map[string]any{"name": "bike", "type": "physical", "points_price": 90000}).want(201, &pricey)
		e.post("/v1/rewards", map[string]any{"name": "sold out", "type": "physical", "points_price": 1, "stock": 0}).want(201, &gone)
		e.post("/v1/rewards", map[string]any{"name": "over", "type": "physical", "points_price": 1,
			"ends_at": e.clock.Now().Add(time.Hour).Format(time.RFC3339)}).want(201, &ended)
		e.clock.Advance(2 * time.Hour)
		var recs struct {
			Data []struct {
				Kind, ID, Name, Reason string
				PointsPrice            int64 `json:"points_price"`
				Score                  int64
			}
		}
		e.call(e.admin, "GET", "/v1/members/ext:r/recommendations?kind=reward", nil).want(200, &recs)
		var got []string
		for _, r := range recs.Data {
			got = append(got, r.Name+":"+r.Reason+":"+fmt.Sprint(r.Score))
		}
		// tea cup: affinity 40 (its category is the member's top), not
		// affordable; sticker: affordable 1 + 14·900/1000 = 13; bike: 0.
		want := []string{"tea cup:category_affinity:40", "sticker:affordable:13", "bike:category_affinity:0"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("recommendations %v, want %v", got, want)
		}
		e.call(e.admin, "GET", "/v1/members/ext:r/recommendations?limit=0", nil).wantProblem(422, "validation_failed", "limit")
		e.call(e.admin, "GET", "/v1/members/ext:r/recommendations?kind=x", nil).wantProblem(422, "validation_failed", "kind")
	})
}
