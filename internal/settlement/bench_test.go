package settlement_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/settlement"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// seedMoves writes n lot moves of the month ending at end straight through
// the store (no lots behind them: a statement reads only the moves), among
// 20 merchants and the programme: issues, redemptions mostly elsewhere,
// some returns, claws and expiries; a tenth are of another currency.
func seedMoves(tb testing.TB, db *store.DB, n int, end time.Time) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(uint64(end.Unix()), 2))
	mer := func() null.String {
		if i := r.IntN(21); i < 20 {
			return null.String(fmt.Sprintf("mer_%02d", i))
		}
		return ""
	}
	kinds := []string{store.MoveIssue, store.MoveIssue, store.MoveIssue, store.MoveIssue, store.MoveRedeem,
		store.MoveRedeem, store.MoveRedeem, store.MoveReturn, store.MoveClaw, store.MoveExpire}
	const perTxn, perStmt = 20_000, 1_000
	start := end.AddDate(0, -1, 0)
	span := end.Sub(start).Milliseconds()
	for done := 0; done < n; done += perTxn {
		err := db.Write(ctx, "seed", func(ctx context.Context, tx *store.Tx) error {
			for i := done; i < min(done+perTxn, n); i += perStmt {
				moves := make([]store.LotMove, 0, perStmt)
				for j := i; j < min(i+perStmt, n); j++ {
					m := store.LotMove{LotID: fmt.Sprintf("lot_%d_%d", end.Unix(), j/3), TransactionID: fmt.Sprintf("txn_%d_%d", end.Unix(), j),
						Kind: kinds[r.IntN(len(kinds))], IssuerMerchantID: mer(), Currency: "points",
						CreatedAt: start.Add(time.Duration(int64(j)*span/int64(n)) * time.Millisecond)}
					if r.IntN(10) == 0 {
						m.Currency = "growth"
					}
					p := int64(1 + r.IntN(500))
					switch m.Kind {
					case store.MoveRedeem:
						m.AtMerchantID, p = mer(), -p
					case store.MoveReturn:
						m.AtMerchantID = mer()
					case store.MoveClaw, store.MoveExpire:
						p = -p
					}
					m.Points = p
					moves = append(moves, m)
				}
				if err := tx.InsertMoves(ctx, program.DefaultID, moves); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := db.AnalyzeSeeded(ctx); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkStatement builds and closes a statement over a month of
// JIFEN_BENCH_STATEMENT_MOVES lot moves (default 20,000; the figures of
// docs/benchmarks.md come from 1,000,000), after a first month as large
// that an earlier statement settled (so, as in a live programme, most of
// lot_moves is settled). "draft" reads the draft (its sums over the
// unsettled moves); "close" closes it (marks the moves settled and sums
// them, freezes the figures) and is meant to run once: -benchtime=1x.
// PostgreSQL runs when JIFEN_TEST_POSTGRES is set.
func BenchmarkStatement(b *testing.B) {
	n := envInt("JIFEN_BENCH_STATEMENT_MOVES", 20_000)
	backends := []storetest.Backend{storetest.SQLite}
	if os.Getenv(storetest.EnvPostgres) != "" {
		backends = append(backends, storetest.Postgres(os.Getenv(storetest.EnvPostgres)))
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			db := storetest.Open(b, be, store.Options{})
			ctx := context.Background()
			end := time.Now().UTC().Truncate(time.Hour)
			mid := end.AddDate(0, -1, 0)
			clk := clock.NewFake(end.AddDate(0, -3, 0))
			err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
				_, err := program.Create(ctx, tx, program.DefaultID, "default", clk.Now())
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			svc := settlement.NewService(db, program.NewService(db, clk, time.Minute), clk)
			a := auth.System(program.DefaultID)
			var st settlement.Statement
			open := func(to time.Time) {
				s := to.Format(time.RFC3339)
				err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) (err error) {
					st, err = svc.Create(ctx, tx, a, settlement.StatementInput{To: &s})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			closeIt := func() {
				err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) (err error) {
					st, err = svc.Close(ctx, tx, a, st.ID)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			// The first month, settled.
			clk.Set(mid)
			t0 := time.Now()
			seedMoves(b, db, n, mid)
			b.Logf("%s: %d lot moves of the first month seeded in %.1fs", be.Name, n, time.Since(t0).Seconds())
			open(mid)
			t0 = time.Now()
			closeIt()
			b.Logf("%s: the first month's statement closed in %.1fs", be.Name, time.Since(t0).Seconds())
			// The month to settle.
			clk.Set(end)
			t0 = time.Now()
			seedMoves(b, db, n, end)
			b.Logf("%s: %d lot moves of the second month seeded in %.1fs", be.Name, n, time.Since(t0).Seconds())
			plan, err := db.Read().ExplainUnsettledSums(ctx, program.DefaultID, "points", end, false)
			if err != nil {
				b.Fatal(err)
			}
			// Half the table unsettled: PostgreSQL rightly scans it whole
			// (in parallel); TestUnsettledPlan checks a live programme's case.
			b.Logf("%s plan:\n%s", be.Name, plan)
			open(end)
			b.Run("draft", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Get(ctx, a, st.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("close", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if i > 0 { // only the first closes the month; the rest close empty statements
						b.StopTimer()
						clk.Advance(time.Second)
						open(clk.Now())
						b.StartTimer()
					}
					closeIt()
				}
			})
		})
	}
}

// TestUnsettledPlan: in a programme whose earlier months are settled, a
// statement's sums read the partial index lot_moves_unsettled, which holds
// only the unsettled moves: SQLite takes it; on PostgreSQL the plan with
// sequential scans off shows the index serves the query (the planner
// picks it once the table is large and mostly settled).
func TestUnsettledPlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, be storetest.Backend) {
		db := storetest.Open(t, be, store.Options{})
		ctx := context.Background()
		end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		clk := clock.NewFake(end.AddDate(0, -3, 0))
		svc := settlement.NewService(db, program.NewService(db, clk, time.Minute), clk)
		a := auth.System(program.DefaultID)
		err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
			_, err := program.Create(ctx, tx, program.DefaultID, "default", clk.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, month := range []struct {
			end   time.Time
			moves int
		}{{end.AddDate(0, -2, 0), 10_000}, {end.AddDate(0, -1, 0), 10_000}} {
			clk.Set(month.end)
			seedMoves(t, db, month.moves, month.end)
			to := month.end.Format(time.RFC3339)
			err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
				st, err := svc.Create(ctx, tx, a, settlement.StatementInput{To: &to})
				if err != nil {
					return err
				}
				_, err = svc.Close(ctx, tx, a, st.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		clk.Set(end)
		seedMoves(t, db, 1_000, end)
		plan, err := db.Read().ExplainUnsettledSums(ctx, program.DefaultID, "points", end, true)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "lot_moves_unsettled") {
			t.Fatalf("the statement's sums do not read lot_moves_unsettled:\n%s", plan)
		}
	})
}
