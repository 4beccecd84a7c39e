package mall

import (
	"context"
	"fmt"
	"github.com/jifen/jifen/internal/outbox"
	"time"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Redemption statuses.
const (
	Pending   = "pending"
	Fulfilled = "fulfilled"
	Cancelled = "cancelled"
)

// Redemption is a member's order in the points mall.
type Redemption struct {
	ID            string    `json:"id"`
	MemberID      string    `json:"member_id"`
	RewardID      string    `json:"reward_id"`
	Quantity      int64     `json:"quantity"`
	Points        int64     `json:"points"`
	CashPrice     int64     `json:"cash_price"`
	Status        string    `json:"status"`
	TransactionID *string   `json:"transaction_id"`
	CouponCode    *string   `json:"coupon_code"`
	MerchantID    *string   `json:"merchant_id"`
	Source        string    `json:"source"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func redemptionOf(r store.Redemption) Redemption {
	return Redemption{ID: r.ID, MemberID: r.MemberID, RewardID: r.RewardID, Quantity: r.Quantity, Points: r.Points,
		CashPrice: r.CashPrice, Status: r.Status, TransactionID: optStr(r.TransactionID), CouponCode: optStr(r.CouponCode),
		MerchantID: optStr(r.MerchantID), Source: r.Source, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Service runs the mall's operations; redemptions pass the flash-sale gate.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
	gate     *gate
}

// NewService returns the mall; the gate trusts what it learned for ttl.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock, ttl time.Duration) *Service {
	return &Service{db: db, programs: programs, clock: clk, gate: newGate(db, ttl)}
}

// RedeemInput is a redemption as the operations below run it.
type RedeemInput struct {
	MemberID   string
	RewardID   string
	Quantity   int64  // default 1
	MerchantID string // where it was redeemed; default the reward's merchant
}

// Grant gives a member a reward without charging points (a lottery prize):
// it still takes stock and counts toward limits.
func (s *Service) Grant(ctx context.Context, tx *store.Tx, p program.Program, in RedeemInput, source string, now time.Time) (Redemption, error) {
	return s.redeem(ctx, tx, p, in, now, source, false)
}

func (s *Service) redeem(ctx context.Context, tx *store.Tx, p program.Program, in RedeemInput, now time.Time, source string, charge bool) (Redemption, error) {
	q := in.Quantity
	if q == 0 {
		q = 1
	}
	if q < 1 || q > 100 {
		return Redemption{}, failure.Field("quantity", "must be 1 to 100")
	}
	row, err := tx.Reward(ctx, p.ID, in.RewardID)
	if err != nil || row.Status == "deleted" {
		if err == nil || failure.KindOf(err) == failure.NotFound {
			return Redemption{}, failure.New(failure.NotFound, "reward %s not found", in.RewardID)
		}
		return Redemption{}, err
	}
	rw := rewardOf(row)
	if rw.Type == CouponT && q != 1 {
		return Redemption{}, failure.Field("quantity", "a coupon reward is redeemed one at a time")
	}
	m, err := ledger.LockMember(ctx, tx, p.Ledger(), in.MemberID, now)
	if err != nil {
		return Redemption{}, err
	}
	if err := ledger.Active(m); err != nil {
		return Redemption{}, err
	}
	if err := availability(rw, string(m.Tier), now); err != nil {
		return Redemption{}, err
	}
	if rw.PerMemberLimit != nil {
		n, err := tx.RedeemedQuantity(ctx, p.ID, m.ID, rw.ID)
		if err != nil {
			return Redemption{}, err
		}
		if n+q > *rw.PerMemberLimit {
			return Redemption{}, failure.New(failure.LimitExceeded, "member %s may redeem reward %s %d times and has %d",
				m.ID, rw.ID, *rw.PerMemberLimit, n)
		}
	}
	if ok, err := tx.TakeStock(ctx, p.ID, rw.ID, q); err != nil {
		return Redemption{}, err
	} else if !ok {
		return Redemption{}, failure.New(failure.OutOfStock, "reward %s is sold out", rw.ID)
	}
	merchant := in.MerchantID
	if merchant == "" && rw.MerchantID != nil {
		merchant = *rw.MerchantID
	}
	red := store.Redemption{
		ID: id.New("rdm"), ProgramID: p.ID, MemberID: m.ID, RewardID: rw.ID, Quantity: q, CashPrice: rw.CashPrice * q,
		Status: Pending, MerchantID: null.String(merchant), Source: source, CreatedAt: now, UpdatedAt: now,
	}
	if charge && rw.PointsPrice > 0 {
		red.Points = rw.PointsPrice * q
		t, err := ledger.Spend(ctx, tx, p.Ledger(), ledger.SpendInput{
			MemberID: m.ID, Points: red.Points, Reason: "redemption: " + rw.Name, Reference: red.ID, MerchantID: merchant, Now: now,
		})
		if err != nil {
			return Redemption{}, err
		}
		red.TransactionID = null.String(t.ID)
	}
	if rw.Type == CouponT {
		c, err := coupon.Issue(ctx, tx, p, *rw.CouponTemplateID, m.ID, coupon.FromRedemption, now)
		if err != nil {
			return Redemption{}, fmt.Errorf("issue coupon of reward %s: %w", rw.ID, err)
		}
		red.CouponCode = null.String(c.Code)
	}
	return saved(ctx, tx, p, outbox.RedemptionCreated, red)
}

// Event is the data of a redemption.* webhook event.
type Event struct {
	Redemption Redemption `json:"redemption"`
}

// saved saves a redemption and writes its webhook event.
func saved(ctx context.Context, tx *store.Tx, p program.Program, typ string, r store.Redemption) (Redemption, error) {
	if err := tx.SaveRedemption(ctx, r); err != nil {
		return Redemption{}, err
	}
	v := redemptionOf(r)
	return v, outbox.Emit(ctx, tx, p.ID, p.Webhooks, typ, r.MemberID, Event{v}, r.UpdatedAt)
}
