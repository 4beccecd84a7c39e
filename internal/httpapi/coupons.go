package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

type couponsExpiredBody struct {
	CouponsExpired int64 `json:"coupons_expired"`
}

func (s *Server) registerCoupons() {
	s.handle(route{method: "POST", path: "/v1/coupon-templates", access: operates, tag: "coupons", summary: "Create a coupon template",
		in: coupon.TemplateInput{}, out: coupon.Template{}, status: 201, handler: s.createTemplate})
	s.handle(route{method: "GET", path: "/v1/coupon-templates", access: anyRole, tag: "coupons", summary: "List coupon templates",
		out: listBody[coupon.Template]{}, status: 200, query: pageParams, handler: s.listTemplates})
	s.handle(route{method: "GET", path: "/v1/coupon-templates/{id}", access: anyRole, tag: "coupons", summary: "Read a coupon template",
		out: coupon.Template{}, status: 200, handler: s.getTemplate})
	s.handle(route{method: "PATCH", path: "/v1/coupon-templates/{id}", access: operates, tag: "coupons", summary: "Change a coupon template",
		in: coupon.TemplateInput{}, out: coupon.Template{}, status: 200, handler: s.patchTemplate})
	s.handle(route{method: "POST", path: "/v1/coupon-templates/{id}/claim", access: operates, tag: "coupons",
		summary: "A member claims (or buys with points) a coupon", in: coupon.ClaimInput{}, out: coupon.Coupon{}, status: 201,
		handler: s.claimCoupon})
	s.handle(route{method: "GET", path: "/v1/coupons/{code}", access: anyRole, tag: "coupons", summary: "Read a coupon",
		out: coupon.Coupon{}, status: 200, handler: s.getCoupon})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/validate", access: anyRole, tag: "coupons",
		summary: "Whether a coupon can be used on an order, and for how much", in: coupon.OrderInput{}, out: coupon.Check{},
		status: 200, handler: s.validateCoupon})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/redeem", access: operates, tag: "coupons",
		summary: "Use a coupon on an order (once per reference)", in: coupon.OrderInput{}, out: coupon.Coupon{}, status: 200,
		handler: s.redeemCoupon})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/unredeem", access: operates, tag: "coupons",
		summary: "Give a coupon back when its order is cancelled", in: coupon.UnredeemInput{}, out: coupon.Coupon{}, status: 200,
		handler: s.unredeemCoupon})
	s.handle(route{method: "POST", path: "/v1/coupons/{code}/transfer", access: operates, tag: "coupons",
		summary: "Give a coupon to another member", in: coupon.TransferInput{}, out: coupon.Coupon{}, status: 200, handler: s.transferCoupon})
	s.handle(route{method: "GET", path: "/v1/members/{member}/coupons", access: anyRole, tag: "coupons", summary: "A member's coupons",
		out: listBody[coupon.Coupon]{}, status: 200, handler: s.memberCoupons,
		query: append([]param{{name: "status"}}, pageParams...)})
	s.handle(route{method: "POST", path: "/v1/jobs/expire-coupons", access: admin, tag: "jobs",
		summary: "Mark coupons past their validity expired", in: jobRequest{}, out: couponsExpiredBody{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			n, err := coupon.ExpireDue(ctx, s.db, p, at)
			return couponsExpiredBody{n}, err
		})})
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[coupon.TemplateInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "coupon-templates", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Coupons.CreateTemplate(ctx, tx, actor(r), in)
	})
}

func (s *Server) patchTemplate(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[coupon.TemplateInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Coupons.UpdateTemplate(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.app.Coupons.GetTemplate(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, t)
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ts, next, err := s.app.Coupons.Templates(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ts, next)
}

func (s *Server) claimCoupon(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[coupon.ClaimInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 201, in.Member, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Coupons.Claim(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) getCoupon(w http.ResponseWriter, r *http.Request) error {
	c, err := s.app.Coupons.Get(r.Context(), actor(r), r.PathValue("code"))
	if err != nil {
		return err
	}
	return encode(w, 200, c)
}

func (s *Server) validateCoupon(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[coupon.OrderInput](s, w, r)
	if err != nil {
		return err
	}
	ch, err := s.app.Coupons.Validate(r.Context(), actor(r), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	return encode(w, 200, ch)
}

func (s *Server) redeemCoupon(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[coupon.OrderInput](s, w, r)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	return s.write(w, r, 200, in.Member, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Coupons.Redeem(ctx, tx, actor(r), code, in)
	})
}

func (s *Server) unredeemCoupon(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[coupon.UnredeemInput](s, w, r)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	return s.write(w, r, 200, "coupon:"+code, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Coupons.Unredeem(ctx, tx, actor(r), code, in)
	})
}

func (s *Server) transferCoupon(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[coupon.TransferInput](s, w, r)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	return s.write(w, r, 200, "coupon:"+code, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Coupons.Transfer(ctx, tx, actor(r), code, in)
	})
}

func (s *Server) memberCoupons(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	cs, next, err := s.app.Coupons.MemberCoupons(r.Context(), actor(r), r.PathValue("member"), r.URL.Query().Get("status"), pg)
	if err != nil {
		return err
	}
	return list(w, cs, next)
}
