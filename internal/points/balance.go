package points

import (
	"context"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/store"
)

// Balance reads a member's balances, one per currency of the programme,
// read from the primary: what a checkout decides on.
func (s *Service) Balance(ctx context.Context, a auth.Actor, ref string) (map[string]*ledger.MemberBalance, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	c := s.db.Read()
	memberID, err := identity.ID(ctx, c, a, ref)
	if err != nil {
		return nil, err
	}
	bals, err := ledger.Balances(ctx, c, p.Ledger(), memberID, s.clock.Now())
	if failure.KindOf(err) == failure.NotFound {
		return nil, failure.New(failure.NotFound, "member %s not found", ref)
	}
	return bals, err
}

// LotStatuses are the statuses a lot list filters on.
var LotStatuses = []string{store.LotPending, store.LotAvailable, store.LotSpent, store.LotExpired, store.LotReversed}

// Lots lists a member's lots, newest first; a merchant key sees only the
// lots its merchant issued.
func (s *Service) Lots(ctx context.Context, a auth.Actor, ref string, f store.LotFilter, pg store.Page) ([]ledger.Lot, string, error) {
	var fs failure.Fields
	input.OneOf(&fs, "status", f.Status, LotStatuses...)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	if err := s.knownCurrency(ctx, a, f.Currency); err != nil {
		return nil, "", err
	}
	// The member is resolved on the primary, so one the replica has yet to
	// see is found; its list comes from the replica.
	m, err := identity.Resolve(ctx, s.db.Read(), a, ref)
	if err != nil {
		return nil, "", err
	}
	if a.IsMerchant() {
		f.MerchantID = a.MerchantID
	}
	return ledger.MemberLots(ctx, s.db.Replica(), a.ProgramID, m.ID, f, pg)
}

// Verify checks the programme's books (admin only, by its route).
func (s *Service) Verify(ctx context.Context, a auth.Actor) (ledger.Report, error) {
	return ledger.Verify(ctx, s.db.Read(), a.ProgramID)
}
