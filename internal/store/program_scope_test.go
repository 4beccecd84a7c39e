package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Two programs on one database hold the same-looking rows in the tables
// keyed by other programs' IDs (member_tags, rule_usage, task_progress,
// coupon_daily); neither sees nor changes the other's.
func TestProgramScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := storetest.Open(t, b, store.Options{})
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		write := func(op store.Op) {
			t.Helper()
			if err := db.Write(ctx, "", op); err != nil {
				t.Fatal(err)
			}
		}
		const pA, pB = "prog_a", "prog_b"
		const memA, memB = "mem_a", "mem_b"
		write(func(ctx context.Context, tx *store.Tx) error {
			for _, p := range []struct{ prog, mem, code string }{{pA, memA, "CODEAAAA"}, {pB, memB, "CODEBBBB"}} {
				if _, err := program.Create(ctx, tx, p.prog, p.prog, now); err != nil {
					return err
				}
				if _, err := tx.InsertMember(ctx, store.Member{ID: p.mem, ProgramID: p.prog, Gender: "unknown",
					Status: "active", ReferralCode: p.code, Tags: []string{"vip"}, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		r := db.Read()

		t.Run("member_tags", func(t *testing.T) {
			tags := func(prog, mem string) []string {
				t.Helper()
				got, err := r.MemberTags(ctx, prog, mem)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := tags(pA, memA); !reflect.DeepEqual(got, []string{"vip"}) {
				t.Errorf("program A's member's tags = %v, want [vip]", got)
			}
			if got := tags(pB, memA); len(got) != 0 {
				t.Errorf("program B reads program A's member's tags: %v", got)
			}
			for _, p := range []struct{ prog, mem string }{{pA, memA}, {pB, memB}} {
				ms, _, err := r.Members(ctx, p.prog, store.MemberFilter{Tags: []string{"vip"}}, store.Page{Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) != 1 || ms[0].ID != p.mem {
					t.Errorf("program %s's members tagged vip = %v, want only %s", p.prog, ids(ms), p.mem)
				}
			}
			// Program B retags its member, and tries to retag A's.
			write(func(ctx context.Context, tx *store.Tx) error {
				if err := tx.UpdateMember(ctx, store.Member{ID: memB, ProgramID: pB, Gender: "unknown",
					Tags: []string{"gold"}, UpdatedAt: now}); err != nil {
					return err
				}
				return tx.UpdateMember(ctx, store.Member{ID: memA, ProgramID: pB, Gender: "unknown",
					Tags: []string{"stolen"}, UpdatedAt: now})
			})
			if got := tags(pA, memA); !reflect.DeepEqual(got, []string{"vip"}) {
				t.Errorf("after program B's writes, program A's member's tags = %v, want [vip]", got)
			}
			if got := tags(pB, memA); len(got) != 0 {
				t.Errorf("program B wrote tags for program A's member: %v", got)
			}
			if got := tags(pB, memB); !reflect.DeepEqual(got, []string{"gold"}) {
				t.Errorf("program B's member's tags = %v, want [gold]", got)
			}
			var n int
			_, w := db.SQL()
			if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM member_tags`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("member_tags holds %d rows, want 2 (vip of A's member, gold of B's)", n)
			}
		})

		// The same rule, member and period IDs in both programs.
		t.Run("rule_usage", func(t *testing.T) {
			periods := []string{"day:2026-03-01", "total"}
			write(func(ctx context.Context, tx *store.Tx) error {
				if err := tx.AddUsage(ctx, pA, "rule_x", "mem_x", periods, 5); err != nil {
					return err
				}
				if err := tx.AddUsage(ctx, pB, "rule_x", "mem_x", periods, 7); err != nil {
					return err
				}
				return tx.AddUsage(ctx, pB, "rule_x", "mem_x", periods[1:], 1)
			})
			write(func(ctx context.Context, tx *store.Tx) error {
				for _, c := range []struct {
					prog string
					want map[string]int64
				}{
					{pA, map[string]int64{"day:2026-03-01": 5, "total": 5}},
					{pB, map[string]int64{"day:2026-03-01": 7, "total": 8}},
					{"prog_c", map[string]int64{}},
				} {
					got, err := tx.Usage(ctx, c.prog, "rule_x", "mem_x", periods)
					if err != nil {
						return err
					}
					if !reflect.DeepEqual(got, c.want) {
						t.Errorf("usage in %s = %v, want %v", c.prog, got, c.want)
					}
				}
				return nil
			})
		})

		t.Run("task_progress", func(t *testing.T) {
			done := now.Add(time.Hour)
			write(func(ctx context.Context, tx *store.Tx) error {
				if err := tx.SaveProgress(ctx, pA, store.TaskProgress{TaskID: "task_x", MemberID: "mem_x", Period: "once", Progress: 3}); err != nil {
					return err
				}
				return tx.SaveProgress(ctx, pB, store.TaskProgress{TaskID: "task_x", MemberID: "mem_x", Period: "once",
					Progress: 9, CompletedAt: &done, TransactionID: "txn_b"})
			})
			keys := map[string]string{"task_x": "once"}
			for _, c := range []struct {
				prog string
				want int64 // -1: none
				done bool
			}{{pA, 3, false}, {pB, 9, true}, {"prog_c", -1, false}} {
				got, err := r.Progress(ctx, c.prog, "mem_x", keys)
				if err != nil {
					t.Fatal(err)
				}
				tp, ok := got["task_x"]
				switch {
				case c.want < 0 && ok:
					t.Errorf("%s sees progress %+v of another program", c.prog, tp)
				case c.want >= 0 && (!ok || tp.Progress != c.want || (tp.CompletedAt != nil) != c.done):
					t.Errorf("progress in %s = %+v (found %v), want %d, completed %v", c.prog, tp, ok, c.want, c.done)
				}
			}
		})

		// Each program's daily release of one coupon on the same template
		// ID and date: both are claimed, once each.
		t.Run("coupon_daily", func(t *testing.T) {
			take := func(prog string) bool {
				t.Helper()
				var ok bool
				write(func(ctx context.Context, tx *store.Tx) error {
					var err error
					ok, err = tx.TakeDaily(ctx, prog, "cpt_x", "2026-03-01", 1)
					return err
				})
				return ok
			}
			if !take(pA) {
				t.Fatal("program A's first daily claim refused")
			}
			if !take(pB) {
				t.Error("program B's first daily claim refused: it counted program A's")
			}
			if take(pA) || take(pB) {
				t.Error("a second claim of a daily release of 1 went through")
			}
			for _, prog := range []string{pA, pB} {
				n, err := r.DailyClaimed(ctx, prog, "cpt_x", "2026-03-01")
				if err != nil {
					t.Fatal(err)
				}
				if n != 1 {
					t.Errorf("%s claimed %d of its daily release, want 1", prog, n)
				}
			}
			if n, err := r.DailyClaimed(ctx, "prog_c", "cpt_x", "2026-03-01"); err != nil || n != 0 {
				t.Errorf("program C sees %d claimed (%v), want 0", n, err)
			}
		})
	})
}

func ids(ms []store.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
