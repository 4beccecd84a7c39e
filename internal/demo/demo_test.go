package demo_test

import (
	"bytes"
	"compress/gzip"
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
		if r1.AllianceEarns == 0 || r1.AllianceSpends == 0 || r1.Statements != 2 {
			t.Fatalf("the alliance's year: %+v", r1)
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

// Real orders replay with their own times: customers join at their first
// order, a cancellation that names its order refunds it, guests and stock
// adjustments are left out.
func TestDemoOrders(t *testing.T) {
	const lines = `{"order_id":"1","customer_id":"17850","occurred_at":"2010-12-01T08:26:00Z","country":"United Kingdom","currency":"GBP","amount":13912,"items":[],"cancellation":false,"cancels_order_id":null,"adjustment":false}
{"order_id":"2","customer_id":null,"occurred_at":"2010-12-01T09:00:00Z","country":"United Kingdom","currency":"GBP","amount":5000,"items":[],"cancellation":false,"cancels_order_id":null,"adjustment":false}
{"order_id":"3","customer_id":"12346","occurred_at":"2010-12-02T10:00:00Z","country":"France","currency":"GBP","amount":20000,"items":[],"cancellation":false,"cancels_order_id":null,"adjustment":false}
{"order_id":"4","customer_id":null,"occurred_at":"2010-12-02T11:00:00Z","country":"United Kingdom","currency":"GBP","amount":-300,"items":[],"cancellation":false,"cancels_order_id":null,"adjustment":true}
{"order_id":"C5","customer_id":"12346","occurred_at":"2010-12-05T12:00:00Z","country":"France","currency":"GBP","amount":5000,"items":[],"cancellation":true,"cancels_order_id":"3","adjustment":false}
{"order_id":"6","customer_id":"17850","occurred_at":"2010-12-06T15:00:00Z","country":"United Kingdom","currency":"GBP","amount":30000,"items":[],"cancellation":false,"cancels_order_id":null,"adjustment":false}
`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(lines))
	zw.Close()
	db := storetest.Open(t, storetest.SQLite, store.Options{})
	res, err := demo.Run(context.Background(), db, demo.Options{Orders: &gz}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Members != 2 || res.Orders != 3 || res.Refunds != 1 {
		t.Fatalf("replayed %+v", res)
	}
	at := time.Date(2010, 12, 7, 0, 0, 0, 0, time.UTC)
	sum, err := report.NewService(db, program.NewService(db, fixed(at), 0), fixed(at)).Summary(context.Background(),
		auth.System(program.DefaultID), report.Query{From: "2010-12-01", To: "2010-12-06"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.MembersNew != 2 || sum.Issued == 0 || sum.Reversed == 0 {
		t.Fatalf("the replay's week: %+v", sum)
	}
	if checks, err := ledger.Verify(context.Background(), db.Read(), program.DefaultID); err != nil || !checks.OK {
		t.Fatalf("books %+v %v", checks, err)
	}
}
