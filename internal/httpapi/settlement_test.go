package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/store/storetest"
)

type termsObj struct {
	MerchantID    string `json:"merchant_id"`
	PointValueFen string `json:"point_value_fen"`
	FeePercent    string `json:"fee_percent"`
	Breakage      string `json:"breakage"`
}

type lineObj struct {
	MerchantID         *string `json:"merchant_id"`
	Issued             int64   `json:"issued"`
	RedeemedAtSelf     int64   `json:"redeemed_at_self"`
	RedeemedByOthers   int64   `json:"redeemed_by_others"`
	RedeemedFromOthers int64   `json:"redeemed_from_others"`
	Expired            int64   `json:"expired"`
	PayableFen         int64   `json:"payable_fen"`
	ReceivableFen      int64   `json:"receivable_fen"`
	FeesFen            int64   `json:"fees_fen"`
	BreakageFen        int64   `json:"breakage_fen"`
	NetFen             int64   `json:"net_fen"`
}

type pairObj struct {
	Kind            string  `json:"kind"`
	PayerMerchantID *string `json:"payer_merchant_id"`
	PayeeMerchantID *string `json:"payee_merchant_id"`
	Points          int64   `json:"points"`
	AmountFen       int64   `json:"amount_fen"`
	FeeFen          int64   `json:"fee_fen"`
}

type statementObj struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Currency  string     `json:"currency"`
	From      time.Time  `json:"from"`
	To        time.Time  `json:"to"`
	Lines     []lineObj  `json:"lines"`
	Pairs     []pairObj  `json:"pairs"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at"`
}

func (s statementObj) line(t *testing.T, merchant string) lineObj {
	t.Helper()
	for _, l := range s.Lines {
		if (l.MerchantID == nil && merchant == "") || (l.MerchantID != nil && *l.MerchantID == merchant) {
			return l
		}
	}
	t.Fatalf("statement %s has no line for %q: %+v", s.ID, merchant, s.Lines)
	return lineObj{}
}

func (s statementObj) pair(t *testing.T, kind, payer, payee string) pairObj {
	t.Helper()
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for _, p := range s.Pairs {
		if p.Kind == kind && str(p.PayerMerchantID) == payer && str(p.PayeeMerchantID) == payee {
			return p
		}
	}
	t.Fatalf("statement %s has no %s pair %q → %q: %+v", s.ID, kind, payer, payee, s.Pairs)
	return pairObj{}
}

func (s statementObj) nets(t *testing.T) {
	t.Helper()
	var sum int64
	for _, l := range s.Lines {
		sum += l.NetFen
		if l.NetFen != l.ReceivableFen-l.PayableFen-l.FeesFen-l.BreakageFen {
			t.Errorf("line %v: net %d ≠ receivable − payable − fees − breakage", l.MerchantID, l.NetFen)
		}
	}
	if sum != 0 {
		t.Errorf("statement %s: nets sum to %d, want 0: %+v", s.ID, sum, s.Lines)
	}
}

// A café and a cinema in one alliance: the café's points spent at the
// cinema, the programme's at the café, the café's expiring under
// breakage: program. The statement's figures, its life (draft, close,
// delete, 409s), CSV, what a merchant key sees, and a reversal after the
// close landing in the next statement.
func TestSettlement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var cafe, cinema struct{ ID string }
		e.post("/v1/merchants", map[string]any{"name": "Café"}).want(201, &cafe)
		e.post("/v1/merchants", map[string]any{"name": "Cinema"}).want(201, &cinema)
		c, m := cafe.ID, cinema.ID
		keyC, keyM := e.key(auth.Merchant, c), e.key(auth.Merchant, m)

		// Terms: defaults, set, 422s, 403, 404.
		var tm termsObj
		e.get("/v1/merchants/"+c+"/settlement-terms").want(200, &tm)
		if tm != (termsObj{MerchantID: c, PointValueFen: "1", FeePercent: "0", Breakage: "issuer"}) {
			t.Fatalf("default terms: %+v", tm)
		}
		put := func(key, mer string, body any) resp {
			return e.call(key, "PUT", "/v1/merchants/"+mer+"/settlement-terms", body)
		}
		put(e.admin, c, map[string]any{"point_value_fen": "1.5", "fee_percent": "2", "breakage": "program"}).want(200, &tm)
		if tm != (termsObj{MerchantID: c, PointValueFen: "1.5", FeePercent: "2", Breakage: "program"}) {
			t.Fatalf("café's terms: %+v", tm)
		}
		put(e.admin, m, map[string]any{"point_value_fen": "0.8", "fee_percent": "5.00"}).want(200, &tm)
		e.get("/v1/merchants/"+m+"/settlement-terms").want(200, &tm)
		if tm != (termsObj{MerchantID: m, PointValueFen: "0.8", FeePercent: "5", Breakage: "issuer"}) {
			t.Fatalf("cinema's terms: %+v", tm)
		}
		put(e.admin, c, map[string]any{"point_value_fen": "1.2345678"}).wantProblem(422, "validation_failed", "point_value_fen")
		put(e.admin, c, map[string]any{"point_value_fen": "-1"}).wantProblem(422, "validation_failed", "point_value_fen")
		put(e.admin, c, map[string]any{"point_value_fen": 1}).wantProblem(422, "validation_failed", "point_value_fen")
		put(e.admin, c, map[string]any{"fee_percent": "100.5"}).wantProblem(422, "validation_failed", "fee_percent")
		put(e.admin, c, map[string]any{"breakage": "nobody"}).wantProblem(422, "validation_failed", "breakage")
		put(keyC, c, map[string]any{"fee_percent": "0"}).wantProblem(403, "forbidden")
		put(e.admin, "mer_nope", map[string]any{}).wantProblem(404, "not_found")
		e.call(keyM, "GET", "/v1/merchants/"+c+"/settlement-terms", nil).wantProblem(404, "not_found")
		e.call(keyC, "GET", "/v1/merchants/"+c+"/settlement-terms", nil).want(200, &tm)
		if tm.PointValueFen != "1.5" {
			t.Fatalf("café reads its terms: %+v", tm)
		}

		// Holds, redemptions and draws take merchant_id too; a merchant key
		// naming another merchant is refused and changes nothing.
		var lty, rwd struct{ ID string }
		e.post("/v1/lotteries", map[string]any{"name": "wheel", "cost_points": 1,
			"prizes": []any{map[string]any{"name": "p", "weight": 1}}, "fallback_prize": "thanks"}).want(201, &lty)
		e.post("/v1/rewards", map[string]any{"name": "mug", "type": "physical", "points_price": 1}).want(201, &rwd)
		probe := e.newMember(nil).ID
		e.call(keyC, "POST", "/v1/members/"+probe+"/holds", map[string]any{"points": 1, "merchant_id": m}).wantProblem(403, "forbidden")
		e.call(keyC, "POST", "/v1/lotteries/"+lty.ID+"/draws", map[string]any{"member": probe, "merchant_id": m}).wantProblem(403, "forbidden")
		e.call(keyC, "POST", "/v1/redemptions", map[string]any{"member": probe, "reward_id": rwd.ID, "merchant_id": m}).wantProblem(403, "forbidden")

		// The period's activity.
		ann, bob, cat := e.newMember(nil).ID, e.newMember(nil).ID, e.newMember(nil).ID
		e.call(keyC, "POST", "/v1/members/"+ann+"/points/earn", map[string]any{"points": 1000}).want(201, nil)
		var spend txnObj
		e.call(keyM, "POST", "/v1/members/"+ann+"/points/spend", map[string]any{"points": 300}).want(201, &spend)
		e.post("/v1/members/"+bob+"/points/earn", map[string]any{"points": 50}).want(201, nil)
		e.call(keyC, "POST", "/v1/members/"+bob+"/points/spend", map[string]any{"points": 50}).want(201, nil)
		soon := e.clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
		e.call(keyC, "POST", "/v1/members/"+cat+"/points/earn", map[string]any{"points": 101, "expires_at": soon}).want(201, nil)
		e.clock.Advance(48 * time.Hour)
		e.post("/v1/jobs/expire", map[string]any{}).want(200, nil)
		e.clock.Advance(time.Second) // to is excluded: the expiry's moves are before it

		// A draft: validation first.
		now := e.clock.Now()
		e.post("/v1/statements", map[string]any{}).wantProblem(422, "validation_failed", "to")
		e.post("/v1/statements", map[string]any{"to": "yesterday"}).wantProblem(422, "validation_failed", "to")
		e.post("/v1/statements", map[string]any{"to": now.Add(time.Hour).Format(time.RFC3339)}).wantProblem(422, "validation_failed", "to")
		e.post("/v1/statements", map[string]any{"to": now.AddDate(-1, 0, 0).Format(time.RFC3339)}).wantProblem(422, "validation_failed", "to")
		e.post("/v1/statements", map[string]any{"to": now.Format(time.RFC3339), "currency": "gold"}).wantProblem(422, "validation_failed", "currency")
		e.call(keyC, "POST", "/v1/statements", map[string]any{"to": now.Format(time.RFC3339)}).wantProblem(403, "forbidden")

		var st statementObj
		e.post("/v1/statements", map[string]any{"to": now.Format(time.RFC3339)}).want(201, &st)
		if !strings.HasPrefix(st.ID, "stm_") || st.Status != "draft" || st.Currency != "points" || st.ClosedAt != nil ||
			!st.To.Equal(now) || !st.From.Equal(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)) {
			t.Fatalf("draft: %+v", st)
		}
		e.post("/v1/statements", map[string]any{"to": now.Format(time.RFC3339)}).wantProblem(409, "conflict")

		check := func(st statementObj) {
			t.Helper()
			if len(st.Lines) != 3 || len(st.Pairs) != 3 {
				t.Fatalf("statement: %d lines, %d pairs: %+v", len(st.Lines), len(st.Pairs), st)
			}
			// The café's 300 points at the cinema: 300 × 1.5 = 450 fen, the
			// cinema's fee 5 % = 22.5 → 22.
			if p := st.pair(t, "redemption", c, m); p.Points != 300 || p.AmountFen != 450 || p.FeeFen != 22 {
				t.Errorf("café → cinema: %+v", p)
			}
			// The programme's 50 at the café: 50 × 1 = 50, fee 2 % = 1.
			if p := st.pair(t, "redemption", "", c); p.Points != 50 || p.AmountFen != 50 || p.FeeFen != 1 {
				t.Errorf("program → café: %+v", p)
			}
			// The café's 101 expired: 101 × 1.5 = 151.5 → 151, no fee.
			if p := st.pair(t, "breakage", c, ""); p.Points != 101 || p.AmountFen != 151 || p.FeeFen != 0 {
				t.Errorf("café's breakage: %+v", p)
			}
			want := map[string]lineObj{
				"": {Issued: 50, RedeemedByOthers: 50, PayableFen: 50, FeesFen: -23, BreakageFen: -151, NetFen: 124},
				c: {Issued: 1101, RedeemedByOthers: 300, RedeemedFromOthers: 50, Expired: 101, PayableFen: 450,
					ReceivableFen: 50, FeesFen: 1, BreakageFen: 151, NetFen: -552},
				m: {RedeemedFromOthers: 300, ReceivableFen: 450, FeesFen: 22, NetFen: 428},
			}
			for mer, w := range want {
				got := st.line(t, mer)
				got.MerchantID = nil
				if got != w {
					t.Errorf("line %q: %+v, want %+v", mer, got, w)
				}
			}
			st.nets(t)
		}
		check(st)
		var got statementObj
		e.get("/v1/statements/"+st.ID).want(200, &got)
		check(got)

		// What the cinema's key sees: its line and its pair.
		e.call(keyM, "GET", "/v1/statements/"+st.ID, nil).want(200, &got)
		if len(got.Lines) != 1 || *got.Lines[0].MerchantID != m || len(got.Pairs) != 1 || *got.Pairs[0].PayeeMerchantID != m {
			t.Fatalf("cinema's view: %+v", got)
		}
		var lst struct{ Data []statementObj }
		e.call(keyM, "GET", "/v1/statements", nil).want(200, &lst)
		if len(lst.Data) != 1 || len(lst.Data[0].Lines) != 1 || len(lst.Data[0].Pairs) != 1 {
			t.Fatalf("cinema's list: %+v", lst)
		}

		// CSV.
		r := e.get("/v1/statements/" + st.ID + "?format=csv")
		if r.Status != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("csv: %d %s", r.Status, r.Header)
		}
		rows := strings.Split(strings.TrimSuffix(string(r.Body), "\r\n"), "\r\n")
		if rows[0] != "\ufeffmerchant_id,issued,redeemed_at_self,redeemed_by_others,redeemed_from_others,expired,payable_fen,receivable_fen,fees_fen,breakage_fen,net_fen" ||
			len(rows) != 4 || rows[1] != ",50,0,50,0,0,50,0,-23,-151,124" {
			t.Fatalf("lines csv:\n%s", r.Body)
		}
		r = e.call(e.admin, "GET", "/v1/statements/"+st.ID+"?part=pairs", nil, "Accept", "text/csv")
		rows = strings.Split(strings.TrimSuffix(string(r.Body), "\r\n"), "\r\n")
		if rows[0] != "\ufeffkind,payer_merchant_id,payee_merchant_id,points,amount_fen,fee_fen" || len(rows) != 4 ||
			rows[1] != "breakage,"+c+",,101,151,0" {
			t.Fatalf("pairs csv:\n%s", r.Body)
		}
		if !strings.Contains(r.Header.Get("Content-Disposition"), st.ID) {
			t.Errorf("pairs csv: %s", r.Header.Get("Content-Disposition"))
		}

		e.get("/v1/statements/"+st.ID+"?format=csv&part=both").wantProblem(422, "validation_failed", "part")

		// Close: frozen; the terms changed afterwards do not move it.
		e.call(keyC, "POST", "/v1/statements/"+st.ID+"/close", nil).wantProblem(403, "forbidden")
		var closed statementObj
		e.post("/v1/statements/"+st.ID+"/close", nil).want(200, &closed)
		if closed.Status != "closed" || closed.ClosedAt == nil {
			t.Fatalf("closed: %+v", closed)
		}
		check(closed)
		put(e.admin, m, map[string]any{"point_value_fen": "9", "fee_percent": "50"}).want(200, nil)
		e.get("/v1/statements/"+st.ID).want(200, &got)
		check(got)
		e.post("/v1/statements/"+st.ID+"/close", nil).wantProblem(409, "conflict")
		e.call(e.admin, "DELETE", "/v1/statements/"+st.ID, nil).wantProblem(409, "conflict")
		e.get("/v1/statements/stm_nope").wantProblem(404, "not_found")

		// A reversal after the close lands in the next statement, which
		// starts where this one ended.
		e.call(keyM, "POST", "/v1/transactions/"+spend.ID+"/reverse", map[string]any{"points": 100}).want(201, nil)
		e.clock.Advance(time.Hour)
		var next statementObj
		e.post("/v1/statements", map[string]any{"to": e.clock.Now().Format(time.RFC3339)}).want(201, &next)
		if !next.From.Equal(now) {
			t.Fatalf("next from %s, want %s", next.From, now)
		}
		// −100 points × 1.5 = −150 fen back to the café, and the cinema's
		// fee now 50 %: −75.
		if p := next.pair(t, "redemption", c, m); p.Points != -100 || p.AmountFen != -150 || p.FeeFen != -75 || len(next.Pairs) != 1 {
			t.Fatalf("next statement's pairs: %+v", next.Pairs)
		}
		next.nets(t)
		e.call(keyC, "DELETE", "/v1/statements/"+next.ID, nil).wantProblem(403, "forbidden")
		e.call(e.admin, "DELETE", "/v1/statements/"+next.ID, nil).want(204, nil)
		e.get("/v1/statements/"+next.ID).wantProblem(404, "not_found")
		e.post("/v1/statements", map[string]any{"to": e.clock.Now().Format(time.RFC3339)}).want(201, &next)
		e.post("/v1/statements/"+next.ID+"/close", nil).want(200, &next)
		if len(next.Pairs) != 1 || next.Pairs[0].Points != -100 {
			t.Fatalf("next statement closed: %+v", next)
		}
		// Nothing left: an empty statement has the programme's line alone.
		e.clock.Advance(time.Hour)
		var empty statementObj
		e.post("/v1/statements", map[string]any{"to": e.clock.Now().Format(time.RFC3339)}).want(201, &empty)
		if len(empty.Pairs) != 0 || len(empty.Lines) != 1 || empty.Lines[0].MerchantID != nil || empty.Lines[0].NetFen != 0 {
			t.Fatalf("empty statement: %+v", empty)
		}
		e.verify()
	})
}
