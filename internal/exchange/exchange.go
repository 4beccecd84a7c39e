// Package exchange is the exchange between a programme's point
// currencies: the rates an admin sets per ordered pair, and a member's
// exchange of points of one currency for another (one ledger transaction
// of type exchange, ledger.Exchange), with its daily limit.
//
// Rounding: received = floor(points × rate), computed exactly (the rate
// is a decimal of at most 6 places, held as a big.Rat); the points are
// taken in full, and an exchange that would receive nothing is refused.
//
// Merchant scope: a merchant key exchanges as its own merchant (the
// source lots' redeem moves are there) and lists only the exchanges made
// there; a member token exchanges for itself, at no merchant.
package exchange

import (
	"context"
	"encoding/json"
	"math/big"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

// Service runs the exchange operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the exchange service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// Rate is the exchange rate of one ordered pair of currencies.
type Rate struct {
	From       string     `json:"from"`
	To         string     `json:"to"`
	Rate       rules.Rate `json:"rate" doc:"target points per source point, a decimal string with at most 6 decimals"`
	DailyLimit *int64     `json:"daily_limit" doc:"source points per member per programme-local day; null: no limit"`
	Active     bool       `json:"active"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

func rateOf(r store.ExchangeRate) (Rate, error) {
	v, err := rules.ParseRate(r.Rate)
	return Rate{From: r.From, To: r.To, Rate: v, DailyLimit: r.DailyLimit, Active: r.Active, UpdatedAt: r.UpdatedAt}, err
}

// RateInput sets a pair's rate.
type RateInput struct {
	Rate       rules.Rate `json:"rate" api:"required" doc:"target points per source point: a positive decimal string with at most 6 decimals, such as \"0.5\""`
	DailyLimit *int64     `json:"daily_limit,omitempty" api:"min=1,max=MaxPoints" doc:"source points per member per programme-local day; absent: no limit"`
	Active     *bool      `json:"active,omitempty" doc:"default true"`
}

// Validate checks the input on its own.
func (in RateInput) Validate() error {
	var fs failure.Fields
	switch {
	case in.Rate.Check("rate") != nil:
		fs = append(fs, failure.As(in.Rate.Check("rate")).Fields...)
	case in.Rate.IsZero():
		fs.Add("rate", "is required: a positive decimal string such as \"0.5\"")
	case in.Rate.Rat().Sign() <= 0:
		fs.Add("rate", "must be greater than zero")
	}
	if in.DailyLimit != nil {
		input.Points(&fs, "daily_limit", *in.DailyLimit)
	}
	return fs.Err()
}

// checkPair checks the currencies of a pair: both the programme's, from
// spendable, the two different.
func checkPair(p program.Program, from, to string) error {
	var fs failure.Fields
	if c, ok := p.Currencies[from]; !ok {
		fs.Add("from", "unknown currency %q", from)
	} else if !c.Spendable {
		fs.Add("from", "currency %q cannot be spent, so not exchanged away", from)
	}
	if _, ok := p.Currencies[to]; !ok {
		fs.Add("to", "unknown currency %q", to)
	} else if to == from {
		fs.Add("to", "must differ from from")
	}
	return fs.Err()
}

// PutRate sets (creates or replaces) the rate from one currency to another.
func (s *Service) PutRate(ctx context.Context, tx *store.Tx, a auth.Actor, from, to string, in RateInput) (Rate, error) {
	if err := in.Validate(); err != nil {
		return Rate{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Rate{}, err
	}
	if err := checkPair(p, from, to); err != nil {
		return Rate{}, err
	}
	r := store.ExchangeRate{From: from, To: to, Rate: in.Rate.String(), DailyLimit: in.DailyLimit, Active: true, UpdatedAt: s.clock.Now()}
	if in.Active != nil {
		r.Active = *in.Active
	}
	if err := tx.PutExchangeRate(ctx, p.ID, r); err != nil {
		return Rate{}, err
	}
	return rateOf(r)
}

// DeleteRate removes a pair's rate.
func (s *Service) DeleteRate(ctx context.Context, tx *store.Tx, a auth.Actor, from, to string) error {
	return tx.DeleteExchangeRate(ctx, a.ProgramID, from, to)
}

// Rates lists the programme's rates by pair.
func (s *Service) Rates(ctx context.Context, a auth.Actor) ([]Rate, error) {
	rs, err := s.db.Read().ExchangeRates(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	out := make([]Rate, len(rs))
	for i, r := range rs {
		if out[i], err = rateOf(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Input is a member's exchange.
type Input struct {
	From       string `json:"from" doc:"a spendable point currency"`
	To         string `json:"to" doc:"a point currency with an active rate from from"`
	Points     int64  `json:"points" api:"min=1,max=MaxPoints" doc:"source points, taken in full"`
	Reference  string `json:"reference,omitempty" api:"maxlen=128"`
	MerchantID string `json:"merchant_id,omitempty" doc:"where the exchange happens; a merchant key is always its own"`
}

// Validate checks the input on its own.
func (in Input) Validate() error {
	var fs failure.Fields
	input.Required(&fs, "from", in.From != "", "a point currency")
	input.Required(&fs, "to", in.To != "", "a point currency")
	input.Points(&fs, "points", in.Points)
	input.Text(&fs, "reference", in.Reference, 128)
	return fs.Err()
}

// Exchange is one exchange of a member's points.
type Exchange struct {
	ID            string      `json:"id"`
	MemberID      string      `json:"member_id"`
	From          string      `json:"from"`
	To            string      `json:"to"`
	Points        int64       `json:"points" doc:"source points taken"`
	Received      int64       `json:"received" doc:"floor(points × rate) points of to"`
	Rate          rules.Rate  `json:"rate"`
	TransactionID string      `json:"transaction_id" doc:"the exchange transaction (currency from, points points)"`
	Reference     null.String `json:"reference"`
	MerchantID    null.String `json:"merchant_id"`
	CreatedAt     time.Time   `json:"created_at"`
	Reversed      bool        `json:"reversed" doc:"its transaction has been reversed"`
}

func exchangeOf(x store.Exchange) (Exchange, error) {
	r, err := rules.ParseRate(x.Rate)
	return Exchange{
		ID: x.ID, MemberID: x.MemberID, From: x.From, To: x.To, Points: x.Points, Received: x.Received, Rate: r,
		TransactionID: x.TransactionID, Reference: x.Reference, MerchantID: x.MerchantID, CreatedAt: x.CreatedAt,
		Reversed: x.Reversed,
	}, err
}

// Received is floor(points × rate), exact.
func Received(points int64, rate rules.Rate) int64 {
	v := new(big.Rat).Mul(new(big.Rat).SetInt64(points), rate.Rat())
	q := new(big.Int).Quo(v.Num(), v.Denom())
	if !q.IsInt64() {
		return ledger.MaxPoints + 1
	}
	return q.Int64()
}

// Exchange takes points of one currency from a member and gives it
// floor(points × rate) of another, in one ledger transaction.
func (s *Service) Exchange(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in Input) (Exchange, error) {
	if err := in.Validate(); err != nil {
		return Exchange{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Exchange{}, err
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, ref)
	if err != nil {
		return Exchange{}, err
	}
	now := s.clock.Now()
	if a.IsMember() && in.MerchantID != "" {
		return Exchange{}, failure.New(failure.Forbidden, "a member token exchanges at no merchant")
	}
	mer, err := program.ActingMerchant(ctx, tx, a, in.MerchantID)
	if err != nil {
		return Exchange{}, err
	}
	if err := checkPair(p, in.From, in.To); err != nil {
		return Exchange{}, err
	}
	rec, err := tx.ExchangeRate(ctx, p.ID, in.From, in.To)
	if failure.KindOf(err) == failure.NotFound || (err == nil && !rec.Active) {
		return Exchange{}, failure.Field("to", "no active exchange rate from %s to %s", in.From, in.To)
	}
	if err != nil {
		return Exchange{}, err
	}
	rate, err := rules.ParseRate(rec.Rate)
	if err != nil {
		return Exchange{}, err
	}
	received := Received(in.Points, rate)
	switch {
	case received <= 0:
		return Exchange{}, failure.Field("points", "%d %s at rate %s give no %s", in.Points, in.From, rate, in.To)
	case received > ledger.MaxPoints:
		return Exchange{}, failure.Field("points", "would receive more than %d %s", int64(ledger.MaxPoints), in.To)
	}
	x := store.Exchange{
		ID: id.New("xch"), MemberID: memberID, From: in.From, To: in.To, Points: in.Points, Received: received,
		Rate: rate.String(), Reference: null.String(in.Reference), MerchantID: null.String(mer), CreatedAt: now,
	}
	meta, _ := json.Marshal(map[string]any{"exchange_id": x.ID, "to": in.To, "received": received, "rate": rate})
	t, err := ledger.Exchange(ctx, tx, p.Ledger(), ledger.ExchangeInput{
		MemberID: memberID, From: in.From, To: in.To, Points: in.Points, Received: received, Reference: in.Reference,
		MerchantID: mer, Metadata: meta, Now: now,
		Check: func(ctx context.Context) error { return checkLimit(ctx, tx, p, rec, memberID, in.Points, now) },
	})
	if err != nil {
		return Exchange{}, err
	}
	x.TransactionID = t.ID
	if err := tx.InsertExchange(ctx, p.ID, x); err != nil {
		return Exchange{}, err
	}
	if in.To == ledger.Growth && len(p.Tiers) > 0 {
		m, err := tx.MemberByID(ctx, p.ID, memberID) // under the member's lock, taken by the exchange
		if err != nil {
			return Exchange{}, err
		}
		if _, err := tier.Raise(ctx, tx, p, m, now); err != nil {
			return Exchange{}, err
		}
	}
	return exchangeOf(x)
}

// checkLimit refuses an exchange that takes the member past the pair's
// daily limit: the source points of the programme-local day's exchanges
// of the pair that are not reversed, read under the member's lock.
func checkLimit(ctx context.Context, tx *store.Tx, p program.Program, r store.ExchangeRate, memberID string, points int64, now time.Time) error {
	if r.DailyLimit == nil {
		return nil
	}
	l := now.In(p.Location)
	start := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, p.Location)
	end := start.AddDate(0, 0, 1)
	used, err := tx.ExchangedBetween(ctx, p.ID, memberID, r.From, r.To, start, end)
	if err != nil {
		return err
	}
	if used+points > *r.DailyLimit {
		return failure.New(failure.LimitExceeded, "%d %s a day may be exchanged into %s; %d are exchanged today (%s)",
			*r.DailyLimit, r.From, r.To, used, p.Today(now))
	}
	return nil
}

// Exchanges lists a member's exchanges, newest first; a merchant key sees
// only those made at its merchant.
func (s *Service) Exchanges(ctx context.Context, a auth.Actor, ref string, pg store.Page) ([]Exchange, string, error) {
	m, err := identity.Resolve(ctx, s.db.Read(), a, ref)
	if err != nil {
		return nil, "", err
	}
	var f store.ExchangeFilter
	if a.IsMerchant() {
		f.MerchantID = a.MerchantID
	}
	rows, next, err := s.db.Replica().MemberExchanges(ctx, a.ProgramID, m.ID, f, pg)
	if err != nil {
		return nil, "", err
	}
	out := make([]Exchange, len(rows))
	for i, r := range rows {
		if out[i], err = exchangeOf(r); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}
