package rules_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/rules"
)

// benchRules makes n active order.paid rules of mixed kinds: spend
// brackets with category multipliers, CEL conditions over the order and
// the member, member-day recurrences and expressions.
func benchRules(b *testing.B, n int) *rules.Ruleset {
	b.Helper()
	kinds := []string{
		`{"name":"brackets %d","event_type":"order.paid","reward":{"kind":"per_amount","per":100,"points":1,"brackets":[{"up_to":100000,"rate":"1"},{"up_to":500000,"rate":"1.5"},{"rate":"2"}],"category_multipliers":{"B":"2"}}}`,
		`{"name":"vip %d","event_type":"order.paid","condition":"'vip' in member.tags && order.amount >= 10000","reward":{"kind":"fixed","points":50}}`,
		`{"name":"member day %d","event_type":"order.paid","condition":"local.weekday == 3","reward":{"kind":"expression","points":"order.amount / 100"}}`,
		`{"name":"category %d","event_type":"order.paid","condition":"order.items.exists(i, i.category == 'B')","reward":{"kind":"fixed","points":5}}`,
		`{"name":"monthly %d","event_type":"order.paid","recurrence":{"kind":"monthly","days":[8]},"reward":{"kind":"fixed","points":8}}`,
	}
	var rs []*rules.Rule
	for i := 0; i < n; i++ {
		rs = append(rs, compileRule(b, fmt.Sprintf(kinds[i%len(kinds)], i)))
	}
	return rules.NewRuleset(rs)
}

// BenchmarkEvaluate is one order.paid event (3 items) against 1, 10 and
// 100 active rules, in process: no I/O, the activation built per event.
func BenchmarkEvaluate(b *testing.B) {
	at := time.Date(2026, 3, 4, 4, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			set := benchRules(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				in := &rules.Input{
					EventID: "e", Type: "order.paid", OccurredAt: at, Location: shanghai, TierMultiplier: rules.MustRate("1.5"),
					Member: rules.Member{ID: "mem_1", Tier: "gold", Tags: []string{"vip"}},
					Order: &rules.Order{ID: "o", Amount: 123456, Items: []rules.Item{
						{SKU: "a", Category: "A", Quantity: 1, Amount: 100000}, {SKU: "b", Category: "B", Quantity: 2, Amount: 20000},
						{SKU: "c", Category: "C", Quantity: 1, Amount: 3456}}},
				}
				ms := set.Evaluate(ctx, in)
				if len(ms) == 0 {
					b.Fatal("no match")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
