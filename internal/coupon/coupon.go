package coupon

import (
	"context"
	"github.com/jifen/jifen/internal/outbox"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Statuses.
const (
	Active   = "active"
	Redeemed = "redeemed"
	Expired  = "expired"
	Void     = "void"
)

// Sources: how a member came by a coupon.
const (
	FromClaim      = "claim"
	FromRedemption = "redemption"
	FromLottery    = "lottery"
	FromTransfer   = "transfer"
	FromJoin       = "join" // a new member's gift (one-step join)
)

// Coupon is one member's coupon.
type Coupon struct {
	Code              string     `json:"code"`
	TemplateID        string     `json:"template_id"`
	MemberID          string     `json:"member_id"`
	Status            string     `json:"status"`
	Source            string     `json:"source"`
	ValidFrom         time.Time  `json:"valid_from"`
	ValidUntil        time.Time  `json:"valid_until"`
	TransactionID     *string    `json:"transaction_id"`
	RedeemedReference *string    `json:"redeemed_reference"`
	RedeemedAt        *time.Time `json:"redeemed_at"`
	OrderAmount       *int64     `json:"order_amount"`
	Discount          *int64     `json:"discount"`
	TransferredFrom   *string    `json:"transferred_from"`
	CreatedAt         time.Time  `json:"created_at"`
}

func optStr(s null.String) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}

func couponOf(r store.Coupon) Coupon {
	return Coupon{Code: r.Code, TemplateID: r.TemplateID, MemberID: r.MemberID, Status: r.Status, Source: r.Source,
		ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil, TransactionID: optStr(r.TransactionID),
		RedeemedReference: optStr(r.RedeemedReference), RedeemedAt: r.RedeemedAt, OrderAmount: r.OrderAmount,
		Discount: r.Discount, TransferredFrom: optStr(r.TransferredFrom), CreatedAt: r.CreatedAt}
}

// newCode draws 12 characters without look-alikes: about 59 bits, enough
// that codes cannot be guessed.
func newCode() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	raw := id.Secret(12)
	b := make([]byte, len(raw))
	for i := range raw {
		b[i] = alphabet[int(raw[i])%len(alphabet)]
	}
	return string(b)
}

// Issue gives a member one coupon of a template, counting it against the
// template's total (out_of_stock when it is reached). Claims also check
// the daily release, the per-member limit and the points price; grants by
// a redemption or a lottery prize do not. The caller holds the member's
// lock.
func Issue(ctx context.Context, tx *store.Tx, p program.Program, templateID, memberID, source string, now time.Time) (Coupon, error) {
	r, err := tx.CouponTemplate(ctx, p.ID, templateID)
	if err != nil {
		return Coupon{}, err
	}
	return issue(ctx, tx, p, templateOf(r), memberID, source, "", now)
}

func issue(ctx context.Context, tx *store.Tx, p program.Program, t Template, memberID, source, txnID string, now time.Time) (Coupon, error) {
	if t.Status != "active" {
		return Coupon{}, failure.New(failure.Conflict, "coupon template %s is %s", t.ID, t.Status)
	}
	if t.ValidUntil != nil && !now.Before(*t.ValidUntil) {
		return Coupon{}, failure.New(failure.Ended, "coupons of %s were valid until %s", t.ID, t.ValidUntil.Format(time.RFC3339))
	}
	if ok, err := tx.TakeCoupon(ctx, p.ID, t.ID); err != nil {
		return Coupon{}, err
	} else if !ok {
		return Coupon{}, failure.New(failure.OutOfStock, "all %d coupons of %s have been issued", *t.Total, t.ID)
	}
	c := store.Coupon{ProgramID: p.ID, TemplateID: t.ID, MemberID: memberID, Status: Active, Source: source,
		TransactionID: null.String(txnID), CreatedAt: now, UpdatedAt: now}
	if t.ValidDays != nil {
		c.ValidFrom, c.ValidUntil = now, now.Add(time.Duration(*t.ValidDays)*24*time.Hour)
	} else {
		c.ValidFrom, c.ValidUntil = now, *t.ValidUntil
		if t.ValidFrom != nil {
			c.ValidFrom = *t.ValidFrom
		}
	}
	for attempt := 0; ; attempt++ {
		c.Code = newCode()
		ok, err := tx.InsertCoupon(ctx, c)
		if err != nil {
			return Coupon{}, err
		}
		if ok {
			return couponOf(c), emit(ctx, tx, p, outbox.CouponIssued, c, now)
		}
		if attempt == 5 {
			return Coupon{}, failure.New(failure.Internal, "no free coupon code")
		}
	}
}

// claim lets a member take a coupon of a template: within the daily
// release (not_started before its time, out_of_stock once the day's
// quantity is gone), under the per-member limit (limit_exceeded), within
// the total (out_of_stock), paying the points price if any.
func claim(ctx context.Context, tx *store.Tx, p program.Program, t Template, memberID, merchantID string, now time.Time) (Coupon, error) {
	m, err := ledger.LockMember(ctx, tx, p.Ledger(), memberID, now)
	if err != nil {
		return Coupon{}, err
	}
	if err := ledger.Active(m); err != nil {
		return Coupon{}, err
	}
	if d := t.DailyRelease; d != nil {
		local := now.In(p.Location)
		if local.Format("15:04") < d.Time {
			return Coupon{}, failure.New(failure.NotStarted, "today's coupons of %s are released at %s", t.ID, d.Time)
		}
		if ok, err := tx.TakeDaily(ctx, p.ID, t.ID, local.Format(time.DateOnly), d.Quantity); err != nil {
			return Coupon{}, err
		} else if !ok {
			return Coupon{}, failure.New(failure.OutOfStock, "today's %d coupons of %s are gone", d.Quantity, t.ID)
		}
	}
	if t.PerMemberLimit != nil {
		n, err := tx.MemberCouponCount(ctx, p.ID, t.ID, m.ID)
		if err != nil {
			return Coupon{}, err
		}
		if n >= *t.PerMemberLimit {
			return Coupon{}, failure.New(failure.LimitExceeded, "member %s already has %d coupons of %s", m.ID, n, t.ID)
		}
	}
	txnID := ""
	if t.PointsPrice > 0 {
		if t.Status != "active" {
			return Coupon{}, failure.New(failure.Conflict, "coupon template %s is %s", t.ID, t.Status)
		}
		spent, err := ledger.Spend(ctx, tx, p.Ledger(), ledger.SpendInput{
			MemberID: m.ID, Points: t.PointsPrice, Reason: "coupon: " + t.Name, Reference: "coupon-template:" + t.ID,
			MerchantID: merchantID, Now: now,
		})
		if err != nil {
			return Coupon{}, err
		}
		txnID = spent.ID
	}
	return issue(ctx, tx, p, t, m.ID, FromClaim, txnID, now)
}

// Check is the outcome of validating a coupon against an order.
type Check struct {
	OK       bool   `json:"ok"`
	Discount int64  `json:"discount"`
	Reason   string `json:"reason,omitempty"`
}

// Discount is what the coupon takes off an order of amount fen.
func (t Template) Discount(amount int64) int64 {
	var d int64
	switch t.Kind {
	case AmountOff:
		d = t.Value
	case PercentOff:
		d = amount * t.Value / 100
		if t.MaxDiscount != nil {
			d = min(d, *t.MaxDiscount)
		}
	}
	return max(min(d, amount), 0)
}

func check(t Template, c store.Coupon, memberID string, amount int64, now time.Time) Check {
	switch {
	case c.MemberID != memberID:
		return Check{Reason: "not_owner"}
	case c.Status == Redeemed:
		return Check{Reason: "redeemed"}
	case c.Status == Void:
		return Check{Reason: "void"}
	case c.Status == Expired || !now.Before(c.ValidUntil):
		return Check{Reason: "expired"}
	case now.Before(c.ValidFrom):
		return Check{Reason: "not_started"}
	case amount < t.MinOrder:
		return Check{Reason: "below_min_order"}
	}
	return Check{OK: true, Discount: t.Discount(amount)}
}

// Validate says whether a member may use a coupon on an order of amount
// fen, and for how much.
func Validate(ctx context.Context, conn *store.Conn, p program.Program, code, memberID string, amount int64, now time.Time) (Check, error) {
	if amount < 0 {
		return Check{}, failure.Field("order_amount", "must not be negative")
	}
	c, err := conn.Coupon(ctx, p.ID, normalize(code))
	if err != nil {
		return Check{}, err
	}
	r, err := conn.CouponTemplate(ctx, p.ID, c.TemplateID)
	if err != nil {
		return Check{}, err
	}
	return check(templateOf(r), c, memberID, amount, now), nil
}

func normalize(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// redeem uses a coupon on an order. The reference names the order: the
// same reference again answers the first redemption (a retried checkout),
// another one is a conflict.
func redeem(ctx context.Context, tx *store.Tx, p program.Program, code, memberID string, amount int64, reference string, now time.Time) (Coupon, error) {
	if reference == "" || len(reference) > 128 {
		return Coupon{}, failure.Field("reference", "is required: the order, 1 to 128 characters")
	}
	if amount < 0 {
		return Coupon{}, failure.Field("order_amount", "must not be negative")
	}
	c, err := tx.LockCoupon(ctx, p.ID, normalize(code))
	if err != nil {
		return Coupon{}, err
	}
	if c.Status == Redeemed {
		if string(c.RedeemedReference) == reference && c.MemberID == memberID {
			return couponOf(c), nil
		}
		return Coupon{}, failure.New(failure.Conflict, "coupon %s was redeemed for %s", c.Code, c.RedeemedReference)
	}
	r, err := tx.CouponTemplate(ctx, p.ID, c.TemplateID)
	if err != nil {
		return Coupon{}, err
	}
	t := templateOf(r)
	ch := check(t, c, memberID, amount, now)
	switch ch.Reason {
	case "":
	case "not_owner":
		return Coupon{}, failure.Field("member", "coupon %s belongs to another member", c.Code)
	case "expired":
		return Coupon{}, failure.New(failure.Ended, "coupon %s expired at %s", c.Code, c.ValidUntil.Format(time.RFC3339))
	case "not_started":
		return Coupon{}, failure.New(failure.NotStarted, "coupon %s is valid from %s", c.Code, c.ValidFrom.Format(time.RFC3339))
	case "below_min_order":
		return Coupon{}, failure.Field("order_amount", "coupon %s needs an order of at least %d fen", c.Code, t.MinOrder)
	default:
		return Coupon{}, failure.New(failure.Conflict, "coupon %s is %s", c.Code, c.Status)
	}
	c.Status, c.RedeemedReference, c.RedeemedAt = Redeemed, null.String(reference), &now
	c.OrderAmount, c.Discount, c.UpdatedAt = &amount, &ch.Discount, now
	if err := tx.UpdateCoupon(ctx, c); err != nil {
		return Coupon{}, err
	}
	return couponOf(c), emit(ctx, tx, p, outbox.CouponRedeemed, c, now)
}

// Event is the data of a coupon.* webhook event.
type Event struct {
	Coupon Coupon `json:"coupon"`
}

func emit(ctx context.Context, tx *store.Tx, p program.Program, typ string, c store.Coupon, now time.Time) error {
	return outbox.Emit(ctx, tx, p.ID, p.Webhooks, typ, c.MemberID, Event{couponOf(c)}, now)
}

// unredeem gives a redeemed coupon back when its order is cancelled; past
// its validity it comes back expired.
func unredeem(ctx context.Context, tx *store.Tx, p program.Program, code, reference string, now time.Time) (Coupon, error) {
	c, err := tx.LockCoupon(ctx, p.ID, normalize(code))
	if err != nil {
		return Coupon{}, err
	}
	if c.Status != Redeemed {
		return Coupon{}, failure.New(failure.Conflict, "coupon %s is %s, not redeemed", c.Code, c.Status)
	}
	if reference != "" && string(c.RedeemedReference) != reference {
		return Coupon{}, failure.New(failure.Conflict, "coupon %s was redeemed for %s, not %s", c.Code, c.RedeemedReference, reference)
	}
	c.Status = Active
	if !now.Before(c.ValidUntil) {
		c.Status = Expired
	}
	c.RedeemedReference, c.RedeemedAt, c.OrderAmount, c.Discount, c.UpdatedAt = "", nil, nil, nil, now
	return couponOf(c), tx.UpdateCoupon(ctx, c)
}

// transfer gives an active coupon of a transferable template to another
// member (a friend who may then join: 转赠). fromMember, when set, must
// own it.
func transfer(ctx context.Context, tx *store.Tx, p program.Program, code, fromMember, toMember string, now time.Time) (Coupon, error) {
	c, err := tx.LockCoupon(ctx, p.ID, normalize(code))
	if err != nil {
		return Coupon{}, err
	}
	if fromMember != "" && c.MemberID != fromMember {
		return Coupon{}, failure.New(failure.NotFound, "coupon %s not found", code)
	}
	r, err := tx.CouponTemplate(ctx, p.ID, c.TemplateID)
	if err != nil {
		return Coupon{}, err
	}
	switch {
	case !r.Transferable:
		return Coupon{}, failure.New(failure.Conflict, "coupons of %s cannot be transferred", r.ID)
	case c.Status != Active || !now.Before(c.ValidUntil):
		return Coupon{}, failure.New(failure.Conflict, "coupon %s is not active", c.Code)
	case toMember == c.MemberID:
		return Coupon{}, failure.Field("to", "the coupon already belongs to this member")
	}
	to, err := tx.MemberByID(ctx, p.ID, toMember)
	if err != nil {
		return Coupon{}, err
	}
	if err := ledger.Active(to); err != nil {
		return Coupon{}, err
	}
	c.TransferredFrom, c.MemberID, c.UpdatedAt = null.String(c.MemberID), to.ID, now
	if err := tx.UpdateCoupon(ctx, c); err != nil {
		return Coupon{}, err
	}
	return couponOf(c), emit(ctx, tx, p, outbox.CouponTransferred, c, now)
}

// VoidCoupon cancels an active coupon (its redemption was cancelled). A
// coupon already used cannot be taken back: Conflict.
func VoidCoupon(ctx context.Context, tx *store.Tx, p program.Program, code string, now time.Time) error {
	c, err := tx.LockCoupon(ctx, p.ID, code)
	if err != nil {
		return err
	}
	switch c.Status {
	case Redeemed:
		return failure.New(failure.Conflict, "coupon %s has been used", c.Code)
	case Void:
		return nil
	}
	c.Status, c.UpdatedAt = Void, now
	return tx.UpdateCoupon(ctx, c)
}

// VoidMember voids every unused coupon of a member (its erasure); used
// and expired ones stay as they are. It answers how many it voided.
func VoidMember(ctx context.Context, tx *store.Tx, programID, memberID string, now time.Time) (int64, error) {
	return tx.VoidMemberCoupons(ctx, programID, memberID, now)
}

// ExpireDue marks coupons past their validity expired, as of asOf.
func ExpireDue(ctx context.Context, db *store.DB, p program.Program, asOf time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.Write(ctx, "coupons:"+p.ID, func(ctx context.Context, tx *store.Tx) (err error) {
			if !p.Webhooks.Wants(outbox.CouponExpired) {
				n, err = tx.ExpireCoupons(ctx, p.ID, asOf, 1000)
				return err
			}
			// A webhook wants each: the expired coupons come back.
			cs, err := tx.ExpireCouponsListed(ctx, p.ID, asOf, 1000)
			for _, c := range cs {
				if err == nil {
					err = emit(ctx, tx, p, outbox.CouponExpired, c, asOf)
				}
			}
			n = int64(len(cs))
			return err
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}
