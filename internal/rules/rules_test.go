package rules_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/rules"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// The spend brackets of product.md: 0–1000 yuan earn 1 point per yuan,
// 1000–5000 yuan 1.5 per yuan, above that 2; category B counts double.
func bracketsReward(t *testing.T) *rules.Reward {
	t.Helper()
	var r rules.Reward
	err := json.Unmarshal([]byte(`{"kind":"per_amount","per":100,"points":1,
		"brackets":[{"up_to":100000,"rate":"1"},{"up_to":500000,"rate":"1.5"},{"rate":"2"}],
		"category_multipliers":{"B":"2"}}`), &r)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Compile(); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestPerAmount(t *testing.T) {
	r := bracketsReward(t)
	item := func(cat string, amount int64) rules.Item {
		return rules.Item{SKU: cat, Category: cat, Quantity: 1, Amount: amount}
	}
	tests := []struct {
		name  string
		order rules.Order
		want  int64
	}{
		{"zero amount", rules.Order{Amount: 0}, 0},
		{"under one yuan", rules.Order{Amount: 99}, 0},
		{"one yuan", rules.Order{Amount: 100}, 1},
		{"exactly at the first boundary", rules.Order{Amount: 100000}, 1000},
		{"one fen past it", rules.Order{Amount: 100001}, 1000},                // 1000 + 0.015
		{"one yuan past it", rules.Order{Amount: 100100}, 1001},               // 1000 + 1.5 → floor
		{"two yuan past it", rules.Order{Amount: 100200}, 1003},               // 1000 + 3
		{"exactly at the second boundary", rules.Order{Amount: 500000}, 7000}, // 1000 + 4000×1.5
		{"into the open bracket", rules.Order{Amount: 600000}, 9000},          // 7000 + 1000×2
		{"all category A", rules.Order{Amount: 10000, Items: []rules.Item{item("A", 10000)}}, 100},
		{"all category B", rules.Order{Amount: 10000, Items: []rules.Item{item("B", 10000)}}, 200},
		{"half and half", rules.Order{Amount: 10000, Items: []rules.Item{item("A", 5000), item("B", 5000)}}, 150},
		// Items sum to 120 yuan on an order of 100 (a discount): the brackets
		// see 100 yuan, the items only set the mix (¾ A, ¼ B → ×1.25).
		{"items sum more than the order", rules.Order{Amount: 10000, Items: []rules.Item{item("A", 9000), item("B", 3000)}}, 125},
		// Items sum to 50 yuan on an order of 100 (postage): all B → ×2 on 100.
		{"items sum less than the order", rules.Order{Amount: 10000, Items: []rules.Item{item("B", 5000)}}, 200},
		{"free items only", rules.Order{Amount: 0, Items: []rules.Item{item("B", 0)}}, 0},
		{"unknown category counts once", rules.Order{Amount: 10000, Items: []rules.Item{item("Z", 10000)}}, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := rules.PerAmountValue(r, &tc.order)
			f, _ := got.Float64()
			if int64(f) != tc.want {
				t.Fatalf("amount %d: %s points, want %d", tc.order.Amount, got.FloatString(4), tc.want)
			}
		})
	}
}

func TestPerAmountWithoutBrackets(t *testing.T) {
	r := rules.Reward{Kind: rules.PerAmount, Per: 1000, Points: 3}
	if err := r.Compile(); err != nil {
		t.Fatal(err)
	}
	if got := rules.PerAmountValue(&r, &rules.Order{Amount: 2999}); got.FloatString(3) != "8.997" {
		t.Fatalf("3 points per 10 yuan of 29.99 yuan = %s, want 8.997", got.FloatString(3))
	}
}

func compileRule(t testing.TB, def string) *rules.Rule {
	t.Helper()
	var d rules.Def
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		t.Fatal(err)
	}
	if d.Status == "" {
		d.Status = rules.Active
	}
	r, err := rules.Compile("rule_"+d.Name, 1, d)
	if err != nil {
		t.Fatalf("compile %s: %v", def, err)
	}
	return r
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		def    string
		fields []string
	}{
		{`{"name":"x","event_type":"order.paid","condition":"order.amount >=","reward":{"kind":"fixed","points":1},"status":"active"}`, []string{"condition"}},
		{`{"name":"x","event_type":"order.paid","condition":"nosuchvar > 1","reward":{"kind":"fixed","points":1},"status":"active"}`, []string{"condition"}},
		{`{"name":"x","event_type":"order.paid","condition":"1 + 2","reward":{"kind":"fixed","points":1},"status":"active"}`, []string{"condition"}},
		{`{"name":"x","event_type":"order.paid","reward":{"kind":"expression","points":"'ten'"},"status":"active"}`, []string{"reward.points"}},
		{`{"name":"x","event_type":"order.paid","reward":{"kind":"fixed","points":0},"status":"active"}`, []string{"reward.points"}},
		{`{"name":"x","event_type":"order.paid","reward":{"kind":"bogus"},"status":"active"}`, []string{"reward.kind"}},
		{`{"name":"x","event_type":"order.paid","reward":{"kind":"per_amount","points":1,"per":0,"brackets":[{"rate":"1"},{"up_to":5,"rate":"2"}]},"status":"active"}`,
			[]string{"reward.per", "reward.brackets[0].up_to"}},
		{`{"name":"","event_type":"Order Paid","reward":{"kind":"fixed","points":1},"status":"on"}`, []string{"name", "event_type", "status"}},
		{`{"name":"x","event_type":"a","reward":{"kind":"fixed","points":1},"status":"active","limits":{"per_member":{"day":0},"budget":0}}`,
			[]string{"limits.per_member.day", "limits.budget"}},
		{`{"name":"x","event_type":"a","reward":{"kind":"fixed","points":1},"status":"active","recurrence":{"kind":"weekly","weekdays":[8]}}`,
			[]string{"recurrence.weekdays"}},
		{`{"name":"x","event_type":"a","reward":{"kind":"fixed","points":1},"status":"active","starts_at":"2026-02-01T00:00:00Z","ends_at":"2026-01-01T00:00:00Z"}`,
			[]string{"ends_at"}},
	}
	for _, tc := range tests {
		var d rules.Def
		if err := json.Unmarshal([]byte(tc.def), &d); err != nil {
			t.Fatal(err)
		}
		_, err := rules.Compile("r", 1, d)
		fe := failure.As(err)
		if fe == nil || fe.Kind != failure.Invalid {
			t.Fatalf("%s: err %v, want validation failure", tc.def, err)
		}
		for _, f := range tc.fields {
			found := false
			for _, e := range fe.Fields {
				found = found || e.Field == f
			}
			if !found {
				t.Errorf("%s: %v does not name %s", tc.def, fe.Fields, f)
			}
		}
	}
	// The compiler's message reaches the operator.
	_, err := rules.CompileCondition("condition", "order.amount >=")
	if !strings.Contains(failure.As(err).Fields[0].Message, "Syntax error") {
		t.Errorf("message %q lacks the compiler's", failure.As(err).Fields[0].Message)
	}
}

func orderInput(amount int64, at time.Time, tier string) *rules.Input {
	return &rules.Input{
		EventID: "e1", Type: "order.paid", OccurredAt: at, Location: shanghai, TierMultiplier: rules.One,
		Member: rules.Member{ID: "mem_1", Tier: tier, Tags: []string{"vip"}},
		Order:  &rules.Order{ID: "o1", Amount: amount, Items: []rules.Item{{SKU: "s", Category: "A", Quantity: 1, Amount: amount}}},
		Data:   map[string]any{"order_id": "o1", "amount": amount, "channel": "app"},
	}
}

func TestEvaluate(t *testing.T) {
	wed := time.Date(2026, 3, 4, 4, 0, 0, 0, time.UTC) // Wednesday 12:00 in Shanghai
	base := compileRule(t, `{"name":"base","event_type":"order.paid","reward":{"kind":"per_amount","per":100,"points":1}}`)
	vip := compileRule(t, `{"name":"vip","event_type":"order.paid","condition":"'vip' in member.tags && order.amount >= 10000","reward":{"kind":"fixed","points":50},"priority":5}`)
	memberDay := compileRule(t, `{"name":"memberday","event_type":"order.paid","condition":"local.weekday == 3","reward":{"kind":"expression","points":"order.amount / 100"},"priority":1}`)
	recurring := compileRule(t, `{"name":"recurring","event_type":"order.paid","reward":{"kind":"fixed","points":7},"recurrence":{"kind":"monthly","days":[8]}}`)
	app := compileRule(t, `{"name":"app","event_type":"order.paid","condition":"event.data.channel == 'app' && event.data.amount > 5000","reward":{"kind":"fixed","points":3}}`)
	broken := compileRule(t, `{"name":"broken","event_type":"order.paid","condition":"event.data.missing == 1","reward":{"kind":"fixed","points":1}}`)
	rs := rules.NewRuleset([]*rules.Rule{base, vip, memberDay, recurring, app, broken})

	ms := rs.Evaluate(context.Background(), orderInput(12345, wed, ""))
	got := map[string]int64{}
	var order []string
	for _, m := range ms {
		if m.Err != nil {
			got[m.Rule.Name] = -1
		} else {
			got[m.Rule.Name] = m.Points
		}
		order = append(order, m.Rule.Name)
	}
	want := map[string]int64{"vip": 50, "memberday": 123, "base": 123, "app": 3, "broken": -1}
	if len(got) != len(want) {
		t.Fatalf("matches %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("matches %v, want %v", got, want)
		}
	}
	if order[0] != "vip" || order[1] != "memberday" {
		t.Fatalf("evaluation order %v: highest priority first", order)
	}
	// Thursday: no member day; the 8th: the recurring rule.
	ms = rs.Evaluate(context.Background(), orderInput(100, time.Date(2026, 3, 7, 16, 30, 0, 0, time.UTC), "")) // Sunday 8 March 00:30 local
	names := map[string]bool{}
	for _, m := range ms {
		names[m.Rule.Name] = true
	}
	if names["memberday"] || !names["recurring"] {
		t.Fatalf("on 8 March local: %v", names)
	}

	// An exclusive rule stops those below it; the tier multiplier applies,
	// rounding down.
	excl := compileRule(t, `{"name":"excl","event_type":"order.paid","reward":{"kind":"fixed","points":7},"priority":10,"exclusive":true}`)
	rs = rules.NewRuleset([]*rules.Rule{base, vip, excl})
	in := orderInput(20000, wed, "gold")
	in.TierMultiplier = rules.MustRate("1.5")
	ms = rs.Evaluate(context.Background(), in)
	if len(ms) != 1 || ms[0].Rule.Name != "excl" || ms[0].Points != 10 {
		t.Fatalf("exclusive: %+v, want only excl with floor(7×1.5)=10", ms)
	}
}

func TestWindowsAndMerchants(t *testing.T) {
	r := compileRule(t, `{"name":"618","event_type":"order.paid","reward":{"kind":"fixed","points":1},
		"starts_at":"2026-06-01T00:00:00+08:00","ends_at":"2026-06-19T00:00:00+08:00","merchant_id":"mer_1"}`)
	rs := rules.NewRuleset([]*rules.Rule{r})
	for _, tc := range []struct {
		at       string
		merchant string
		match    bool
	}{
		{"2026-05-31T23:59:59+08:00", "mer_1", false},
		{"2026-06-01T00:00:00+08:00", "mer_1", true},
		{"2026-06-18T23:59:59+08:00", "mer_1", true},
		{"2026-06-19T00:00:00+08:00", "mer_1", false},
		{"2026-06-10T00:00:00+08:00", "mer_2", false},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		in := orderInput(100, at, "")
		in.MerchantID = tc.merchant
		if got := len(rs.Evaluate(context.Background(), in)) == 1; got != tc.match {
			t.Errorf("at %s merchant %s: match %v, want %v", tc.at, tc.merchant, got, tc.match)
		}
	}
	paused := compileRule(t, `{"name":"p","event_type":"order.paid","reward":{"kind":"fixed","points":1},"status":"paused"}`)
	if ms := rules.NewRuleset([]*rules.Rule{paused}).Evaluate(context.Background(), orderInput(1, time.Now(), "")); len(ms) != 0 {
		t.Fatalf("a paused rule matched")
	}
}

// Cap periods follow the program's calendar: 23:59 and 00:01 in Shanghai
// are different days even though both are the same UTC day.
func TestPeriodsAcrossMidnight(t *testing.T) {
	before := time.Date(2026, 3, 1, 15, 59, 0, 0, time.UTC) // 23:59 Sunday 1 March local
	after := time.Date(2026, 3, 1, 16, 1, 0, 0, time.UTC)   // 00:01 Monday 2 March local
	d1, w1, m1 := rules.Periods(before, shanghai)
	d2, w2, m2 := rules.Periods(after, shanghai)
	if d1 != "day:2026-03-01" || d2 != "day:2026-03-02" {
		t.Fatalf("days %s %s", d1, d2)
	}
	if w1 != "week:2026-W09" || w2 != "week:2026-W10" {
		t.Fatalf("ISO weeks %s %s (Monday starts a week)", w1, w2)
	}
	if m1 != m2 || m1 != "month:2026-03" {
		t.Fatalf("months %s %s", m1, m2)
	}
	_, _, mUTC := rules.Periods(time.Date(2026, 3, 31, 16, 30, 0, 0, time.UTC), shanghai)
	if mUTC != "month:2026-04" {
		t.Fatalf("31 March 16:30 UTC is April in Shanghai, got %s", mUTC)
	}
	_, wy, _ := rules.Periods(time.Date(2027, 1, 1, 4, 0, 0, 0, time.UTC), shanghai)
	if wy != "week:2026-W53" {
		t.Fatalf("1 Jan 2027 is in ISO week 2026-W53, got %s", wy)
	}
}

func TestRecurrence(t *testing.T) {
	yearly := rules.Recurrence{Kind: "yearly", Dates: []string{"06-18", "12-01..12-12", "12-30..01-02"}}
	if err := yearly.Validate("recurrence"); err != nil {
		t.Fatal(err)
	}
	for date, want := range map[string]bool{
		"2026-06-18": true, "2026-06-17": false, "2026-12-01": true, "2026-12-12": true, "2026-12-13": false,
		"2026-12-31": true, "2027-01-02": true, "2027-01-03": false,
	} {
		d, _ := time.Parse(time.DateOnly, date)
		if got := yearly.Matches(d); got != want {
			t.Errorf("yearly %s: %v, want %v", date, got, want)
		}
	}
	hours := rules.Recurrence{Kind: "weekly", Weekdays: []int{7}, From: "10:00", To: "12:00"}
	sunday := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	for hm, want := range map[[2]int]bool{{9, 59}: false, {10, 0}: true, {11, 59}: true, {12, 0}: false} {
		if got := hours.Matches(sunday.Add(time.Duration(hm[0])*time.Hour + time.Duration(hm[1])*time.Minute)); got != want {
			t.Errorf("Sunday %02d:%02d: %v, want %v", hm[0], hm[1], got, want)
		}
	}
	bad := []rules.Recurrence{{Kind: "daily"}, {Kind: "monthly", Days: []int{32}}, {Kind: "yearly", Dates: []string{"02-30"}},
		{Kind: "weekly", Weekdays: []int{1}, From: "12:00", To: "10:00"}}
	for _, r := range bad {
		if r.Validate("recurrence") == nil {
			t.Errorf("%+v validated", r)
		}
	}
}

func TestRate(t *testing.T) {
	for _, s := range []string{"1", "1.5", "0.25", "123456789.123456"} {
		r, err := rules.ParseRate(s)
		if err != nil || r.String() != s {
			t.Errorf("ParseRate(%q) = %v, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "-1", "1.1234567", "1e3", "abc", "1,5", "1234567890"} {
		if _, err := rules.ParseRate(s); err == nil {
			t.Errorf("ParseRate(%q) accepted", s)
		}
	}
	var r rules.Rate
	if err := json.Unmarshal([]byte(`1.5`), &r); err != nil || r.Check("rate") == nil {
		t.Error("a JSON number was accepted as a rate")
	}
}

func FuzzCompileRule(f *testing.F) {
	f.Add(`order.amount >= 10000 && member.tier == "gold"`)
	f.Add(`local.weekday == 3 || "vip" in member.tags`)
	f.Add(`event.data.x.y.z[0] > 1.5`)
	f.Fuzz(func(t *testing.T, src string) {
		if _, err := rules.CompileCondition("condition", src); err != nil && failure.KindOf(err) != failure.Invalid {
			t.Fatalf("condition %q: %v, want Invalid", src, err)
		}
		if _, err := rules.CompileExpression("reward.points", src); err != nil && failure.KindOf(err) != failure.Invalid {
			t.Fatalf("expression %q: %v, want Invalid", src, err)
		}
	})
}

func FuzzPerAmount(f *testing.F) {
	f.Add(int64(100000), int64(5000), int64(7000))
	f.Fuzz(func(t *testing.T, amount, a, b int64) {
		var r rules.Reward
		json.Unmarshal([]byte(`{"kind":"per_amount","per":100,"points":1,"brackets":[{"up_to":100000,"rate":"1"},{"rate":"1.5"}],"category_multipliers":{"B":"2"}}`), &r)
		if err := r.Compile(); err != nil {
			t.Fatal(err)
		}
		o := rules.Order{Amount: amount, Items: []rules.Item{{Category: "A", Amount: a}, {Category: "B", Amount: b}}}
		v := rules.PerAmountValue(&r, &o)
		if v.Sign() < 0 {
			t.Fatalf("negative value %s for %+v", v, o)
		}
		// Never more than the top rate times the top multiplier allows.
		if amount > 0 {
			f, _ := v.Float64()
			if f > float64(amount)/100*1.5*2+1 {
				t.Fatalf("value %s too large for %+v", v.FloatString(2), o)
			}
		}
	})
}

// The tier multiplier is each rule's choice: on by default for spendable
// points, off by default for growth (a tier must not speed its own climb).
func TestTierMultiplierChoice(t *testing.T) {
	wed := time.Date(2026, 3, 4, 4, 0, 0, 0, time.UTC)
	cases := []struct {
		def  string
		want int64
	}{
		{`{"name":"points","event_type":"order.paid","reward":{"kind":"fixed","points":10}}`, 15},
		{`{"name":"growth","event_type":"order.paid","reward":{"kind":"fixed","points":10,"currency":"growth"}}`, 10},
		{`{"name":"growth-on","event_type":"order.paid","reward":{"kind":"fixed","points":10,"currency":"growth"},"tier_multiplier":true}`, 15},
		{`{"name":"points-off","event_type":"order.paid","reward":{"kind":"fixed","points":10},"tier_multiplier":false}`, 10},
	}
	for _, c := range cases {
		r := compileRule(t, c.def)
		in := orderInput(100, wed, "gold")
		in.TierMultiplier = rules.MustRate("1.5")
		ms := rules.NewRuleset([]*rules.Rule{r}).Evaluate(context.Background(), in)
		if len(ms) != 1 || ms[0].Points != c.want {
			t.Errorf("%s: %+v, want %d", r.Name, ms, c.want)
		}
		if r.TierMultiplier == nil {
			t.Errorf("%s: the default is not written down", r.Name)
		}
	}
}

// A condition over the dyn-typed variables is run on a sample order at
// save time: one that returns a number there is refused, one that reads a
// key only some events carry is kept.
func TestDynResultChecked(t *testing.T) {
	for src, ok := range map[string]bool{
		"order.amount":                false,
		"member.tier":                 false,
		"order.amount >= 100":         true,
		"event.data.flag":             true, // not on the sample: cannot tell
		"'vip' in member.tags":        true,
		"order.items.size() > 0":      true,
		"local.hour":                  false,
		"event.data.channel == 'app'": true,
	} {
		_, err := rules.CompileCondition("condition", src)
		if (err == nil) != ok {
			t.Errorf("%q: %v, want ok %v", src, err, ok)
		}
	}
	if _, err := rules.CompileExpression("reward.points", "order.items"); err == nil {
		t.Error("a points expression returning a list was accepted")
	}
	if _, err := rules.CompileExpression("reward.points", "order.amount / 100"); err != nil {
		t.Errorf("order.amount / 100: %v", err)
	}
}
