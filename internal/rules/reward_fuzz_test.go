package rules_test

import (
	"context"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/rules"
)

// maxAward is the most one rule awards for one event.
const maxAward = 1_000_000_000_000

// FuzzRewardValue runs any reward an operator can save through rule
// evaluation, with any order and tier multiplier. A reward that does not
// compile is a validation failure. One that does awards between 0 and a
// trillion points: its exact value times the tier multiplier, rounded
// down. Only an expression may fail at run time. A per_amount reward is
// never worth more than the whole amount at the top bracket rate and the
// top category multiplier, never less for a larger order, and without
// brackets or multipliers is exactly amount × points / per.
func FuzzRewardValue(f *testing.F) {
	for _, rw := range []string{
		`{"kind":"fixed","points":10}`,
		`{"kind":"fixed","points":9223372036854775807}`,
		`{"kind":"per_amount","per":100,"points":1}`,
		`{"kind":"per_amount","per":100,"points":1,"brackets":[{"up_to":100000,"rate":"1"},{"up_to":500000,"rate":"1.5"},{"rate":"2"}],"category_multipliers":{"B":"2"}}`,
		`{"kind":"per_amount","per":1,"points":9223372036854775807,"brackets":[{"up_to":1,"rate":"0.000001"},{"rate":"999999999.999999"}],"category_multipliers":{"B":"0"}}`,
		`{"kind":"per_amount","per":3,"points":7,"brackets":[{"up_to":10,"rate":"0"},{"up_to":20,"rate":"3"}]}`,
		`{"kind":"expression","points":"order.amount / 100 * 2"}`,
		`{"kind":"expression","points":"order.amount * order.amount"}`,
		`{"kind":"expression","points":"-5"}`,
		`{"kind":"per_amount","per":100,"points":1,"brackets":[{"rate":1.5}],"expires":{"kind":"rolling","days":30}}`,
	} {
		f.Add(rw, int64(200000), int64(150000), int64(40000), int64(10000), "B", "1.5", int64(100000))
	}
	f.Add(`{"kind":"per_amount","per":100,"points":1,"category_multipliers":{"B":"2"}}`,
		int64(-1), int64(9223372036854775807), int64(9223372036854775807), int64(1), "B", "999999999.999999", int64(-1<<63))
	ctx := context.Background()
	at := time.Date(2026, 3, 4, 4, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, reward string, amount, a, b, c int64, category, tier string, more int64) {
		var rw rules.Reward
		if json.Unmarshal([]byte(reward), &rw) != nil {
			return
		}
		if err := rw.Compile(); err != nil {
			if failure.KindOf(err) != failure.Invalid {
				t.Fatalf("Compile(%s) = %v, want Invalid", reward, err)
			}
			return
		}
		rule, err := rules.Compile("rule_f", 1, rules.Def{Name: "f", EventType: "order.paid", Reward: rw, Status: rules.Active})
		if err != nil {
			t.Fatalf("reward %s compiles alone but not in a rule: %v", reward, err)
		}
		tm, err := rules.ParseRate(tier)
		if err != nil {
			tm = rules.One
		}
		input := func(amount int64) *rules.Input {
			return &rules.Input{
				EventID: "e1", Type: "order.paid", OccurredAt: at, Location: time.UTC, TierMultiplier: tm,
				Member: rules.Member{ID: "mem_1"},
				Order: &rules.Order{ID: "o1", Amount: amount,
					Items: []rules.Item{{SKU: "a", Category: "A", Quantity: 1, Amount: a}, {SKU: "b", Category: category, Quantity: 1, Amount: b},
						{SKU: "c", Category: "C", Quantity: 1, Amount: c}}},
				Data: map[string]any{"order_id": "o1", "amount": amount},
			}
		}
		ms := rules.NewRuleset([]*rules.Rule{rule}).Evaluate(ctx, input(amount))
		if len(ms) != 1 {
			t.Fatalf("%s: %d matches, want 1", reward, len(ms))
		}
		if ms[0].Err != nil {
			if rw.Kind != rules.Expression {
				t.Fatalf("%s failed at run time: %v", reward, ms[0].Err)
			}
			return
		}
		pts := ms[0].Points
		if pts < 0 || pts > maxAward {
			t.Fatalf("%s on %d (tier %s): %d points", reward, amount, tm, pts)
		}
		v, err := rule.Value(ctx, input(amount))
		if err != nil {
			t.Fatalf("%s: Value fails after Evaluate did not: %v", reward, err)
		}
		if v.Sign() < 0 {
			t.Fatalf("%s on %d: value %s", reward, amount, v.RatString())
		}
		if want := floorCapped(new(big.Rat).Mul(v, tm.Rat())); pts != want {
			t.Fatalf("%s on %d (tier %s): %d points, want %d = floor(%s × %s)", reward, amount, tm, pts, want, v.RatString(), tm)
		}
		if rw.Kind != rules.PerAmount {
			return
		}
		top := big.NewRat(1, 1) // rate without brackets
		if len(rw.Brackets) > 0 {
			top = new(big.Rat)
			for _, br := range rw.Brackets {
				if br.Rate.Rat().Cmp(top) > 0 {
					top = br.Rate.Rat()
				}
			}
		}
		mult := big.NewRat(1, 1) // items of other categories
		for _, m := range rw.CategoryMultipliers {
			if m.Rat().Cmp(mult) > 0 {
				mult = m.Rat()
			}
		}
		bound := new(big.Rat).SetInt64(max(amount, 0))
		bound.Mul(bound, top).Mul(bound, mult).Mul(bound, big.NewRat(rw.Points, rw.Per))
		if v.Cmp(bound) > 0 {
			t.Fatalf("%s on %d: value %s above %s", reward, amount, v.RatString(), bound.RatString())
		}
		if len(rw.Brackets) == 0 && len(rw.CategoryMultipliers) == 0 {
			want := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(max(amount, 0)), big.NewInt(rw.Points)), big.NewInt(rw.Per))
			if v.Cmp(want) != 0 {
				t.Fatalf("%s on %d: value %s, want %s", reward, amount, v.RatString(), want.RatString())
			}
		}
		larger := amount + max(more%1_000_000_000, -(more%1_000_000_000))
		if larger < amount {
			return // overflowed
		}
		if v2, _ := rule.Value(ctx, input(larger)); v2.Cmp(v) < 0 {
			t.Fatalf("%s: %d is worth %s, less than %d at %s", reward, larger, v2.RatString(), amount, v.RatString())
		}
	})
}

// floorCapped rounds a value down to whole points, 0 when negative, at
// most maxAward.
func floorCapped(r *big.Rat) int64 {
	if r.Sign() <= 0 {
		return 0
	}
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if q.Cmp(big.NewInt(maxAward)) > 0 {
		return maxAward
	}
	return q.Int64()
}
