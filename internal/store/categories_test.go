package store_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// An order's item amounts are added to the member's category scores,
// decayed with the programme's half-life, and only the top MaxCategories
// are kept: the one pushed out is deleted.
func TestAddCategoryAmounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := storetest.Open(t, b, store.Options{})
		ctx := context.Background()
		t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		add := func(at time.Time, amounts map[string]float64) {
			t.Helper()
			err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
				return tx.AddCategoryAmounts(ctx, "p1", "m1", amounts, at)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		first := map[string]float64{}
		for i := range store.MaxCategories {
			first[fmt.Sprintf("c%02d", i)] = float64(1000 + i)
		}
		add(t0, first)
		// 90 days later (the default half-life): every score halves; a new
		// category worth more than the smallest pushes it out.
		add(t0.Add(90*24*time.Hour), map[string]float64{"new": 700, "c05": 10})
		got, err := db.Read().Categories(ctx, "p1", "m1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != store.MaxCategories {
			t.Fatalf("%d categories kept, want %d", len(got), store.MaxCategories)
		}
		scores := map[string]float64{}
		for _, c := range got {
			scores[c.Category] = store.Decay(c.Score, c.At, t0.Add(90*24*time.Hour), 90)
		}
		if _, ok := scores["c00"]; ok {
			t.Fatalf("c00 (the smallest, 500 after decay) was kept: %v", scores)
		}
		for cat, want := range map[string]float64{"new": 700, "c05": 1005.0/2 + 10, "c19": 1019.0 / 2} {
			if math.Abs(scores[cat]-want) > 1e-6 {
				t.Errorf("%s = %v, want %v", cat, scores[cat], want)
			}
		}
		// Another programme's half-life does not apply to this one; its own does.
		err = db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
			return tx.SaveAudienceSettings(ctx, store.AudienceSettings{ProgramID: "p2", RFMWindowDays: 365, NewDays: 30,
				AtRiskDays: 90, DormantDays: 180, CategoryHalfLifeDays: 10, UpdatedAt: t0})
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"p1", "p2"} {
			err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
				if err := tx.AddCategoryAmounts(ctx, p, "m2", map[string]float64{"x": 100}, t0); err != nil {
					return err
				}
				return tx.AddCategoryAmounts(ctx, p, "m2", map[string]float64{"x": 100}, t0.Add(10*24*time.Hour))
			})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := db.Read().Categories(ctx, p, "m2")
			if err != nil || len(cs) != 1 {
				t.Fatalf("%s: %v, %v", p, cs, err)
			}
			want := 100*math.Exp2(-10.0/90) + 100
			if p == "p2" {
				want = 100*0.5 + 100
			}
			if math.Abs(cs[0].Score-want) > 1e-6 {
				t.Errorf("%s: score %v, want %v", p, cs[0].Score, want)
			}
		}
	})
}
