package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

type summaryObj struct {
	From           string  `json:"from"`
	To             string  `json:"to"`
	Currency       string  `json:"currency"`
	Issued         int64   `json:"issued"`
	Spent          int64   `json:"spent"`
	Expired        int64   `json:"expired"`
	Reversed       int64   `json:"reversed"`
	Adjusted       int64   `json:"adjusted"`
	Outstanding    int64   `json:"outstanding"`
	LiabilityFen   *int64  `json:"liability_fen"`
	RedemptionRate *string `json:"redemption_rate"`
	BreakageRate   *string `json:"breakage_rate"`
	MembersTotal   int64   `json:"members_total"`
	MembersNew     int64   `json:"members_new"`
	MembersActive  int64   `json:"members_active"`
}

type dayObj struct {
	Date          string `json:"date"`
	Issued        int64  `json:"issued"`
	Spent         int64  `json:"spent"`
	Expired       int64  `json:"expired"`
	Reversed      int64  `json:"reversed"`
	MembersNew    int64  `json:"members_new"`
	MembersActive int64  `json:"members_active"`
}

// expect is the test's own bookkeeping of what it did, per day and per
// merchant ("" the whole programme), independent of the server's SQL.
type expect struct {
	days   []string
	byDay  map[string]*dayObj
	byMer  map[string]*summaryObj // issued, spent, expired, reversed per merchant
	total  summaryObj
	active map[string]map[string]bool // day → members active
	outAt  map[string]int64           // outstanding at the end of a day
}

func (x *expect) day(d string) *dayObj {
	if x.byDay[d] == nil {
		x.byDay[d] = &dayObj{Date: d}
		x.days = append(x.days, d)
		x.active[d] = map[string]bool{}
	}
	return x.byDay[d]
}

func (x *expect) mer(m string) *summaryObj {
	if x.byMer[m] == nil {
		x.byMer[m] = &summaryObj{}
	}
	return x.byMer[m]
}

// A seeded random week of earns (some pending, some expiring), spends,
// holds and captures, reversals both ways, adjustments and an expiry run,
// at two merchants and the programme: every figure of the summary and of
// each day equals what the test itself counted; CSV as specified.
func TestReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b) // Asia/Shanghai, 100 points per yuan; the clock starts at 10:00 local on 1 March 2026
		rng := rand.New(rand.NewPCG(7, 14))
		var ma, mb struct{ ID string }
		e.post("/v1/merchants", map[string]any{"name": "A"}).want(201, &ma)
		e.post("/v1/merchants", map[string]any{"name": "B"}).want(201, &mb)
		mers := []string{"", ma.ID, mb.ID}
		x := &expect{byDay: map[string]*dayObj{}, byMer: map[string]*summaryObj{}, active: map[string]map[string]bool{}, outAt: map[string]int64{}}
		var outstanding int64
		local := func() string { return e.clock.Now().In(shanghai).Format(time.DateOnly) }
		touch := func(m string) { x.active[local()][m] = true }
		type earned struct {
			txn, member, merchant string
			points                int64
		}
		var members []string
		var earns, spends []earned
		balance := map[string]int64{}
		for dayN := 0; dayN < 6; dayN++ {
			d := x.day(local())
			// New members.
			for range 2 {
				m := e.newMember(nil).ID
				members = append(members, m)
				d.MembersNew++
				x.total.MembersNew++
			}
			for range 12 {
				m := members[rng.IntN(len(members))]
				mer := mers[rng.IntN(len(mers))]
				switch op := rng.IntN(7); {
				case op <= 2: // earn, a third of them pending for two days
					p := int64(10 + rng.IntN(500))
					body := map[string]any{"points": p, "merchant_id": mer}
					if op == 2 {
						body["available_at"] = e.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
					}
					var txn txnObj
					e.post("/v1/members/"+m+"/points/earn", body).want(201, &txn)
					d.Issued += p
					x.mer(mer).Issued += p
					outstanding += p
					if op != 2 {
						balance[m] += p
						earns = append(earns, earned{txn.ID, m, mer, p})
					}
					touch(m)
				case op == 3 && balance[m] > 20: // spend
					p := 1 + rng.Int64N(balance[m]/2)
					var txn txnObj
					e.post("/v1/members/"+m+"/points/spend", map[string]any{"points": p, "merchant_id": mer}).want(201, &txn)
					d.Spent += p
					x.mer(mer).Spent += p
					balance[m] -= p
					outstanding -= p
					spends = append(spends, earned{txn.ID, m, mer, p})
					touch(m)
				case op == 4 && balance[m] > 20: // hold, capture part
					h := 2 + rng.Int64N(balance[m]/2)
					c := 1 + rng.Int64N(h-1)
					var hold struct{ ID string }
					e.post("/v1/members/"+m+"/holds", map[string]any{"points": h, "merchant_id": mer}).want(201, &hold)
					e.post("/v1/holds/"+hold.ID+"/capture", map[string]any{"points": c}).want(200, nil)
					d.Spent += c
					x.mer(mer).Spent += c
					balance[m] -= c
					outstanding -= c
					touch(m)
				case op == 5 && len(spends) > 0: // refund part of a spend
					s := &spends[rng.IntN(len(spends))]
					if s.points < 2 {
						continue
					}
					r := 1 + rng.Int64N(s.points/2)
					e.post("/v1/transactions/"+s.txn+"/reverse", map[string]any{"points": r, "reason": "refund"}).want(201, nil)
					s.points -= r
					d.Spent -= r
					x.mer(s.merchant).Spent -= r
					balance[s.member] += r
					outstanding += r
					touch(s.member)
				case op == 6 && len(earns) > 0: // claw back part of an earn still there
					en := &earns[rng.IntN(len(earns))]
					r := min(en.points, balance[en.member]) / 3
					if r < 1 {
						continue
					}
					e.post("/v1/transactions/"+en.txn+"/reverse", map[string]any{"points": r, "reason": "fraud"}).want(201, nil)
					en.points -= r
					d.Reversed += r
					x.mer(en.merchant).Reversed += r
					balance[en.member] -= r
					outstanding -= r
					touch(en.member)
				}
			}
			// Adjustments (the programme's own) and, on day 2, points that
			// expire on day 4 for a member who never spends.
			m := members[rng.IntN(len(members))]
			e.post("/v1/members/"+m+"/points/adjust", map[string]any{"points": 7, "reason": "goodwill"}).want(201, nil)
			x.total.Adjusted += 7
			balance[m] += 7
			outstanding += 7
			touch(m)
			if dayN == 2 {
				keeper := e.newMember(nil).ID
				d.MembersNew++
				x.total.MembersNew++
				e.post("/v1/members/"+keeper+"/points/earn", map[string]any{"points": 321, "merchant_id": mb.ID,
					"expires_at": e.clock.Now().Add(36 * time.Hour).Format(time.RFC3339)}).want(201, nil)
				d.Issued += 321
				x.mer(mb.ID).Issued += 321
				outstanding += 321
				touch(keeper)
			}
			if dayN == 4 {
				var res struct {
					Expired int64 `json:"points_expired"`
				}
				e.post("/v1/jobs/expire", map[string]any{}).want(200, &res)
				d.Expired += 321
				x.mer(mb.ID).Expired += 321
				outstanding -= 321
			}
			x.outAt[d.Date] = outstanding
			e.clock.Advance(24 * time.Hour)
		}
		first, last := x.days[0], x.days[len(x.days)-1]
		for _, d := range x.days {
			x.total.Issued += x.byDay[d].Issued
			x.total.Spent += x.byDay[d].Spent
			x.total.Expired += x.byDay[d].Expired
			x.total.Reversed += x.byDay[d].Reversed
			x.byDay[d].MembersActive = int64(len(x.active[d]))
		}
		all := map[string]bool{}
		for _, d := range x.days {
			for m := range x.active[d] {
				all[m] = true
			}
		}

		// The whole week.
		var got summaryObj
		e.get("/v1/reports/summary?from="+first+"&to="+last).want(200, &got)
		want := x.total
		want.From, want.To, want.Currency = first, last, "points"
		want.Outstanding = x.outAt[last]
		want.MembersTotal, want.MembersActive = int64(len(members))+1, int64(len(all))
		liability := want.Outstanding * 100 / 100
		want.LiabilityFen = &liability
		red, brk := fmt.Sprintf("%.4f", float64(want.Spent)/float64(want.Issued)), fmt.Sprintf("%.4f", float64(want.Expired)/float64(want.Issued))
		want.RedemptionRate, want.BreakageRate = &red, &brk
		if got.RedemptionRate == nil || got.BreakageRate == nil || got.LiabilityFen == nil ||
			*got.RedemptionRate != red || *got.BreakageRate != brk || *got.LiabilityFen != liability {
			t.Fatalf("summary rates and liability %v %v %v, want %s %s %d", got.RedemptionRate, got.BreakageRate, got.LiabilityFen, red, brk, liability)
		}
		got.RedemptionRate, got.BreakageRate, got.LiabilityFen = nil, nil, nil
		want.RedemptionRate, want.BreakageRate, want.LiabilityFen = nil, nil, nil
		if got != want {
			t.Fatalf("summary\n got  %+v\n want %+v", got, want)
		}

		// Each day, and the summary of a day in the middle (its outstanding
		// is as it was that evening).
		var days listObj[dayObj]
		e.get("/v1/reports/daily?from="+first+"&to="+last).want(200, &days)
		if len(days.Data) != len(x.days) {
			t.Fatalf("%d days, want %d", len(days.Data), len(x.days))
		}
		for i, d := range days.Data {
			if w := *x.byDay[x.days[i]]; d != w {
				t.Errorf("day %s\n got  %+v\n want %+v", x.days[i], d, w)
			}
		}
		mid := x.days[2]
		e.get("/v1/reports/summary?from="+mid+"&to="+mid).want(200, &got)
		if got.Outstanding != x.outAt[mid] || got.Issued != x.byDay[mid].Issued {
			t.Fatalf("summary of %s: %+v; want outstanding %d, issued %d", mid, got, x.outAt[mid], x.byDay[mid].Issued)
		}

		// Per merchant: issued, expired and reversed by issuer, spent where.
		for _, mer := range []string{ma.ID, mb.ID} {
			e.get("/v1/reports/summary?from="+first+"&to="+last+"&merchant_id="+mer).want(200, &got)
			w := x.mer(mer)
			if got.Issued != w.Issued || got.Spent != w.Spent || got.Expired != w.Expired || got.Reversed != w.Reversed || got.Adjusted != 0 {
				t.Errorf("merchant %s: got %+v, want %+v", mer, got, *w)
			}
		}
		// A merchant key is held to its own.
		ka := e.key("merchant", ma.ID)
		e.call(ka, "GET", "/v1/reports/summary?from="+first+"&to="+last, nil).want(200, &got)
		if got.Issued != x.mer(ma.ID).Issued {
			t.Errorf("merchant key's summary: issued %d, want its own %d", got.Issued, x.mer(ma.ID).Issued)
		}
		e.call(ka, "GET", "/v1/reports/summary?merchant_id="+mb.ID, nil).wantProblem(403, "forbidden")

		// Quiet days are rows of zeros; bad periods are refused.
		after := e.clock.Now().AddDate(0, 0, 2).In(shanghai).Format(time.DateOnly)
		e.get("/v1/reports/daily?from="+last+"&to="+after).want(200, &days)
		if len(days.Data) != 4 || days.Data[3] != (dayObj{Date: after}) {
			t.Fatalf("quiet days %+v", days.Data)
		}
		e.get("/v1/reports/summary?from=2026-03-10&to=2026-03-01").wantProblem(422, "validation_failed", "to")
		e.get("/v1/reports/summary?from=2025-01-01&to=2026-03-01").wantProblem(422, "validation_failed", "to")
		e.get("/v1/reports/summary?from=1%20March").wantProblem(422, "validation_failed", "from")
		e.get("/v1/reports/summary?currency=gold").wantProblem(422, "validation_failed", "currency")

		// CSV: BOM, the JSON names as the header, CRLF, quoting.
		r := e.call(e.admin, "GET", "/v1/reports/daily?from="+first+"&to="+last, nil, "Accept", "text/csv")
		if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="daily_`+first+`_`+last+`.csv"` {
			t.Fatalf("Content-Disposition %q", cd)
		}
		if !bytes.HasPrefix(r.Body, []byte("\ufeffdate,issued,spent,expired,reversed,members_new,members_active\r\n")) ||
			bytes.Count(r.Body, []byte("\r\n")) != len(x.days)+1 {
			t.Fatalf("CSV %q", r.Body)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
		if err != nil || recs[1][0] != first || recs[1][1] != fmt.Sprint(x.byDay[first].Issued) {
			t.Fatalf("CSV rows %v %v", recs, err)
		}
		r = e.call(e.admin, "GET", "/v1/reports/summary?format=csv&from="+first+"&to="+last, nil)
		lines := strings.Split(strings.TrimPrefix(string(r.Body), "\ufeff"), "\r\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "from,to,currency,issued,") || !strings.HasPrefix(lines[1], first+","+last+",points,") {
			t.Fatalf("summary CSV %q", r.Body)
		}
		e.verify()
	})
}

// The breakdowns: awards by rule, members and points by tier, redemptions
// by reward, coupons by template.
func TestReportBreakdowns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.call(e.admin, "PUT", "/v1/tiers", tiersBody).want(200, nil)
		rule := e.rule(map[string]any{"name": "1 per yuan", "event_type": "order.paid",
			"reward": map[string]any{"kind": "per_amount", "per": 100, "points": 1}})
		m1, m2 := e.newMember(nil), e.newMember(nil)
		e.event(order(m1.ID, "b-1", 50000))
		e.event(order(m2.ID, "b-2", 20000))
		e.post("/v1/events", map[string]any{"id": "b-r", "type": "order.refunded", "member": m1.ID,
			"data": map[string]any{"order_id": "b-1", "amount": 10000}}).want(201, nil)
		e.post("/v1/members/"+m1.ID+"/points/earn", map[string]any{"points": 1000, "currency": "growth"}).want(201, nil) // gold
		mug := e.reward(map[string]any{"name": "Mug", "type": "physical", "points_price": 100, "stock": 10})
		var r1 redemptionObj
		e.post("/v1/redemptions", map[string]any{"member": m1.ID, "reward_id": mug.ID}).want(201, &r1)
		e.post("/v1/redemptions", map[string]any{"member": m1.ID, "reward_id": mug.ID}).want(201, nil)
		e.post("/v1/redemptions/"+r1.ID+"/cancel", nil).want(200, nil)
		var tpl struct{ ID string }
		e.post("/v1/coupon-templates", map[string]any{"name": "3 off", "kind": "amount_off", "value": 300}).want(201, &tpl)
		var c1 struct{ Code string }
		e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": m1.ID}).want(201, &c1)
		e.post("/v1/coupon-templates/"+tpl.ID+"/claim", map[string]any{"member": m2.ID}).want(201, nil)
		e.post("/v1/coupons/"+c1.Code+"/redeem", map[string]any{"member": m1.ID, "order_amount": 10000, "reference": "b-3"}).want(200, nil)

		var rules listObj[map[string]any]
		e.get("/v1/reports/rules").want(200, &rules)
		if len(rules.Data) != 1 || fmt.Sprint(rules.Data[0]) != fmt.Sprint(map[string]any{"rule_id": rule.ID, "name": "1 per yuan",
			"awards": 2.0, "members": 2.0, "points": 700.0, "reversed": 100.0}) {
			t.Fatalf("rules report %v", rules.Data)
		}
		var tiers listObj[map[string]any]
		e.get("/v1/reports/tiers").want(200, &tiers)
		want := []map[string]any{
			{"tier": "silver", "members": 1.0, "issued": 200.0, "spent": 0.0},
			{"tier": "gold", "members": 1.0, "issued": 500.0, "spent": 100.0},
			{"tier": "black", "members": 0.0, "issued": 0.0, "spent": 0.0},
		}
		if fmt.Sprint(tiers.Data) != fmt.Sprint(want) {
			t.Fatalf("tiers report %v, want %v", tiers.Data, want)
		}
		var rewards listObj[map[string]any]
		e.get("/v1/reports/rewards").want(200, &rewards)
		if fmt.Sprint(rewards.Data) != fmt.Sprint([]map[string]any{{"reward_id": mug.ID, "name": "Mug", "redemptions": 2.0,
			"quantity": 1.0, "points": 100.0, "cash_fen": 0.0, "cancelled": 1.0}}) {
			t.Fatalf("rewards report %v", rewards.Data)
		}
		var coupons listObj[map[string]any]
		e.get("/v1/reports/coupons").want(200, &coupons)
		if fmt.Sprint(coupons.Data) != fmt.Sprint([]map[string]any{{"template_id": tpl.ID, "name": "3 off", "issued": 2.0,
			"redeemed": 1.0, "expired": 0.0, "discount_fen": 300.0, "redemption_rate": "0.5000"}}) {
			t.Fatalf("coupons report %v", coupons.Data)
		}
		r := e.call(e.admin, "GET", "/v1/reports/coupons?format=csv", nil)
		if !strings.Contains(string(r.Body), "template_id,name,issued,redeemed,expired,discount_fen,redemption_rate\r\n"+
			tpl.ID+",3 off,2,1,0,300,0.5000\r\n") || !strings.Contains(r.Header.Get("Content-Disposition"), `filename="coupons_`) {
			t.Fatalf("coupons CSV %q %v", r.Body, r.Header)
		}
	})
}
