// Package demo fills a fresh programme with a year of life, so that a
// newcomer sees a real one at once: a tea-drink chain with tiers, spend
// brackets, a member day, check-in, referral, a points mall with a flash
// sale, coupons with a daily release and a lucky wheel, and a year of
// members, orders, refunds, check-ins, redemptions and draws replayed day
// by day with their own times. Everything goes through the same operations
// the API uses (as the system actor), on a clock that walks through the
// year, so the books, the reports and the console show what a year of
// business would. The replay is generated from a seed: the same seed makes
// the same programme.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/app"
	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Options shape the demo.
type Options struct {
	Members int    // members over the year (default 1500)
	Days    int    // days replayed, ending today (default 365)
	Seed    uint64 // the replay's seed (default 2026)
	Workers int    // concurrent writers within a day (default 32)
	Now     time.Time
	// Orders, when set, are real orders to replay instead of generated
	// ones: JSON lines in the format of the UCI Online Retail data set
	// (order_id, customer_id, occurred_at, amount, items, cancellation,
	// cancels_order_id, adjustment), with their own times.
	Orders io.Reader
}

// Result is what the demo made.
type Result struct {
	Members, Orders, Refunds, Checkins, Redemptions, Draws, Claims int
	AllianceEarns, AllianceSpends                                  int // at the café and the cinema of the alliance
	Statements                                                     int // settlement statements closed
	Segments                                                       int // audience segments made (RFM computed at the end)
	WinBack                                                        int // members of the win-back campaign (treated and control)
	Refused                                                        int // operations the programme refused (no stock, too few points, …), as it would
	OperatorEmail, OperatorPassword, APIKey                        string
	Took                                                           time.Duration
}

// Run fills programme "default" of db, which must have no members yet.
func Run(ctx context.Context, db *store.DB, o Options, progress io.Writer) (Result, error) {
	start := time.Now()
	if o.Members == 0 {
		o.Members = 1500
	}
	if o.Days == 0 {
		o.Days = 365
	}
	if o.Seed == 0 {
		o.Seed = 2026
	}
	if o.Workers == 0 {
		o.Workers = 32 // enough for the writer to commit them in groups
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := o.Now.In(loc)
	first := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -o.Days+1)
	var plan [][]op
	if o.Orders != nil {
		var err error
		if plan, first, err = planOrders(o.Orders, loc); err != nil {
			return Result{}, err
		}
		o.Days = len(plan)
		o.Now = first.AddDate(0, 0, o.Days).Add(-time.Minute)
	}
	clk := clock.NewFake(first.Add(9 * time.Hour))
	a := app.New(app.Config{DB: db, Clock: clk, CacheTTL: time.Nanosecond, Random: rand.NewChaCha8([32]byte{byte(o.Seed)})})
	sys := auth.System(program.DefaultID)
	d := &run{a: a, db: db, clk: clk, sys: sys, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed)), loc: loc}
	res, err := d.setup(ctx)
	if err != nil {
		return res, err
	}
	if plan == nil {
		plan = d.plan(o, first)
	}
	for day := range o.Days {
		date := first.AddDate(0, 0, day)
		if err := d.replay(ctx, date, plan[day], o.Workers, &res); err != nil {
			return res, fmt.Errorf("%s: %w", date.Format(time.DateOnly), err)
		}
		if day == o.Days*3/4 {
			if res.WinBack, err = d.winBack(ctx, plan, day, date); err != nil {
				return res, err
			}
			d.segmented = true
		}
		if (day+1)*100/o.Days != day*100/o.Days {
			bar(progress, day+1, o.Days, date)
		}
	}
	fmt.Fprintln(progress)
	// The jobs a year would have run, at its end.
	clk.Set(o.Now)
	if err := d.jobs(ctx); err != nil {
		return res, err
	}
	if res.Statements, err = d.statements(ctx, first, o.Now); err != nil {
		return res, err
	}
	if res.Segments, err = d.audience(ctx, o.Now); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	return res, nil
}

func bar(w io.Writer, done, total int, date time.Time) {
	const width = 30
	n := done * width / total
	fmt.Fprintf(w, "\rreplaying %s [%-*s] %3d%%", date.Format(time.DateOnly), width, strings.Repeat("#", n), done*100/total)
}

type run struct {
	a   *app.App
	db  *store.DB
	clk *clock.Fake
	sys auth.Actor
	rng *rand.Rand
	loc *time.Location

	// what setup made, read (never written) by the replay's workers
	rewards  []string
	flash    string
	template string
	lottery  string
	stores   []string
	alliance []string // the café and the cinema
	// segmented says the segments were made (on the win-back's day).
	segmented bool
}

// write runs one operation in its own transaction.
func (d *run) write(ctx context.Context, lane string, fn func(ctx context.Context, tx *store.Tx) error) error {
	return d.db.Write(ctx, lane, fn)
}

// refused reports whether err is the programme saying no (as it would to
// a real member), not a failure of the demo.
func refused(err error) bool {
	switch failure.KindOf(err) {
	case failure.Internal, failure.Unavailable:
		return false
	}
	return true
}

// op is one thing a member does on a day, at a time of that day.
type op struct {
	at     time.Time
	member int
	kind   string // join, order, refund, checkin, redeem, draw, claim, earn-at, spend-at
	amount int64
	order  string
	store  int
}

type memberPlan struct {
	joins time.Time
	rate  float64 // orders per week
}

// plan draws the year: when each member joins, how often it buys, and
// every day's operations, in time order.
func (d *run) plan(o Options, first time.Time) [][]op {
	days := make([][]op, o.Days)
	ms := make([]memberPlan, o.Members)
	for i := range ms {
		// A third join in the first month (the launch), the rest over the year.
		day := d.rng.IntN(30)
		if d.rng.Float64() > 0.35 {
			day = d.rng.IntN(o.Days)
		}
		ms[i] = memberPlan{joins: first.AddDate(0, 0, day).Add(time.Duration(8+d.rng.IntN(12)) * time.Hour),
			rate: math.Exp(d.rng.NormFloat64()*0.9 - 1.2)} // most buy now and then, a few every week
		days[day] = append(days[day], op{at: ms[i].joins, member: i, kind: "join"})
	}
	orders := 0
	// The alliance's own draws, apart, so that they leave the chain's year
	// as it was.
	ally := rand.New(rand.NewPCG(o.Seed^0xa11, o.Seed))
	for day := range o.Days {
		date := first.AddDate(0, 0, day)
		season := seasonality(date)
		for i, m := range ms {
			if date.Before(time.Date(m.joins.Year(), m.joins.Month(), m.joins.Day(), 0, 0, 0, 0, d.loc)) {
				continue
			}
			at := date.Add(time.Duration(9*60+d.rng.IntN(12*60)) * time.Minute)
			if !at.After(m.joins) {
				at = m.joins.Add(time.Minute)
			}
			if d.rng.Float64() < m.rate/7*season {
				orders++
				amount := int64(math.Round(math.Exp(d.rng.NormFloat64()*0.6+8.4)/10)) * 10 // about 45 yuan
				id := fmt.Sprintf("demo-%06d", orders)
				days[day] = append(days[day], op{at: at, member: i, kind: "order", amount: amount, order: id, store: d.rng.IntN(3)})
				if d.rng.Float64() < 0.04 && day+3 < o.Days { // a refund a few days later, whole or in part
					r := op{at: at.AddDate(0, 0, 3), member: i, kind: "refund", order: id, amount: amount}
					if d.rng.Float64() < 0.5 {
						r.amount = amount / 2
					}
					days[day+3] = append(days[day+3], r)
				}
			}
			// A member of the café and cinema alliance now and then: earns at
			// one, spends at the other (the cinema's tickets cost points).
			if u := ally.Float64(); u < 0.006 {
				days[day] = append(days[day], op{at: at.Add(-2 * time.Hour), member: i, kind: "earn-at",
					amount: int64(20 + ally.IntN(80)), store: ally.IntN(2)})
			} else if u < 0.009 {
				days[day] = append(days[day], op{at: at.Add(-3 * time.Hour), member: i, kind: "spend-at",
					amount: int64(50 * (1 + ally.IntN(4))), store: ally.IntN(2)})
			}
			switch u := d.rng.Float64(); {
			case u < 0.02+m.rate/50:
				days[day] = append(days[day], op{at: at.Add(-time.Hour), member: i, kind: "checkin"})
			case u < 0.025+m.rate/40:
				days[day] = append(days[day], op{at: at.Add(time.Minute), member: i, kind: "redeem"})
			case u < 0.03+m.rate/35:
				days[day] = append(days[day], op{at: at.Add(2 * time.Minute), member: i, kind: "draw"})
			case u < 0.035+m.rate/30:
				days[day] = append(days[day], op{at: at.Add(3 * time.Minute), member: i, kind: "claim"})
			}
		}
	}
	return days
}

// seasonality: the Spring Festival lull, 618, 双十一 and the year's end.
func seasonality(t time.Time) float64 {
	switch {
	case t.Month() == time.February:
		return 0.6
	case t.Month() == time.June && t.Day() >= 15 && t.Day() <= 18:
		return 2.5
	case t.Month() == time.November && t.Day() == 11:
		return 6
	case t.Month() == time.November || t.Month() == time.December:
		return 1.4
	}
	return 1
}

// replay runs a day's operations on a clock set to the day's end (so
// that late events are dated as they happened): members join first; then
// orders, refunds and check-ins, which touch only their member (and its
// inviter), in parallel across members, each member's in time order; then,
// one at a time in time order, what takes shared stock or randomness
// (redemptions, draws, coupon claims), so that the same seed makes the
// same programme.
func (d *run) replay(ctx context.Context, date time.Time, ops []op, workers int, res *Result) error {
	d.clk.Set(date.AddDate(0, 0, 1).Add(-time.Minute))
	var joins, own, shared []op
	for _, o := range ops {
		switch o.kind {
		case "join":
			joins = append(joins, o)
		case "redeem", "draw", "claim":
			shared = append(shared, o)
		default:
			own = append(own, o)
		}
	}
	sort.SliceStable(own, func(i, j int) bool { return own[i].at.Before(own[j].at) })
	sort.SliceStable(shared, func(i, j int) bool { return shared[i].at.Before(shared[j].at) })
	for _, batch := range [][]op{joins, own} {
		if err := d.parallel(ctx, batch, workers, res); err != nil {
			return err
		}
	}
	return d.parallel(ctx, shared, 1, res)
}

// parallel runs ops on workers lanes, a member always on the same lane.
func (d *run) parallel(ctx context.Context, ops []op, workers int, res *Result) error {
	lanes := make([][]op, workers)
	for _, o := range ops {
		lanes[o.member%workers] = append(lanes[o.member%workers], o)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var mu sync.Mutex
	for _, lane := range lanes {
		wg.Add(1)
		go func(lane []op) {
			defer wg.Done()
			for _, o := range lane {
				err := d.do(ctx, o)
				mu.Lock()
				count(res, o, err)
				mu.Unlock()
				if err != nil && !refused(err) {
					errs <- err
					return
				}
			}
		}(lane)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func count(res *Result, o op, err error) {
	if err != nil {
		res.Refused++
		return
	}
	switch o.kind {
	case "join":
		res.Members++
	case "order":
		res.Orders++
	case "refund":
		res.Refunds++
	case "checkin":
		res.Checkins++
	case "redeem":
		res.Redemptions++
	case "draw":
		res.Draws++
	case "claim":
		res.Claims++
	case "earn-at":
		res.AllianceEarns++
	case "spend-at":
		res.AllianceSpends++
	}
}

func ext(i int) string { return fmt.Sprintf("ext:demo-%05d", i) }

func (d *run) do(ctx context.Context, o op) error {
	ref := ext(o.member)
	return d.write(ctx, ref, func(ctx context.Context, tx *store.Tx) error {
		var err error
		switch o.kind {
		case "join":
			in := member.Input{ExternalID: ptr(ref[4:]), Name: ptr(fmt.Sprintf("会员%05d", o.member))}
			if o.member%7 == 3 && o.member > 7 { // invited by an earlier member
				var inviter member.Member
				if inviter, err = d.a.Members.Get(ctx, d.sys, ext(o.member-7)); err == nil {
					in.ReferralCode = ptr(inviter.ReferralCode)
				}
			}
			_, err = d.a.Members.Create(ctx, tx, d.sys, in)
		case "order":
			data, _ := json.Marshal(map[string]any{"order_id": o.order, "amount": o.amount,
				"items": []map[string]any{{"sku": "tea-" + fmt.Sprint(o.amount%7), "category": category(o.amount), "quantity": 1, "amount": o.amount}}})
			at := o.at.Format(time.RFC3339)
			_, err = d.a.Events.Post(ctx, tx, d.sys, events.Input{ID: "evt-" + o.order, Type: events.OrderPaid, Member: ref,
				OccurredAt: &at, MerchantID: d.stores[o.store], Data: data})
		case "refund":
			data, _ := json.Marshal(map[string]any{"order_id": o.order, "amount": o.amount})
			at := o.at.Format(time.RFC3339)
			_, err = d.a.Events.Post(ctx, tx, d.sys, events.Input{ID: "evt-refund-" + o.order, Type: events.OrderRefunded,
				Member: ref, OccurredAt: &at, Data: data})
		case "checkin":
			_, err = d.a.Checkins.CheckIn(ctx, tx, d.sys, ref)
		case "redeem":
			err = d.redeem(ctx, tx, ref, o)
		case "draw":
			_, err = d.a.Lotteries.Draw(ctx, tx, d.sys, d.lottery, lotteryDraw(ref))
		case "claim":
			_, err = d.a.Coupons.Claim(ctx, tx, d.sys, d.template, claimOf(ref))
		case "earn-at":
			_, err = d.a.Points.Earn(ctx, tx, d.sys, ref, points.EarnInput{Points: o.amount, MerchantID: d.alliance[o.store],
				Reason: "alliance purchase"})
		case "spend-at":
			_, err = d.a.Points.Spend(ctx, tx, d.sys, ref, points.SpendInput{Points: o.amount, MerchantID: d.alliance[o.store],
				Reason: "alliance redemption"})
		}
		return err
	})
}

func ptr[T any](v T) *T { return &v }

func category(amount int64) string {
	switch amount % 3 {
	case 0:
		return "milk-tea"
	case 1:
		return "fruit-tea"
	}
	return "snack"
}
