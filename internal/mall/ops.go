package mall

import (
	"context"
	"github.com/jifen/jifen/internal/outbox"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// The mall's merchant rule: the catalogue is the programme's, so every key
// reads every reward; a merchant key creates and changes only its own
// merchant's rewards. A redemption belongs to the merchant it was made at:
// a merchant key sees, fulfils and cancels only its own.

// CreateReward adds a reward; it is active unless the input says paused.
// A merchant key's reward is its merchant's.
func (s *Service) CreateReward(ctx context.Context, tx *store.Tx, a auth.Actor, in RewardInput) (Reward, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Reward{}, err
	}
	if err := a.OwnMerchant(&in.MerchantID); err != nil {
		return Reward{}, err
	}
	return createReward(ctx, tx, p, in, s.clock.Now())
}

// UpdateReward changes a reward. Stock, when given, is set to that many
// units left (a restock); otherwise stock changes only by redemptions.
func (s *Service) UpdateReward(ctx context.Context, tx *store.Tx, a auth.Actor, rewardID string, in RewardInput) (Reward, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Reward{}, err
	}
	r, err := tx.Reward(ctx, p.ID, rewardID)
	if err != nil || r.Status == "deleted" {
		if err == nil || failure.KindOf(err) == failure.NotFound {
			return Reward{}, failure.New(failure.NotFound, "reward %s not found", rewardID)
		}
		return Reward{}, err
	}
	if err := a.MayEdit(string(r.MerchantID)); err != nil {
		return Reward{}, err
	}
	if in.MerchantID != nil {
		if _, err := a.ActingMerchant(*in.MerchantID); err != nil || (a.IsMerchant() && *in.MerchantID == "") {
			return Reward{}, failure.New(failure.Forbidden, "a merchant key's rewards stay its merchant's")
		}
	}
	rw := rewardOf(r)
	if err := in.apply(ctx, tx, p, &rw); err != nil {
		return Reward{}, err
	}
	rw.UpdatedAt = s.clock.Now()
	if err := tx.SaveReward(ctx, rw.record(p.ID), in.Stock != nil); err != nil {
		return Reward{}, err
	}
	tx.After(func() { s.gate.open(rewardID) })
	return rw, nil
}

// GetReward reads a reward.
func (s *Service) GetReward(ctx context.Context, a auth.Actor, rewardID string) (Reward, error) {
	return getReward(ctx, s.db.Read(), a.ProgramID, rewardID)
}

// Rewards lists the rewards, newest first; with availableTo (a member),
// only those that member may redeem now, all on one page.
func (s *Service) Rewards(ctx context.Context, a auth.Actor, availableTo string, pg store.Page) ([]Reward, string, error) {
	if availableTo == "" {
		return listRewards(ctx, s.db.Read(), a.ProgramID, pg)
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, "", err
	}
	c := s.db.Read()
	memberID, err := identity.ID(ctx, c, a, availableTo)
	if err != nil {
		return nil, "", err
	}
	if _, err := c.MemberByID(ctx, p.ID, memberID); err != nil {
		return nil, "", err
	}
	rs, err := availableToMember(ctx, c, p, memberID, s.clock.Now())
	return rs, "", err
}

// QuoteInput asks what a member may pay of an order with points.
type QuoteInput struct {
	Member      string `json:"member" api:"minlen=1" doc:"a member reference: mem_… or ext:…"`
	OrderAmount *int64 `json:"order_amount" api:"min=0,max=MaxAmount" doc:"fen"`
	Coupon      string `json:"coupon,omitempty" doc:"a coupon code to apply first"`
}

// Validate checks the input on its own.
func (in QuoteInput) Validate() error {
	var fs failure.Fields
	input.Required(&fs, "member", in.Member != "", "a member reference")
	if in.OrderAmount == nil {
		fs.Add("order_amount", "is required: the order amount in fen, zero or more")
	} else {
		input.Amount(&fs, "order_amount", *in.OrderAmount)
	}
	return fs.Err()
}

// Quote works out the points a member may use on an order (after the
// coupon it names, if any) and what they take off.
func (s *Service) Quote(ctx context.Context, a auth.Actor, in QuoteInput) (Quote, error) {
	if err := in.Validate(); err != nil {
		return Quote{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Quote{}, err
	}
	c := s.db.Read()
	m, err := identity.Resolve(ctx, c, a, in.Member)
	if err != nil {
		return Quote{}, err
	}
	now := s.clock.Now()
	available, err := spendable(ctx, c, p, m, now)
	if err != nil {
		return Quote{}, err
	}
	var off int64
	if in.Coupon != "" {
		ch, err := coupon.Validate(ctx, c, p, in.Coupon, m.ID, *in.OrderAmount, now)
		if err != nil {
			return Quote{}, err
		}
		if !ch.OK {
			return Quote{}, failure.Field("coupon", "cannot be used on this order: %s", ch.Reason)
		}
		off = ch.Discount
	}
	return QuoteFor(*in.OrderAmount, off, available, p.PointsPerYuan, p.MaxOffsetPercent)
}

// spendable is the points a member may spend now: none while it is not
// active, and never a lot past its expiry.
func spendable(ctx context.Context, c *store.Conn, p program.Program, m store.Member, now time.Time) (int64, error) {
	if m.Status != "active" {
		return 0, nil
	}
	bals, err := ledger.Balances(ctx, c, p.Ledger(), m.ID, now)
	if err != nil {
		return 0, err
	}
	if b := bals[ledger.Points]; b != nil {
		return b.Available, nil
	}
	return 0, nil
}

// RedemptionInput is a request to redeem a reward for a member.
type RedemptionInput struct {
	Member     string `json:"member" api:"minlen=1" doc:"a member reference: mem_… or ext:…"`
	RewardID   string `json:"reward_id" api:"minlen=1"`
	Quantity   int64  `json:"quantity,omitempty" api:"min=1,max=100,default=1"`
	MerchantID string `json:"merchant_id,omitempty"`
}

// Validate checks the input on its own.
func (in RedemptionInput) Validate() error {
	var fs failure.Fields
	input.Required(&fs, "member", in.Member != "", "a member reference")
	input.Required(&fs, "reward_id", in.RewardID != "", "the reward's id")
	if in.Quantity < 0 || in.Quantity > 100 {
		fs.Add("quantity", "must be 1 to 100")
	}
	return fs.Err()
}

// Precheck refuses, from memory and before any transaction, a redemption
// the database would refuse (sold out, not on sale yet).
func (s *Service) Precheck(ctx context.Context, a auth.Actor, in RedemptionInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.gate.check(ctx, a.ProgramID, in.RewardID, s.clock.Now())
}

// Redeem takes stock and points for a reward in one transaction: a member
// who cannot pay takes no stock, and a member who finds no stock pays
// nothing. Checks, in order: the reward is on sale (not_started, ended),
// open to the member's tier (forbidden), under the per-member limit
// (limit_exceeded), in stock (out_of_stock), within the member's points
// (insufficient_points). A coupon reward issues its coupon. The
// redemption is made at the acting merchant (a merchant key's own), or
// else at the reward's.
func (s *Service) Redeem(ctx context.Context, tx *store.Tx, a auth.Actor, in RedemptionInput) (Redemption, error) {
	if err := in.Validate(); err != nil {
		return Redemption{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Redemption{}, err
	}
	memberID, err := identity.ID(ctx, &tx.Conn, a, in.Member)
	if err != nil {
		return Redemption{}, err
	}
	mer, err := program.ActingMerchant(ctx, tx, a, in.MerchantID)
	if err != nil {
		return Redemption{}, err
	}
	r, err := s.redeem(ctx, tx, p, RedeemInput{MemberID: memberID, RewardID: in.RewardID, Quantity: in.Quantity, MerchantID: mer},
		s.clock.Now(), "redemption", true)
	if failure.KindOf(err) == failure.OutOfStock {
		s.gate.markSoldOut(in.RewardID)
	}
	return r, err
}

// Fulfil marks a pending redemption delivered; from then on it is final.
func (s *Service) Fulfil(ctx context.Context, tx *store.Tx, a auth.Actor, redemptionID string) (Redemption, error) {
	p, r, now, err := s.lockRedemption(ctx, tx, a, redemptionID)
	if err != nil {
		return Redemption{}, err
	}
	r.Status, r.UpdatedAt = Fulfilled, now
	return saved(ctx, tx, p, outbox.RedemptionFulfil, r)
}

// Cancel undoes a pending redemption: its points go back to the lots they
// came from, its stock back to the reward, and its coupon is voided (a
// coupon already used: conflict). A fulfilled redemption is final
// (conflict): goods returned after delivery are a new decision, taken by
// reversing the redemption's transaction and restocking the reward.
func (s *Service) Cancel(ctx context.Context, tx *store.Tx, a auth.Actor, redemptionID string) (Redemption, error) {
	p, r, now, err := s.lockRedemption(ctx, tx, a, redemptionID)
	if err != nil {
		return Redemption{}, err
	}
	if r.CouponCode != "" {
		if err := coupon.VoidCoupon(ctx, tx, p, string(r.CouponCode), now); err != nil {
			return Redemption{}, err
		}
	}
	if r.TransactionID != "" {
		rev, err := ledger.Reverse(ctx, tx, p.Ledger(), ledger.ReverseInput{
			TransactionID: string(r.TransactionID), Reason: "redemption cancelled", Now: now,
		})
		if err != nil {
			return Redemption{}, err
		}
		r.ReverseTxnID = null.String(rev.ID)
	}
	if err := tx.ReturnStock(ctx, p.ID, r.RewardID, r.Quantity); err != nil {
		return Redemption{}, err
	}
	r.Status, r.UpdatedAt = Cancelled, now
	tx.After(func() { s.gate.open(r.RewardID) })
	return saved(ctx, tx, p, outbox.RedemptionCancel, r)
}

// lockRedemption reads a pending redemption the actor may act on, under
// its member's lock.
func (s *Service) lockRedemption(ctx context.Context, tx *store.Tx, a auth.Actor, redemptionID string) (program.Program, store.Redemption, time.Time, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return p, store.Redemption{}, time.Time{}, err
	}
	now := s.clock.Now()
	r, err := tx.Redemption(ctx, p.ID, redemptionID)
	if err != nil {
		return p, r, now, err
	}
	if !a.Sees(string(r.MerchantID)) {
		return p, r, now, failure.New(failure.NotFound, "redemption %s not found", redemptionID)
	}
	if _, err := ledger.LockMember(ctx, tx, p.Ledger(), r.MemberID, now); err != nil {
		return p, r, now, err
	}
	if r, err = tx.Redemption(ctx, p.ID, redemptionID); err != nil {
		return p, r, now, err
	}
	if r.Status != Pending {
		return p, r, now, failure.New(failure.Conflict, "redemption %s is %s, not pending", r.ID, r.Status)
	}
	return p, r, now, nil
}

// GetRedemption reads a redemption.
func (s *Service) GetRedemption(ctx context.Context, a auth.Actor, redemptionID string) (Redemption, error) {
	r, err := s.db.Read().Redemption(ctx, a.ProgramID, redemptionID)
	if err != nil {
		return Redemption{}, err
	}
	if !a.Sees(string(r.MerchantID)) {
		return Redemption{}, failure.New(failure.NotFound, "redemption %s not found", redemptionID)
	}
	return redemptionOf(r), nil
}

// RedemptionStatuses are the statuses a redemption list filters on.
var RedemptionStatuses = []string{Pending, Fulfilled, Cancelled}

// RedemptionFilter selects redemptions; Member is any member reference.
type RedemptionFilter struct {
	Member   string
	RewardID string
	Status   string
}

// Redemptions lists redemptions, newest first; a merchant key's list holds
// only its own merchant's.
func (s *Service) Redemptions(ctx context.Context, a auth.Actor, f RedemptionFilter, pg store.Page) ([]Redemption, string, error) {
	var fs failure.Fields
	input.OneOf(&fs, "status", f.Status, RedemptionStatuses...)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	sf := store.RedemptionFilter{RewardID: f.RewardID, Status: f.Status}
	if f.Member != "" {
		m, err := identity.Resolve(ctx, s.db.Read(), a, f.Member)
		if err != nil {
			return nil, "", err
		}
		sf.MemberID = m.ID
	}
	if a.IsMerchant() {
		sf.MerchantID = a.MerchantID
	}
	rows, next, err := s.db.Replica().Redemptions(ctx, a.ProgramID, sf, pg)
	if err != nil {
		return nil, "", err
	}
	out := make([]Redemption, len(rows))
	for i, r := range rows {
		out[i] = redemptionOf(r)
	}
	return out, next, nil
}
