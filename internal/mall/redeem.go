package mall

import (
	"context"
	"fmt"
	"time"

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

func redemptionFrom(r store.RedemptionRow) Redemption {
	return Redemption{ID: r.ID, MemberID: r.MemberID, RewardID: r.RewardID, Quantity: r.Quantity, Points: r.Points,
		CashPrice: r.CashPrice, Status: r.Status, TransactionID: optStr(r.TransactionID), CouponCode: optStr(r.CouponCode),
		MerchantID: optStr(r.MerchantID), Source: r.Source, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Service runs redemptions behind the flash-sale gate.
type Service struct {
	gate *gate
}

// NewService returns the mall; the gate trusts what it learned for ttl.
func NewService(db *store.DB, ttl time.Duration) *Service {
	return &Service{gate: newGate(db, ttl)}
}

// Precheck refuses, from memory, a redemption the database would refuse
// (sold out, not on sale yet). Call it before opening a transaction.
func (s *Service) Precheck(ctx context.Context, programID, rewardID string, now time.Time) error {
	return s.gate.check(ctx, programID, rewardID, now)
}

// RedeemInput is a member's request for a reward.
type RedeemInput struct {
	MemberID   string
	RewardID   string
	Quantity   int64  // default 1
	MerchantID string // where it was redeemed; default the reward's merchant
}

// Redeem takes stock and points for a reward in one transaction: a member
// who cannot pay takes no stock, and a member who finds no stock pays
// nothing. Checks, in order: the reward is on sale (not_started, ended),
// open to the member's tier (forbidden), under the per-member limit
// (limit_exceeded), in stock (out_of_stock), within the member's points
// (insufficient_points). A coupon reward issues its coupon.
func (s *Service) Redeem(ctx context.Context, tx *store.Tx, p program.Program, in RedeemInput, now time.Time) (Redemption, error) {
	r, err := s.redeem(ctx, tx, p, in, now, "redemption", true)
	if failure.KindOf(err) == failure.OutOfStock {
		s.gate.markSoldOut(in.RewardID)
	}
	return r, err
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
	rw := fromRow(row)
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
	red := store.RedemptionRow{
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
	return redemptionFrom(red), tx.SaveRedemption(ctx, red)
}

// Fulfil marks a pending redemption delivered.
func Fulfil(ctx context.Context, tx *store.Tx, p program.Program, redemptionID string, now time.Time) (Redemption, error) {
	r, err := tx.Redemption(ctx, p.ID, redemptionID)
	if err != nil {
		return Redemption{}, err
	}
	if _, err := ledger.LockMember(ctx, tx, p.Ledger(), r.MemberID, now); err != nil {
		return Redemption{}, err
	}
	if r, err = tx.Redemption(ctx, p.ID, redemptionID); err != nil {
		return Redemption{}, err
	}
	if r.Status != Pending {
		return Redemption{}, failure.New(failure.Conflict, "redemption %s is %s", r.ID, r.Status)
	}
	r.Status, r.UpdatedAt = Fulfilled, now
	return redemptionFrom(r), tx.SaveRedemption(ctx, r)
}

// Cancel undoes a redemption, pending or fulfilled (goods returned): its
// points go back to the lots they came from, its stock back to the
// reward, and its coupon is voided (a coupon already used: Conflict).
func (s *Service) Cancel(ctx context.Context, tx *store.Tx, p program.Program, redemptionID string, now time.Time) (Redemption, error) {
	r, err := tx.Redemption(ctx, p.ID, redemptionID)
	if err != nil {
		return Redemption{}, err
	}
	if _, err := ledger.LockMember(ctx, tx, p.Ledger(), r.MemberID, now); err != nil {
		return Redemption{}, err
	}
	if r, err = tx.Redemption(ctx, p.ID, redemptionID); err != nil {
		return Redemption{}, err
	}
	if r.Status == Cancelled {
		return Redemption{}, failure.New(failure.Conflict, "redemption %s is already cancelled", r.ID)
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
	return redemptionFrom(r), tx.SaveRedemption(ctx, r)
}

// GetRedemption reads a redemption.
func GetRedemption(ctx context.Context, c *store.Conn, programID, id string) (Redemption, error) {
	r, err := c.Redemption(ctx, programID, id)
	if err != nil {
		return Redemption{}, err
	}
	return redemptionFrom(r), nil
}

// ListRedemptions lists redemptions, newest first.
func ListRedemptions(ctx context.Context, c *store.Conn, programID string, f store.RedemptionFilter, p store.Page) ([]Redemption, string, error) {
	rows, next, err := c.Redemptions(ctx, programID, f, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Redemption, len(rows))
	for i, r := range rows {
		out[i] = redemptionFrom(r)
	}
	return out, next, nil
}
