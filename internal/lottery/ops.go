package lottery

import (
	"context"
	"github.com/jifen/jifen/internal/outbox"
	"io"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// The lotteries' merchant rule: every key reads every lottery; a merchant
// key creates, pauses and resumes only its own merchant's, and draws on,
// and lists the draws of, only the programme's and its own.

// Service runs the lottery operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
	drawer   drawer
}

// NewService returns the lottery service; random is the source of the
// draws (crypto/rand when nil).
func NewService(db *store.DB, programs *program.Service, m *mall.Service, clk clock.Clock, random io.Reader) *Service {
	return &Service{db: db, programs: programs, clock: clk, drawer: drawer{mall: m, random: random}}
}

// Create adds a lottery; a merchant key's is its merchant's.
func (s *Service) Create(ctx context.Context, tx *store.Tx, a auth.Actor, in Input) (Lottery, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Lottery{}, err
	}
	if err := a.OwnMerchant(&in.MerchantID); err != nil {
		return Lottery{}, err
	}
	return create(ctx, tx, p, in, s.clock.Now())
}

// StatusInput pauses or resumes a lottery.
type StatusInput struct {
	Status string `json:"status" api:"enum=active|paused"`
}

// SetStatus pauses or resumes a lottery the actor may edit.
func (s *Service) SetStatus(ctx context.Context, tx *store.Tx, a auth.Actor, lotteryID string, in StatusInput) (Lottery, error) {
	var fs failure.Fields
	input.OneOf(&fs, "status", in.Status, "active", "paused")
	input.Required(&fs, "status", in.Status != "", "active or paused")
	if err := fs.Err(); err != nil {
		return Lottery{}, err
	}
	l, prizes, err := tx.Lottery(ctx, a.ProgramID, lotteryID)
	if err != nil {
		return Lottery{}, err
	}
	if err := a.MayEdit(string(l.MerchantID)); err != nil {
		return Lottery{}, err
	}
	l.Status, l.UpdatedAt = in.Status, s.clock.Now()
	if err := tx.SaveLottery(ctx, l, nil); err != nil {
		return Lottery{}, err
	}
	won, err := tx.FallbackWon(ctx, a.ProgramID, lotteryID)
	return lotteryOf(l, prizes, won), err
}

// Get reads a lottery with its current odds.
func (s *Service) Get(ctx context.Context, a auth.Actor, lotteryID string) (Lottery, error) {
	return get(ctx, s.db.Read(), a.ProgramID, lotteryID)
}

// List lists lotteries, newest first, with their odds.
func (s *Service) List(ctx context.Context, a auth.Actor, pg store.Page) ([]Lottery, string, error) {
	return list(ctx, s.db.Read(), a.ProgramID, pg)
}

// DrawInput names the member who draws, and where.
type DrawInput struct {
	Member     string `json:"member" api:"minlen=1" doc:"a member reference: mem_… or ext:…"`
	MerchantID string `json:"merchant_id,omitempty"`
}

// Draw spins a lottery's wheel for a member: the cost, the prize's stock
// and the prize itself in tx.
func (s *Service) Draw(ctx context.Context, tx *store.Tx, a auth.Actor, lotteryID string, in DrawInput) (Draw, error) {
	var fs failure.Fields
	input.Required(&fs, "member", in.Member != "", "a member reference")
	if err := fs.Err(); err != nil {
		return Draw{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Draw{}, err
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, in.Member)
	if err != nil {
		return Draw{}, err
	}
	mer, err := program.ActingMerchant(ctx, tx, a, in.MerchantID)
	if err != nil {
		return Draw{}, err
	}
	if err := s.seen(ctx, &tx.Conn, a, lotteryID); err != nil {
		return Draw{}, err
	}
	d, err := s.drawer.draw(ctx, tx, p, lotteryID, memberID, mer, s.clock.Now())
	if err != nil {
		return d, err
	}
	ev := Drawn{LotteryID: d.LotteryID, MemberID: d.MemberID, Prize: d.Prize, TransactionID: d.TransactionID}
	return d, outbox.Emit(ctx, tx, p.ID, p.Webhooks, outbox.LotteryDrawn, d.MemberID, ev, d.CreatedAt)
}

// Drawn is the data of a lottery.drawn webhook event.
type Drawn struct {
	LotteryID     string  `json:"lottery_id"`
	MemberID      string  `json:"member_id"`
	Prize         Prize   `json:"prize"`
	TransactionID *string `json:"transaction_id"`
}

// Draws lists a lottery's draws (one member's with member), newest first.
func (s *Service) Draws(ctx context.Context, a auth.Actor, lotteryID, member string, pg store.Page) ([]Draw, string, error) {
	c := s.db.Read()
	l, err := get(ctx, c, a.ProgramID, lotteryID)
	if err != nil {
		return nil, "", err
	}
	if l.MerchantID != nil && !a.Sees(*l.MerchantID) {
		return nil, "", failure.New(failure.NotFound, "lottery %s not found", lotteryID)
	}
	memberID := ""
	if member != "" {
		m, err := identity.Resolve(ctx, c, a, member)
		if err != nil {
			return nil, "", err
		}
		memberID = m.ID
	}
	return draws(ctx, s.db.Replica(), l, memberID, pg)
}

// seen answers another merchant's lottery as not found to a merchant key.
func (s *Service) seen(ctx context.Context, c *store.Conn, a auth.Actor, lotteryID string) error {
	l, _, err := c.Lottery(ctx, a.ProgramID, lotteryID)
	if err != nil {
		return err
	}
	if l.MerchantID != "" && !a.Sees(string(l.MerchantID)) {
		return failure.New(failure.NotFound, "lottery %s not found", lotteryID)
	}
	return nil
}
