package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// lot makes a lot with remaining points that expires `days` after t0 (never
// when days is 0), created `age` minutes after t0.
func lot(id string, remaining int64, days, age int) ledger.Lot {
	l := ledger.Lot{ID: id, Amount: remaining, Remaining: remaining, CreatedAt: t0.Add(time.Duration(age) * time.Minute)}
	if days != 0 {
		e := t0.AddDate(0, 0, days)
		l.ExpiresAt = &e
	}
	return l
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name  string
		lots  []ledger.Lot
		spend int64
		want  []ledger.Take
		err   failure.Kind
	}{
		{"soonest expiry first", []ledger.Lot{lot("a", 100, 30, 0), lot("b", 50, 10, 1)}, 120,
			[]ledger.Take{{"b", 50}, {"a", 70}}, 0},
		{"exact balance", []ledger.Lot{lot("a", 50, 10, 0)}, 50, []ledger.Take{{"a", 50}}, 0},
		{"never expiring last", []ledger.Lot{lot("n", 100, 0, 0), lot("e", 10, 400, 5)}, 20,
			[]ledger.Take{{"e", 10}, {"n", 10}}, 0},
		{"same expiry: oldest first", []ledger.Lot{lot("new", 10, 10, 9), lot("old", 10, 10, 1)}, 15,
			[]ledger.Take{{"old", 10}, {"new", 5}}, 0},
		{"empty lots skipped", []ledger.Lot{lot("z", 0, 1, 0), lot("a", 5, 2, 0)}, 5, []ledger.Take{{"a", 5}}, 0},
		{"not enough", []ledger.Lot{lot("a", 5, 2, 0)}, 6, nil, failure.InsufficientPoints},
		{"zero spends nothing", []ledger.Lot{lot("a", 5, 2, 0)}, 0, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ledger.Allocate(tc.lots, tc.spend)
			if tc.err != 0 {
				if failure.KindOf(err) != tc.err {
					t.Fatalf("Allocate(%d) err = %v, want %v", tc.spend, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Allocate(%d): %v", tc.spend, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("Allocate(%d) = %v, want %v", tc.spend, got, tc.want)
			}
		})
	}
}

func genLot(i int) *rapid.Generator[ledger.Lot] {
	return rapid.Custom(func(t *rapid.T) ledger.Lot {
		return lot(fmt.Sprintf("l%02d", i), rapid.Int64Range(0, 1000).Draw(t, "remaining"),
			rapid.IntRange(0, 60).Draw(t, "days"), rapid.IntRange(0, 60).Draw(t, "age"))
	})
}

func genLots(t *rapid.T) []ledger.Lot {
	n := rapid.IntRange(1, 20).Draw(t, "n")
	lots := make([]ledger.Lot, n)
	for i := range lots {
		lots[i] = genLot(i).Draw(t, "lot")
	}
	return lots
}

func total(lots []ledger.Lot) int64 {
	var s int64
	for _, l := range lots {
		s += l.Remaining
	}
	return s
}

// Allocation takes exactly the amount, never more than a lot holds, and
// never touches a later-expiring lot while an earlier one has points left.
func TestAllocateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lots := genLots(t)
		spend := rapid.Int64Range(0, total(lots)).Draw(t, "spend")
		takes, err := ledger.Allocate(lots, spend)
		if err != nil {
			t.Fatalf("Allocate(%d) of %d: %v", spend, total(lots), err)
		}
		byID := map[string]ledger.Lot{}
		for _, l := range lots {
			byID[l.ID] = l
		}
		var sum int64
		used := map[string]int64{}
		for _, tk := range takes {
			if tk.Points <= 0 || tk.Points > byID[tk.LotID].Remaining {
				t.Fatalf("take %v from lot holding %d", tk, byID[tk.LotID].Remaining)
			}
			sum += tk.Points
			used[tk.LotID] += tk.Points
		}
		if sum != spend {
			t.Fatalf("takes %v sum to %d, want %d", takes, sum, spend)
		}
		sorted := append([]ledger.Lot(nil), lots...)
		ledger.SortFIFO(sorted)
		// FIFO: once a lot is only partly used (or untouched), no later lot is used.
		open := false
		for _, l := range sorted {
			if l.Remaining == 0 {
				continue
			}
			if open && used[l.ID] > 0 {
				t.Fatalf("lot %s used after a lot earlier in FIFO order kept points: %v", l.ID, takes)
			}
			if used[l.ID] < l.Remaining {
				open = true
			}
		}
		if _, err := ledger.Allocate(lots, total(lots)+1); failure.KindOf(err) != failure.InsufficientPoints {
			t.Fatalf("over-spend: err %v, want insufficient_points", err)
		}
	})
}

func TestClaw(t *testing.T) {
	own := lot("own", 30, 10, 0)
	others := []ledger.Lot{lot("x", 50, 20, 1), lot("y", 10, 5, 2), own}
	tests := []struct {
		name      string
		own       ledger.Lot
		amount    int64
		allowDebt bool
		want      ledger.ClawPlan
	}{
		{"own lot covers", own, 20, true, ledger.ClawPlan{Own: 20}},
		{"then others FIFO", own, 45, true, ledger.ClawPlan{Own: 30, Others: []ledger.Take{{"y", 10}, {"x", 5}}}},
		{"past zero is debt", own, 100, true, ledger.ClawPlan{Own: 30, Others: []ledger.Take{{"y", 10}, {"x", 50}}, Debt: 10}},
		{"past zero floored", own, 100, false, ledger.ClawPlan{Own: 30, Others: []ledger.Take{{"y", 10}, {"x", 50}}, Forgiven: 10}},
		{"spent own lot", lot("own", 0, 10, 0), 5, true, ledger.ClawPlan{Others: []ledger.Take{{"y", 5}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ledger.Claw(tc.own, others, tc.amount, tc.allowDebt)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("Claw(%d) = %+v, want %+v", tc.amount, got, tc.want)
			}
		})
	}
}

// A clawback always accounts for exactly the amount reversed.
func TestClawProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lots := genLots(t)
		own := lots[0]
		amount := rapid.Int64Range(1, 3000).Draw(t, "amount")
		debt := rapid.Bool().Draw(t, "debt")
		p := ledger.Claw(own, lots, amount, debt)
		sum := p.Own + p.Debt + p.Forgiven
		for _, tk := range p.Others {
			if tk.LotID == own.ID {
				t.Fatalf("own lot clawed twice: %+v", p)
			}
			sum += tk.Points
		}
		if sum != amount {
			t.Fatalf("plan %+v accounts for %d, want %d", p, sum, amount)
		}
		if (p.Debt > 0 && !debt) || (p.Forgiven > 0 && debt) {
			t.Fatalf("plan %+v ignores allowDebt=%v", p, debt)
		}
		if (p.Debt > 0 || p.Forgiven > 0) && p.Own+sumTakes(p.Others) != total(lots) {
			t.Fatalf("plan %+v leaves points in lots yet goes past zero", p)
		}
	})
}

func sumTakes(ts []ledger.Take) int64 {
	var s int64
	for _, t := range ts {
		s += t.Points
	}
	return s
}

func TestRefill(t *testing.T) {
	lots := []ledger.Lot{lot("soon", 0, 5, 0), lot("late", 0, 50, 1), lot("mid", 0, 20, 2)}
	taken := map[string]int64{"soon": 10, "late": 5, "mid": 7}
	got, err := ledger.Refill(lots, taken, 15)
	if err != nil {
		t.Fatal(err)
	}
	want := []ledger.Take{{"late", 5}, {"mid", 7}, {"soon", 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Refill = %v, want %v (latest-expiring first)", got, want)
	}
	if _, err := ledger.Refill(lots, taken, 23); failure.KindOf(err) != failure.LimitExceeded {
		t.Fatalf("Refill past what was taken: err %v, want limit_exceeded", err)
	}
}
