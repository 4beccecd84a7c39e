package demo_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/demo"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/report"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/store/storetest"
)

// A small demo: the books verify, the reports see its year, and the same
// seed makes the same programme.
func TestDemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
		o := demo.Options{Members: 120, Days: 40, Seed: 7, Now: now}
		run := func() (demo.Result, report.Summary) {
			db := storetest.Open(t, b, store.Options{})
			res, err := demo.Run(context.Background(), db, o, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			checks, err := ledger.Verify(context.Background(), db.Read(), program.DefaultID)
			if err != nil || !checks.OK {
				t.Fatalf("books after the demo: %+v %v", checks, err)
			}
			if _, err := demo.Run(context.Background(), db, o, io.Discard); err == nil {
				t.Fatal("a second demo on the same database was accepted")
			}
			programs := program.NewService(db, fixed(now), 0)
			sum, err := report.NewService(db, programs, fixed(now)).Summary(context.Background(), auth.System(program.DefaultID),
				report.Query{From: "2026-10-29", To: "2026-12-07"})
			if err != nil {
				t.Fatal(err)
			}
			return res, sum
		}
		r1, s1 := run()
		if r1.Members != 120 || r1.Orders < 100 || r1.Checkins == 0 || r1.Draws == 0 || r1.Refunds == 0 || r1.APIKey == "" {
			t.Fatalf("demo made %+v", r1)
		}
		if s1.Issued == 0 || s1.Spent == 0 || s1.MembersNew != 120 || s1.MembersActive == 0 {
			t.Fatalf("the reports do not see the demo's year: %+v", s1)
		}
		r2, s2 := run()
		r1.APIKey, r2.APIKey, r1.Took, r2.Took = "", "", 0, 0
		if r1 != r2 || s1.Issued != s2.Issued || s1.Spent != s2.Spent || s1.Outstanding != s2.Outstanding {
			t.Fatalf("the same seed made two programmes:\n%+v %+v\n%+v %+v", r1, s1, r2, s2)
		}
	})
}

type fixed time.Time

func (f fixed) Now() time.Time { return time.Time(f) }
