// Package points is what an actor may do with a member's points through
// the API: earn, spend, adjust, hold and capture or release, reverse, and
// read balances, transactions, lots and holds. Each operation takes the
// actor and a decoded input, validates it, resolves the member and the
// acting merchant, and runs in the transaction it is given; the books
// themselves (postings, lots, allocation, expiry) are ledger's.
//
// Merchant scope: a merchant key earns, spends and holds only as its own
// merchant; it reads, captures and releases only the holds placed there,
// reverses and reads only the transactions its merchant made (earns it
// issued, spends and captures made there), and lists only those. Anything
// of another merchant or of the programme is not_found to it. Balances
// are whole: the card is shared.
package points

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

// Service runs the points operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the points service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// begin is what every write operation starts with: the actor's programme
// settings, the member's ID and the instant the operation happens at.
func (s *Service) begin(ctx context.Context, tx *store.Tx, a auth.Actor, ref string) (program.Program, string, time.Time, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return p, "", time.Time{}, err
	}
	id, err := identity.ID(ctx, &tx.Conn, a, ref)
	return p, id, s.clock.Now(), err
}

// withTierRaise runs a ledger write and, when it changes the growth value
// of a programme with tiers, raises the member's tier at once. The
// member's lock comes first, as in every operation on several of its rows.
func withTierRaise(ctx context.Context, tx *store.Tx, p program.Program, memberID, currency string, now time.Time, write func() (ledger.Txn, error)) (ledger.Txn, error) {
	if currency != ledger.Growth || len(p.Tiers) == 0 {
		return write()
	}
	if _, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now); err != nil {
		return ledger.Txn{}, err
	}
	t, err := write()
	if err != nil {
		return t, err
	}
	m, err := tx.MemberByID(ctx, p.ID, memberID)
	if err != nil {
		return t, err
	}
	_, err = tier.Raise(ctx, tx, p, m, now)
	return t, err
}

// notFound is how a merchant key is told of what it may not see.
func notFound(what, id string) error {
	return failure.New(failure.NotFound, "%s %s not found", what, id)
}

// knownCurrency checks a list's currency filter: empty, or one of the
// programme's currencies (an unknown one is validation_failed, not an
// empty list).
func (s *Service) knownCurrency(ctx context.Context, a auth.Actor, code string) error {
	if code == "" {
		return nil
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return err
	}
	if _, ok := p.Currencies[code]; !ok {
		return failure.Field("currency", "unknown currency %q", code)
	}
	return nil
}
