package tier

import (
	"context"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Service runs the tier operations of the API.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the tier service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// UpgradeInput names the tier a member buys.
type UpgradeInput struct {
	To string `json:"to" api:"minlen=1" doc:"the code of the tier to buy: above the member's, with upgrade_cost_points"`
}

// Validate checks the input on its own.
func (in UpgradeInput) Validate() error {
	if strings.TrimSpace(in.To) == "" {
		return failure.Field("to", "is required: the code of the tier to buy")
	}
	return nil
}

// Upgraded is a member's tier bought with points.
type Upgraded struct {
	MemberID string  `json:"member_id"`
	From     *string `json:"from"`
	To       *string `json:"to"`
	Reason   string  `json:"reason"`
}

// Upgrade buys a member a higher tier with that tier's
// upgrade_cost_points, spent as its own transaction ("tier upgrade to
// <code>"). The target must be buyable and above the member's tier.
func (s *Service) Upgrade(ctx context.Context, tx *store.Tx, a auth.Actor, ref string, in UpgradeInput) (Upgraded, error) {
	if err := in.Validate(); err != nil {
		return Upgraded{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Upgraded{}, err
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, ref)
	if err != nil {
		return Upgraded{}, err
	}
	mer, err := program.ActingMerchant(ctx, tx, a, "")
	if err != nil {
		return Upgraded{}, err
	}
	now := s.clock.Now()
	m, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now)
	if err != nil {
		return Upgraded{}, err
	}
	if err := ledger.Active(m); err != nil {
		return Upgraded{}, err
	}
	t, _, ok := p.TierByCode(in.To)
	switch {
	case !ok:
		return Upgraded{}, failure.Field("to", "no tier %q", in.To)
	case t.UpgradeCostPoints == nil:
		return Upgraded{}, failure.Field("to", "tier %q cannot be bought", in.To)
	case rank(p, in.To) <= rank(p, string(m.Tier)):
		return Upgraded{}, failure.New(failure.Conflict, "member %s is already at tier %s or above", m.ID, m.Tier)
	}
	_, err = ledger.Spend(ctx, tx, p.Ledger(), ledger.SpendInput{
		MemberID: m.ID, Points: *t.UpgradeCostPoints, Reason: "tier upgrade to " + in.To, Reference: "tier:" + in.To,
		MerchantID: mer, Now: now,
	})
	if err != nil {
		return Upgraded{}, err
	}
	c, err := set(ctx, tx, p, m, in.To, ReasonUpgrade, now)
	return Upgraded{MemberID: m.ID, From: c.From, To: c.To, Reason: c.Reason}, err
}

// Entry is one change of a member's tier history.
type Entry struct {
	From   null.String `json:"from"`
	To     null.String `json:"to"`
	Reason string      `json:"reason"` // growth, review, upgrade, adjust
	At     time.Time   `json:"at"`
}

// History lists a member's tier changes, newest first.
func (s *Service) History(ctx context.Context, a auth.Actor, ref string, pg store.Page) ([]Entry, string, error) {
	c := s.db.Replica()
	m, err := identity.Resolve(ctx, c, a, ref)
	if err != nil {
		return nil, "", err
	}
	rows, next, err := c.TierHistory(ctx, a.ProgramID, m.ID, pg)
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{From: r.From, To: r.To, Reason: r.Reason, At: r.At}
	}
	return out, next, err
}
