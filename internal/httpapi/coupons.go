package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

type memberRequest struct {
	Member     string `json:"member"`
	MerchantID string `json:"merchant_id,omitempty"`
}

type couponOrderRequest struct {
	Member      string `json:"member"`
	OrderAmount *int64 `json:"order_amount"`
	Reference   string `json:"reference,omitempty"`
}

type unredeemRequest struct {
	Reference string `json:"reference,omitempty"`
}

type transferRequest struct {
	To string `json:"to"`
}

type couponsExpiredBody struct {
	CouponsExpired int64 `json:"coupons_expired"`
}

func (s *Server) registerCoupons() {
	s.handle(route{method: "POST", path: "/v1/coupon-templates", access: operator, tag: "coupons", summary: "Create a coupon template",
		in: coupon.TemplateInput{}, out: coupon.Template{}, status: 201, handler: legacy(s.createTemplate)})
	s.handle(route{method: "GET", path: "/v1/coupon-templates", access: anyRole, tag: "coupons", summary: "List coupon templates",
		out: listBody[coupon.Template]{}, status: 200, query: pageParams, handler: listOf(s, coupon.ListTemplates)})
	s.handle(route{method: "GET", path: "/v1/coupon-templates/{id}", access: anyRole, tag: "coupons", summary: "Read a coupon template",
		out: coupon.Template{}, status: 200, handler: getOf(s, coupon.GetTemplate)})
	s.handle(route{method: "PATCH", path: "/v1/coupon-templates/{id}", access: operator, tag: "coupons", summary: "Change a coupon template",
		in: coupon.TemplateInput{}, out: coupon.Template{}, status: 200, handler: legacy(s.patchTemplate)})
	s.handle(route{method: "POST", path: "/v1/coupon-templates/{id}/claim", access: operator, tag: "coupons",
		summary: "A member claims (or buys with points) a coupon", in: memberRequest{}, out: coupon.Coupon{}, status: 201,
		handler: legacy(s.claimCoupon)})
	s.handle(route{method: "GET", path: "/v1/coupons/{code}", access: anyRole, tag: "coupons", summary: "Read a coupon",
		out: coupon.Coupon{}, status: 200, handler: legacy(s.getCoupon)})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/validate", access: anyRole, tag: "coupons",
		summary: "Whether a coupon can be used on an order, and for how much", in: couponOrderRequest{}, out: coupon.Check{},
		status: 200, handler: legacy(s.validateCoupon)})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/redeem", access: operator, tag: "coupons",
		summary: "Use a coupon on an order (once per reference)", in: couponOrderRequest{}, out: coupon.Coupon{}, status: 200,
		handler: legacy(s.redeemCoupon)})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/unredeem", access: operator, tag: "coupons",
		summary: "Give a coupon back when its order is cancelled", in: unredeemRequest{}, out: coupon.Coupon{}, status: 200,
		handler: legacy(s.unredeemCoupon)})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/transfer", access: operator, tag: "coupons",
		summary: "Give a coupon to another member", in: transferRequest{}, out: coupon.Coupon{}, status: 200, handler: legacy(s.transferCoupon)})
	s.handle(route{method: "GET", path: "/v1/members/{member}/coupons", access: anyRole, tag: "coupons", summary: "A member's coupons",
		out: listBody[coupon.Coupon]{}, status: 200, handler: legacy(s.memberCoupons),
		query: append([]param{{name: "status"}}, pageParams...)})
	s.handle(route{method: "POST", path: "/v1/jobs/expire-coupons", access: admin, tag: "jobs",
		summary: "Mark coupons past their validity expired", in: jobRequest{}, out: couponsExpiredBody{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			n, err := coupon.ExpireDue(ctx, s.db, p, at)
			return couponsExpiredBody{n}, err
		})})
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[coupon.TemplateInput](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := actAsMerchant(r, &in.MerchantID); err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 201, "coupons:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return coupon.CreateTemplate(ctx, tx, p, in, s.clock.Now())
	})
}

func (s *Server) patchTemplate(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[coupon.TemplateInput](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	cur, err := coupon.GetTemplate(r.Context(), s.db.Read(), p.ID, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := ownMerchant(r, cur.MerchantID); err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, "coupons:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return coupon.UpdateTemplate(ctx, tx, p, cur.ID, in, s.clock.Now())
	})
}

func (s *Server) claimCoupon(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[memberRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if in.Member == "" {
		s.problem(w, r, failure.Field("member", "is required"))
		return
	}
	if in.MerchantID, err = actingMerchant(r, in.MerchantID); err != nil {
		s.problem(w, r, err)
		return
	}
	m, err := s.resolve(r, in.Member)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 201, m.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		if err := merchantFor(ctx, tx, p.ID, in.MerchantID); err != nil {
			return nil, err
		}
		return coupon.Claim(ctx, tx, p, r.PathValue("id"), m.ID, in.MerchantID, s.clock.Now())
	})
}

func (s *Server) getCoupon(w http.ResponseWriter, r *http.Request) {
	c, err := coupon.Get(r.Context(), s.db.Read(), actor(r).ProgramID, r.PathValue("code"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, c)
}

func (s *Server) couponOrder(w http.ResponseWriter, r *http.Request, needReference bool) (couponOrderRequest, []byte, string, bool) {
	in, body, err := decodeBody[couponOrderRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return in, nil, "", false
	}
	var fs failure.Fields
	if in.Member == "" {
		fs.Add("member", "is required")
	}
	if in.OrderAmount == nil || *in.OrderAmount < 0 {
		fs.Add("order_amount", "is required: the order amount in fen, zero or more")
	}
	if needReference && (in.Reference == "" || len(in.Reference) > 128) {
		fs.Add("reference", "is required: the order, 1 to 128 characters")
	}
	if err := fs.Err(); err != nil {
		s.problem(w, r, err)
		return in, nil, "", false
	}
	m, err := s.resolve(r, in.Member)
	if err != nil {
		s.problem(w, r, err)
		return in, nil, "", false
	}
	return in, body, m.ID, true
}

func (s *Server) validateCoupon(w http.ResponseWriter, r *http.Request) {
	in, _, memberID, ok := s.couponOrder(w, r, false)
	if !ok {
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ch, err := coupon.Validate(r.Context(), s.db.Read(), p, r.PathValue("code"), memberID, *in.OrderAmount, s.clock.Now())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, ch)
}

func (s *Server) redeemCoupon(w http.ResponseWriter, r *http.Request) {
	in, body, memberID, ok := s.couponOrder(w, r, true)
	if !ok {
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, memberID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return coupon.Redeem(ctx, tx, p, r.PathValue("code"), memberID, *in.OrderAmount, in.Reference, s.clock.Now())
	})
}

func (s *Server) unredeemCoupon(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[unredeemRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, "coupon:"+r.PathValue("code"), func(ctx context.Context, tx *store.Tx) (any, error) {
		return coupon.Unredeem(ctx, tx, p, r.PathValue("code"), in.Reference, s.clock.Now())
	})
}

func (s *Server) transferCoupon(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[transferRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if in.To == "" {
		s.problem(w, r, failure.Field("to", "is required: the member to give the coupon to"))
		return
	}
	to, err := s.resolve(r, in.To)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, "coupon:"+r.PathValue("code"), func(ctx context.Context, tx *store.Tx) (any, error) {
		return coupon.Transfer(ctx, tx, p, r.PathValue("code"), "", to.ID, s.clock.Now())
	})
}

var couponStatuses = []string{coupon.Active, coupon.Redeemed, coupon.Expired, coupon.Void}

func (s *Server) memberCoupons(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(couponStatuses, status) {
		s.problem(w, r, failure.Field("status", "must be one of %v", couponStatuses))
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	cs, next, err := coupon.MemberCoupons(r.Context(), s.db.Replica(), actor(r).ProgramID, m.ID, status, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, cs, next)
}
