package coupon

import (
	"context"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// The coupons' merchant rule: every key reads every template; a merchant
// key creates and changes only its own merchant's. A coupon belongs to its
// template's merchant (or to the programme): a merchant key sees, checks,
// uses, gives back and transfers only coupons of the programme's templates
// and of its own, and answers the rest as not found.

// Service runs the coupon operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the coupon service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// CreateTemplate adds a template; a merchant key's is its merchant's.
func (s *Service) CreateTemplate(ctx context.Context, tx *store.Tx, a auth.Actor, in TemplateInput) (Template, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Template{}, err
	}
	if err := a.OwnMerchant(&in.MerchantID); err != nil {
		return Template{}, err
	}
	return createTemplate(ctx, tx, p, in, s.clock.Now())
}

// UpdateTemplate changes a template the actor may edit.
func (s *Service) UpdateTemplate(ctx context.Context, tx *store.Tx, a auth.Actor, templateID string, in TemplateInput) (Template, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Template{}, err
	}
	r, err := tx.CouponTemplate(ctx, p.ID, templateID)
	if err != nil {
		return Template{}, err
	}
	if err := a.MayEdit(string(r.MerchantID)); err != nil {
		return Template{}, err
	}
	if a.IsMerchant() && in.MerchantID != nil && *in.MerchantID != a.MerchantID {
		return Template{}, failure.New(failure.Forbidden, "a merchant key's coupon templates stay its merchant's")
	}
	return updateTemplate(ctx, tx, p, r, in, s.clock.Now())
}

// GetTemplate reads a template.
func (s *Service) GetTemplate(ctx context.Context, a auth.Actor, templateID string) (Template, error) {
	return getTemplate(ctx, s.db.Read(), a.ProgramID, templateID)
}

// Templates lists templates, newest first.
func (s *Service) Templates(ctx context.Context, a auth.Actor, pg store.Page) ([]Template, string, error) {
	return listTemplates(ctx, s.db.Read(), a.ProgramID, pg)
}

// ClaimInput names the member who claims a coupon, and where.
type ClaimInput struct {
	Member     string `json:"member" api:"minlen=1" doc:"a member reference: mem_… or ext:…"`
	MerchantID string `json:"merchant_id,omitempty" doc:"where it is claimed; a merchant key is always its own"`
}

// Validate checks the input on its own.
func (in ClaimInput) Validate() error {
	var fs failure.Fields
	input.Required(&fs, "member", in.Member != "", "a member reference")
	return fs.Err()
}

// Claim lets a member take (or buy with points) a coupon of a template.
func (s *Service) Claim(ctx context.Context, tx *store.Tx, a auth.Actor, templateID string, in ClaimInput) (Coupon, error) {
	if err := in.Validate(); err != nil {
		return Coupon{}, err
	}
	p, memberID, err := s.member(ctx, &tx.Conn, a, in.Member)
	if err != nil {
		return Coupon{}, err
	}
	mer, err := program.ActingMerchant(ctx, tx, a, in.MerchantID)
	if err != nil {
		return Coupon{}, err
	}
	r, err := tx.CouponTemplate(ctx, p.ID, templateID)
	if err != nil {
		return Coupon{}, err
	}
	if !a.Sees(string(r.MerchantID)) {
		return Coupon{}, failure.New(failure.NotFound, "coupon template %s not found", templateID)
	}
	return claim(ctx, tx, p, templateOf(r), memberID, mer, s.clock.Now())
}

// Get reads a coupon.
func (s *Service) Get(ctx context.Context, a auth.Actor, code string) (Coupon, error) {
	c := s.db.Read()
	r, err := c.Coupon(ctx, a.ProgramID, normalize(code))
	if err != nil {
		return Coupon{}, err
	}
	if err := s.sees(ctx, c, a, r); err != nil {
		return Coupon{}, err
	}
	return couponOf(r), nil
}

// sees answers a coupon of another merchant's template as not found.
func (s *Service) sees(ctx context.Context, c *store.Conn, a auth.Actor, r store.Coupon) error {
	if !a.IsMerchant() {
		return nil
	}
	t, err := c.CouponTemplate(ctx, a.ProgramID, r.TemplateID)
	if err != nil {
		return err
	}
	if t.MerchantID != "" && !a.Sees(string(t.MerchantID)) {
		return failure.New(failure.NotFound, "coupon %s not found", r.Code)
	}
	return nil
}

// OrderInput names the member and the order a coupon is checked against
// or used on.
type OrderInput struct {
	Member      string `json:"member" api:"minlen=1" doc:"a member reference: mem_… or ext:…"`
	OrderAmount *int64 `json:"order_amount" api:"min=0,max=MaxAmount" doc:"fen"`
	Reference   string `json:"reference,omitempty" api:"maxlen=128" doc:"the order; required to redeem"`
}

// Validate checks the input on its own; a use needs the order's reference.
func (in OrderInput) validate(use bool) error {
	var fs failure.Fields
	input.Required(&fs, "member", in.Member != "", "a member reference")
	if in.OrderAmount == nil {
		fs.Add("order_amount", "is required: the order amount in fen, zero or more")
	} else {
		input.Amount(&fs, "order_amount", *in.OrderAmount)
	}
	if use {
		input.Required(&fs, "reference", in.Reference != "", "the order, 1 to 128 characters")
	}
	input.Text(&fs, "reference", in.Reference, 128)
	return fs.Err()
}

// Validate says whether a member may use a coupon on an order, and for how
// much.
func (s *Service) Validate(ctx context.Context, a auth.Actor, code string, in OrderInput) (Check, error) {
	if err := in.validate(false); err != nil {
		return Check{}, err
	}
	c := s.db.Read()
	p, memberID, err := s.member(ctx, c, a, in.Member)
	if err != nil {
		return Check{}, err
	}
	if r, err := c.Coupon(ctx, p.ID, normalize(code)); err != nil {
		return Check{}, err
	} else if err := s.sees(ctx, c, a, r); err != nil {
		return Check{}, err
	}
	return Validate(ctx, c, p, code, memberID, *in.OrderAmount, s.clock.Now())
}

// Redeem uses a coupon on an order, once per order reference.
func (s *Service) Redeem(ctx context.Context, tx *store.Tx, a auth.Actor, code string, in OrderInput) (Coupon, error) {
	if err := in.validate(true); err != nil {
		return Coupon{}, err
	}
	p, memberID, err := s.member(ctx, &tx.Conn, a, in.Member)
	if err != nil {
		return Coupon{}, err
	}
	if err := s.lockSeen(ctx, tx, a, code); err != nil {
		return Coupon{}, err
	}
	return redeem(ctx, tx, p, code, memberID, *in.OrderAmount, in.Reference, s.clock.Now())
}

// UnredeemInput names the order a coupon is given back from.
type UnredeemInput struct {
	Reference string `json:"reference,omitempty" api:"maxlen=128" doc:"the order it was redeemed for, if given, must match"`
}

// Unredeem gives a coupon back when its order is cancelled.
func (s *Service) Unredeem(ctx context.Context, tx *store.Tx, a auth.Actor, code string, in UnredeemInput) (Coupon, error) {
	var fs failure.Fields
	input.Text(&fs, "reference", in.Reference, 128)
	if err := fs.Err(); err != nil {
		return Coupon{}, err
	}
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Coupon{}, err
	}
	if err := s.lockSeen(ctx, tx, a, code); err != nil {
		return Coupon{}, err
	}
	return unredeem(ctx, tx, p, code, in.Reference, s.clock.Now())
}

// TransferInput names the member a coupon is given to.
type TransferInput struct {
	To string `json:"to" api:"minlen=1" doc:"a member reference"`
}

// Transfer gives an active coupon of a transferable template to another
// member.
func (s *Service) Transfer(ctx context.Context, tx *store.Tx, a auth.Actor, code string, in TransferInput) (Coupon, error) {
	var fs failure.Fields
	input.Required(&fs, "to", in.To != "", "the member to give the coupon to")
	if err := fs.Err(); err != nil {
		return Coupon{}, err
	}
	// The recipient is any member of the programme, even for a member
	// token (which names only itself elsewhere).
	named := a
	if a.IsMember() {
		named = auth.System(a.ProgramID)
	}
	p, to, err := s.member(ctx, &tx.Conn, named, in.To)
	if err != nil {
		return Coupon{}, err
	}
	if err := s.lockSeen(ctx, tx, a, code); err != nil {
		return Coupon{}, err
	}
	from := ""
	if a.IsMember() {
		from = a.MemberID // a member gives only its own coupons
	}
	return transfer(ctx, tx, p, code, from, to, s.clock.Now())
}

// lockSeen locks a coupon the actor may act on.
func (s *Service) lockSeen(ctx context.Context, tx *store.Tx, a auth.Actor, code string) error {
	r, err := tx.LockCoupon(ctx, a.ProgramID, normalize(code))
	if err != nil {
		return err
	}
	return s.sees(ctx, &tx.Conn, a, r)
}

// CouponStatuses are the statuses a coupon list filters on.
var CouponStatuses = []string{Active, Redeemed, Expired, Void}

// MemberCoupons lists a member's coupons, newest first; a merchant key's
// list leaves out coupons of other merchants' templates.
func (s *Service) MemberCoupons(ctx context.Context, a auth.Actor, ref, status string, pg store.Page) ([]Coupon, string, error) {
	var fs failure.Fields
	input.OneOf(&fs, "status", status, CouponStatuses...)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	m, err := identity.Resolve(ctx, s.db.Read(), a, ref)
	if err != nil {
		return nil, "", err
	}
	c := s.db.Replica()
	rows, next, err := c.MemberCoupons(ctx, a.ProgramID, m.ID, status, pg)
	if err != nil {
		return nil, "", err
	}
	out := make([]Coupon, 0, len(rows))
	for _, r := range rows {
		if err := s.sees(ctx, c, a, r); failure.KindOf(err) == failure.NotFound {
			continue
		} else if err != nil {
			return nil, "", err
		}
		out = append(out, couponOf(r))
	}
	return out, next, nil
}

func (s *Service) member(ctx context.Context, c *store.Conn, a auth.Actor, ref string) (program.Program, string, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return p, "", err
	}
	id, err := identity.ID(ctx, c, a, ref)
	return p, id, err
}
