package store_test

import (
	"cmp"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// Verify catches each kind of broken books: a check that cannot fail
// proves nothing.
func TestVerifyCatchesCorruption(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		cases := []struct {
			check string
			sql   string
		}{
			{"transactions_balance", `UPDATE postings SET amount = amount + 1 WHERE account = 'issuance'`},
			{"balances_match_postings", `UPDATE balances SET held = held + 3`},
			{"balances_match_lots", `UPDATE lots SET remaining = remaining - 1, amount = amount - 1`},
			{"lots_within_bounds", `UPDATE lots SET amount = remaining - 1`},
			{"lots_match_moves", `UPDATE lot_moves SET points = points + 1 WHERE kind = 'issue'`},
			{"holds_consistent", `UPDATE holds SET captured = 5`},
			{"reversals_bounded", `UPDATE transactions SET reversed = reversed + 1 WHERE type = 'earn'`},
			{"balances_non_negative", `UPDATE balances SET debt = -1`},
			{"report_rollups_match", `UPDATE report_rollups SET reversed = reversed - 1`},
			{"report_rollups_match", `DELETE FROM report_rollups`},
			{"", `DROP TABLE report_rollups`}, // then migrated again
		}
		for _, tc := range cases {
			t.Run(cmp.Or(tc.check, "rollups_migrated")+"_"+strings.ToLower(strings.Fields(tc.sql)[0]), func(t *testing.T) {
				db := storetest.Open(t, b, store.Options{})
				ctx := context.Background()
				now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				var p program.Program
				memberID := id.New("mem")
				err := db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
					if _, err := program.Create(ctx, tx, "default", "default", now); err != nil {
						return err
					}
					_, err := tx.InsertMember(ctx, store.Member{ID: memberID, ProgramID: "default", Gender: "unknown",
						Status: "active", ReferralCode: "CODE1234", CreatedAt: now, UpdatedAt: now})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if p, err = program.NewService(db, clock.System{}, 0).Get(ctx, "default"); err != nil {
					t.Fatal(err)
				}
				err = db.Write(ctx, "", func(ctx context.Context, tx *store.Tx) error {
					e, err := ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{MemberID: memberID, Points: 100, Now: now})
					if err != nil {
						return err
					}
					if _, err := ledger.Reverse(ctx, tx, p.Ledger(), ledger.ReverseInput{TransactionID: e.ID, Points: 10, Now: now}); err != nil {
						return err
					}
					_, err = ledger.PlaceHold(ctx, tx, p.Ledger(), ledger.HoldInput{MemberID: memberID, Points: 20, Now: now})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if failing(t, db) != "" {
					t.Fatalf("fresh books fail verify: %s", failing(t, db))
				}
				_, write := db.SQL()
				if _, err := write.ExecContext(ctx, tc.sql); err != nil {
					t.Fatal(err)
				}
				if tc.check == "" {
					if _, err := write.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 10`); err != nil {
						t.Fatal(err)
					}
				}
				if tc.check == "" { // the migration's backfill: rollups rebuilt from the ledger agree with it
					if _, err := db.Migrate(ctx); err != nil {
						t.Fatal(err)
					}
					if got := failing(t, db); got != "" {
						t.Fatalf("after the rollups were rebuilt by their migration, verify fails: %s", got)
					}
					return
				}
				got := failing(t, db)
				if got == "" {
					t.Fatalf("verify passes after %q", tc.sql)
				}
				found := false
				for _, c := range strings.Fields(got) {
					found = found || c == tc.check
				}
				if !found {
					t.Fatalf("after %q failing checks are %s, want %s among them", tc.sql, got, tc.check)
				}
			})
		}
	})
}

func failing(t *testing.T, db *store.DB) string {
	t.Helper()
	checks, err := db.Read().Verify(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, c := range checks {
		if !c.OK {
			out += c.Name + " "
		}
	}
	return out
}
