// Package report is what finance and operators read of a programme: the
// summary of a period (points issued, spent, expired and outstanding, the
// liability in yuan, redemption and breakage rates, members) and its days.
// Days are programme-local; a merchant key is held to its own merchant.
// The figures are computed in SQL from the ledger itself (transactions,
// postings, lot moves), so they cannot disagree with it.
package report

import (
	"context"
	"math/big"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// MaxDays is the longest period a report covers.
const MaxDays = 366

// Query names a report's period (programme-local dates, inclusive), its
// merchant and its currency.
type Query struct {
	From, To   string // YYYY-MM-DD; default the 30 days ending today
	MerchantID string
	Currency   string // default points
}

// Summary is a period's figures.
type Summary struct {
	From           string  `json:"from"`
	To             string  `json:"to"`
	Currency       string  `json:"currency"`
	Issued         int64   `json:"issued"`
	Spent          int64   `json:"spent"`
	Expired        int64   `json:"expired"`
	Reversed       int64   `json:"reversed"`
	Adjusted       int64   `json:"adjusted"`
	Outstanding    int64   `json:"outstanding"`
	LiabilityFen   *int64  `json:"liability_fen"`
	RedemptionRate *string `json:"redemption_rate"`
	BreakageRate   *string `json:"breakage_rate"`
	MembersTotal   int64   `json:"members_total"`
	MembersNew     int64   `json:"members_new"`
	MembersActive  int64   `json:"members_active"`
}

// Day is one programme-local day's figures.
type Day struct {
	Date          string `json:"date"`
	Issued        int64  `json:"issued"`
	Spent         int64  `json:"spent"`
	Expired       int64  `json:"expired"`
	Reversed      int64  `json:"reversed"`
	MembersNew    int64  `json:"members_new"`
	MembersActive int64  `json:"members_active"`
}

// Service computes reports.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the report service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// period is a resolved query: the programme, the first and last local
// days, and the merchant the actor may see.
type period struct {
	p          program.Program
	from, to   time.Time // local midnights: from is the first day, to the day after the last
	merchantID string
	currency   string
}

func (s *Service) resolve(ctx context.Context, a auth.Actor, q Query) (period, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return period{}, err
	}
	var fs failure.Fields
	today := s.clock.Now().In(p.Location)
	day := func(field, v string, def time.Time) time.Time {
		if v == "" {
			return def
		}
		t, err := time.ParseInLocation(time.DateOnly, v, p.Location)
		if err != nil {
			fs.Add(field, "must be a date, YYYY-MM-DD")
		}
		return t
	}
	midnight := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, p.Location)
	to := day("to", q.To, midnight)
	from := day("from", q.From, to.AddDate(0, 0, -29))
	if err := fs.Err(); err != nil {
		return period{}, err
	}
	switch days := int(to.Sub(from).Hours()/24+0.5) + 1; {
	case days < 1:
		fs.Add("to", "must not be before from")
	case days > MaxDays:
		fs.Add("to", "a report covers at most %d days", MaxDays)
	}
	cur := q.Currency
	if cur == "" {
		cur = ledger.Points
	} else if _, ok := p.Currencies[cur]; !ok {
		fs.Add("currency", "no currency %q in the program", cur)
	}
	if err := fs.Err(); err != nil {
		return period{}, err
	}
	mer, err := a.ActingMerchant(q.MerchantID)
	if err != nil {
		return period{}, err
	}
	return period{p: p, from: from, to: to.AddDate(0, 0, 1), merchantID: mer, currency: cur}, nil
}

// Period is the first and last day a query covers, for a file's name.
func (s *Service) Period(ctx context.Context, a auth.Actor, q Query) (from, to string, err error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return "", "", err
	}
	return pd.from.Format(time.DateOnly), pd.to.AddDate(0, 0, -1).Format(time.DateOnly), nil
}

// Summary computes a period's figures.
func (s *Service) Summary(ctx context.Context, a auth.Actor, q Query) (Summary, error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return Summary{}, err
	}
	c := s.db.Replica()
	t, err := totals(ctx, c, pd, pd.from, pd.to)
	if err != nil {
		return Summary{}, err
	}
	out, err := c.Outstanding(ctx, pd.p.ID, pd.currency, pd.merchantID, pd.to)
	if err != nil {
		return Summary{}, err
	}
	m, err := c.MemberFigures(ctx, pd.p.ID, pd.merchantID, pd.p.Location, pd.from, pd.to)
	if err != nil {
		return Summary{}, err
	}
	r := Summary{From: pd.from.Format(time.DateOnly), To: pd.to.AddDate(0, 0, -1).Format(time.DateOnly), Currency: pd.currency,
		Issued: t.Issued, Spent: t.Spent, Expired: t.Expired, Reversed: t.Reversed, Adjusted: t.Adjusted, Outstanding: out,
		RedemptionRate: rate(t.Spent, t.Issued), BreakageRate: rate(t.Expired, t.Issued),
		MembersTotal: m.Total, MembersNew: m.New, MembersActive: m.Active}
	if pd.currency == ledger.Points {
		fen := out * 100 / pd.p.PointsPerYuan
		r.LiabilityFen = &fen
	}
	return r, nil
}

// Daily computes each day of a period, quiet days included: the points
// from the rollups and the active members from the day counters, a read
// each; the new members in one pass when the programme's UTC offset holds
// over the period (else day by day).
func (s *Service) Daily(ctx context.Context, a auth.Actor, q Query) ([]Day, error) {
	pd, err := s.resolve(ctx, a, q)
	if err != nil {
		return nil, err
	}
	c := s.db.Replica()
	var days []time.Time // each day's start, and the end of the last
	for d := pd.from; !d.After(pd.to); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	out := make([]Day, len(days)-1)
	for i := range out {
		out[i].Date = days[i].Format(time.DateOnly)
	}
	if err := dailyPoints(ctx, c, pd, days, out); err != nil {
		return nil, err
	}
	active, err := c.ActiveByDay(ctx, pd.p.ID, pd.merchantID, pd.p.Location, pd.from, pd.to)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].MembersActive = active[out[i].Date]
	}
	if _, off0 := pd.from.Zone(); evenDays(days, off0) {
		news, err := c.NewByDay(ctx, pd.p.ID, pd.merchantID, pd.from, len(out))
		if err != nil {
			return nil, err
		}
		for i, n := range news {
			out[i].MembersNew = n
		}
		return out, nil
	}
	for i := range out {
		n, err := c.NewMembers(ctx, pd.p.ID, pd.merchantID, days[i], days[i+1])
		if err != nil {
			return nil, err
		}
		out[i].MembersNew = n
	}
	return out, nil
}

// evenDays reports whether every day is 24 hours at one UTC offset.
func evenDays(days []time.Time, offset int) bool {
	for i, d := range days {
		if _, off := d.Zone(); off != offset || (i > 0 && d.Sub(days[i-1]) != 24*time.Hour) {
			return false
		}
	}
	return true
}

// dailyPoints fills each day's points: from the rollups in one read when
// every day starts on a quarter hour (the midnights of every timezone in
// use do), else from the ledger day by day.
func dailyPoints(ctx context.Context, c *store.Conn, pd period, days []time.Time, out []Day) error {
	for _, d := range days {
		if !store.OnBucket(d) {
			for i := range out {
				t, err := c.LedgerTotals(ctx, pd.p.ID, pd.currency, pd.merchantID, days[i], days[i+1])
				if err != nil {
					return err
				}
				out[i].Issued, out[i].Spent, out[i].Expired, out[i].Reversed = t.Issued, t.Spent, t.Expired, t.Reversed
			}
			return nil
		}
	}
	bs, err := c.RollupTotals(ctx, pd.p.ID, pd.currency, pd.merchantID, days[0], days[len(days)-1], true)
	if err != nil {
		return err
	}
	i := 0
	for _, b := range bs {
		for b.Bucket >= days[i+1].UnixMilli()/store.BucketMS {
			i++
		}
		out[i].Issued += b.Issued
		out[i].Spent += b.Spent
		out[i].Expired += b.Expired
		out[i].Reversed += b.Reversed
	}
	return nil
}

// totals sums [from, to): from the rollups when both ends fall on a
// quarter hour, else from the ledger itself.
func totals(ctx context.Context, c *store.Conn, pd period, from, to time.Time) (store.Totals, error) {
	if !store.OnBucket(from) || !store.OnBucket(to) {
		return c.LedgerTotals(ctx, pd.p.ID, pd.currency, pd.merchantID, from, to)
	}
	bs, err := c.RollupTotals(ctx, pd.p.ID, pd.currency, pd.merchantID, from, to, false)
	if err != nil || len(bs) == 0 {
		return store.Totals{}, err
	}
	return bs[0].Totals, nil
}

// rate is a/b as a decimal string with 4 places, or nil when b is 0.
func rate(a, b int64) *string {
	if b == 0 {
		return nil
	}
	s := new(big.Rat).SetFrac64(a, b).FloatString(4)
	return &s
}
