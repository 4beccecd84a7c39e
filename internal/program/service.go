package program

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/outbox"
	"github.com/jifen/jifen/internal/store"
)

// Service reads and changes programs.
type Service struct {
	db    *store.DB
	clock clock.Clock
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	p  Program
	at time.Time
}

// NewService returns a service whose cached settings live at most ttl
// (other nodes' changes show after that; this node's at once).
func NewService(db *store.DB, clk clock.Clock, ttl time.Duration) *Service {
	return &Service{db: db, clock: clk, ttl: ttl, cache: make(map[string]cached)}
}

// Get returns a program's settings.
func (s *Service) Get(ctx context.Context, programID string) (Program, error) {
	s.mu.Lock()
	c, ok := s.cache[programID]
	s.mu.Unlock()
	if ok && time.Since(c.at) < s.ttl {
		return c.p, nil
	}
	p, err := load(ctx, s.db.Read(), programID)
	if err != nil {
		return Program{}, err
	}
	s.mu.Lock()
	s.cache[programID] = cached{p, time.Now()}
	s.mu.Unlock()
	return p, nil
}

// Forget drops the cached copy of a program.
func (s *Service) Forget(programID string) {
	s.mu.Lock()
	delete(s.cache, programID)
	s.mu.Unlock()
}

func load(ctx context.Context, c *store.Conn, programID string) (Program, error) {
	sp, err := c.Program(ctx, programID)
	if err != nil {
		return Program{}, err
	}
	return withCurrencies(ctx, c, sp)
}

// loadForUpdate reads a program locked, so two changes on two nodes cannot
// lose one another.
func loadForUpdate(ctx context.Context, tx *store.Tx, programID string) (Program, error) {
	sp, err := tx.LockProgram(ctx, programID)
	if err != nil {
		return Program{}, err
	}
	return withCurrencies(ctx, &tx.Conn, sp)
}

func withCurrencies(ctx context.Context, c *store.Conn, sp store.Program) (Program, error) {
	programID := sp.ID
	curs, err := c.Currencies(ctx, programID)
	if err != nil {
		return Program{}, err
	}
	p, err := fromStore(sp, curs)
	if err != nil {
		return p, err
	}
	hooks, _, err := c.Webhooks(ctx, programID, true, store.Page{Limit: 1000})
	if err != nil {
		return Program{}, err
	}
	p.Webhooks = outbox.NewSubs(hooks)
	return p, nil
}

// Create makes a program with the default settings and its two built-in
// currencies, unless it exists; it reports whether it created it.
func Create(ctx context.Context, tx *store.Tx, programID, name string, now time.Time) (bool, error) {
	p := Program{
		ID: programID, Name: name, Timezone: DefaultTimezone, Currency: DefaultCurrency,
		PointsPerYuan: DefaultPointsPerYuan, MaxOffsetPercent: DefaultMaxOffsetPercent,
		Expiry: ledger.Policy{Kind: ledger.Never}, NegativeBalance: ledger.AllowDebt,
		ExpiringNoticeDays: DefaultExpiringNoticeDays,
		CreatedAt:          now, UpdatedAt: now,
	}
	created, err := tx.InsertProgram(ctx, p.toStore())
	if err != nil || !created {
		return created, err
	}
	never, _ := json.Marshal(ledger.Policy{Kind: ledger.Never})
	for _, c := range []store.Currency{
		{Code: ledger.Points, Name: "Points", Spendable: true, CreatedAt: now},
		{Code: ledger.Growth, Name: "Growth value", Spendable: false, Expiry: never, CreatedAt: now},
	} {
		if _, err := tx.InsertCurrency(ctx, programID, c); err != nil {
			return false, err
		}
	}
	return true, nil
}

// ActingMerchant is the merchant an operation acts as (the actor's own
// for a merchant key, else the one named), checked in the operation's
// transaction: it must be a merchant of the programme.
func ActingMerchant(ctx context.Context, tx *store.Tx, a auth.Actor, named string) (string, error) {
	mer, err := a.ActingMerchant(named)
	if err != nil || mer == "" {
		return mer, err
	}
	if _, err := tx.Merchant(ctx, a.ProgramID, mer); err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return "", failure.Field("merchant_id", "no such merchant")
		}
		return "", err
	}
	return mer, nil
}
