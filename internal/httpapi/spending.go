package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/coupon"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

type quoteRequest struct {
	Member      string `json:"member"`
	OrderAmount *int64 `json:"order_amount"`
	Coupon      string `json:"coupon,omitempty"`
}

type redemptionRequest struct {
	Member     string `json:"member"`
	RewardID   string `json:"reward_id"`
	Quantity   int64  `json:"quantity,omitempty"`
	MerchantID string `json:"merchant_id,omitempty"`
}

func (s *Server) registerSpending() {
	s.handle(route{method: "POST", path: "/v1/checkout/quote", access: anyRole, tag: "spending",
		summary: "How many points a member may use on an order", in: quoteRequest{}, out: mall.Quote{}, status: 200,
		handler: legacy(s.quote)})

	s.handle(route{method: "POST", path: "/v1/rewards", access: operator, tag: "spending", summary: "Create a points-mall reward",
		in: mall.RewardInput{}, out: mall.Reward{}, status: 201, handler: legacy(s.createReward)})
	s.handle(route{method: "GET", path: "/v1/rewards", access: anyRole, tag: "spending",
		summary: "List rewards (available_to: what a member may redeem now)", out: listBody[mall.Reward]{}, status: 200,
		handler: legacy(s.listRewards), query: append([]param{{name: "available_to", desc: "a member"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/rewards/{id}", access: anyRole, tag: "spending", summary: "Read a reward",
		out: mall.Reward{}, status: 200, handler: getOf(s, mall.GetReward)})
	s.handle(route{method: "PATCH", path: "/v1/rewards/{id}", access: operator, tag: "spending",
		summary: "Change a reward (stock restocks)", in: mall.RewardInput{}, out: mall.Reward{}, status: 200, handler: legacy(s.patchReward)})

	s.handle(route{method: "POST", path: "/v1/redemptions", access: operator, tag: "spending", summary: "Redeem a reward",
		in: redemptionRequest{}, out: mall.Redemption{}, status: 201, handler: legacy(s.redeem)})
	s.handle(route{method: "GET", path: "/v1/redemptions", access: anyRole, tag: "spending", summary: "List redemptions",
		out: listBody[mall.Redemption]{}, status: 200, handler: legacy(s.listRedemptions),
		query: append([]param{{name: "member"}, {name: "reward_id"}, {name: "status"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/redemptions/{id}", access: anyRole, tag: "spending", summary: "Read a redemption",
		out: mall.Redemption{}, status: 200, handler: getOf(s, mall.GetRedemption)})
	s.handle(route{method: "POST", path: "/v1/redemptions/{id}/fulfil", access: operator, tag: "spending",
		summary: "Mark a redemption delivered", out: mall.Redemption{}, status: 200, handler: legacy(s.fulfil)})
	s.handle(route{method: "POST", path: "/v1/redemptions/{id}/cancel", access: operator, tag: "spending",
		summary: "Cancel a redemption: points and stock back", out: mall.Redemption{}, status: 200, handler: legacy(s.cancelRedemption)})
	s.registerCoupons()
	s.registerLotteries()
}

func (s *Server) quote(w http.ResponseWriter, r *http.Request) {
	in, _, err := decodeBody[quoteRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var fs failure.Fields
	if in.Member == "" {
		fs.Add("member", "is required")
	}
	if in.OrderAmount == nil || *in.OrderAmount < 0 {
		fs.Add("order_amount", "is required: the order amount in fen, zero or more")
	}
	if err := fs.Err(); err != nil {
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
	bal, err := s.db.Read().Balance(r.Context(), p.ID, m.ID, "points")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var off int64
	if in.Coupon != "" {
		ch, err := coupon.Validate(r.Context(), s.db.Read(), p, in.Coupon, m.ID, *in.OrderAmount, s.clock.Now())
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if !ch.OK {
			s.problem(w, r, failure.Field("coupon", "cannot be used on this order: %s", ch.Reason))
			return
		}
		off = ch.Discount
	}
	available := bal.Available
	if m.Status != "active" {
		available = 0
	}
	q, err := mall.QuoteFor(*in.OrderAmount, off, available, p.PointsPerYuan, p.MaxOffsetPercent)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, q)
}

// ownMerchant checks that a merchant key edits only its merchant's things.
func ownMerchant(r *http.Request, merchantID *string) error {
	p := actor(r)
	if p.Role == auth.Merchant && (merchantID == nil || *merchantID != p.MerchantID) {
		return errForbidden("a merchant key edits only its own merchant's objects")
	}
	return nil
}

func (s *Server) createReward(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[mall.RewardInput](s, w, r)
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
	s.writeLegacy(w, r, body, 201, "rewards:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return mall.CreateReward(ctx, tx, p, in, s.clock.Now())
	})
}

func (s *Server) listRewards(w http.ResponseWriter, r *http.Request) {
	if ref := r.URL.Query().Get("available_to"); ref != "" {
		m, err := s.resolve(r, ref)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		p, err := s.program(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		rs, err := mall.AvailableTo(r.Context(), s.db.Read(), p, m.ID, s.clock.Now())
		if err != nil {
			s.problem(w, r, err)
			return
		}
		list(w, rs, "")
		return
	}
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rs, next, err := mall.ListRewards(r.Context(), s.db.Read(), actor(r).ProgramID, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, rs, next)
}

func (s *Server) patchReward(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[mall.RewardInput](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	cur, err := mall.GetReward(r.Context(), s.db.Read(), p.ID, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := ownMerchant(r, cur.MerchantID); err != nil {
		s.problem(w, r, err)
		return
	}
	if in.MerchantID != nil {
		if _, err := actingMerchant(r, *in.MerchantID); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	s.writeLegacy(w, r, body, 200, "rewards:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.mall.UpdateReward(ctx, tx, p, cur.ID, in, s.clock.Now())
	})
}

// redeem answers from the flash-sale gate what it can (sold out, not yet on
// sale) and sends the rest to the database, which decides.
func (s *Server) redeem(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[redemptionRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var fs failure.Fields
	if in.Member == "" {
		fs.Add("member", "is required")
	}
	if in.RewardID == "" {
		fs.Add("reward_id", "is required")
	}
	if err := fs.Err(); err != nil {
		s.problem(w, r, err)
		return
	}
	if in.MerchantID, err = actingMerchant(r, in.MerchantID); err != nil {
		s.problem(w, r, err)
		return
	}
	_ = body
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
	err = s.write(w, r, 201, m.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		if err := merchantFor(ctx, tx, p.ID, in.MerchantID); err != nil {
			return nil, err
		}
		return s.mall.Redeem(ctx, tx, p, mall.RedeemInput{MemberID: m.ID, RewardID: in.RewardID, Quantity: in.Quantity,
			MerchantID: in.MerchantID}, s.clock.Now())
	}, func(ctx context.Context) error {
		return s.mall.Precheck(ctx, p.ID, in.RewardID, s.clock.Now())
	})
	if err != nil {
		s.problem(w, r, err)
	}
}

var redemptionStatuses = []string{mall.Pending, mall.Fulfilled, mall.Cancelled}

func (s *Server) listRedemptions(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	q := r.URL.Query()
	f := store.RedemptionFilter{RewardID: q.Get("reward_id"), Status: q.Get("status")}
	if f.Status != "" && !slices.Contains(redemptionStatuses, f.Status) {
		s.problem(w, r, failure.Field("status", "must be one of %v", redemptionStatuses))
		return
	}
	if ref := q.Get("member"); ref != "" {
		m, err := s.resolve(r, ref)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		f.MemberID = m.ID
	}
	rs, next, err := mall.ListRedemptions(r.Context(), s.db.Replica(), actor(r).ProgramID, f, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, rs, next)
}

func (s *Server) redemptionAction(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, tx *store.Tx, p program.Program, id string, now time.Time) (mall.Redemption, error)) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rd, err := mall.GetRedemption(r.Context(), s.db.Read(), p.ID, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, rd.MemberID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return act(ctx, tx, p, rd.ID, s.clock.Now())
	})
}

func (s *Server) fulfil(w http.ResponseWriter, r *http.Request) {
	s.redemptionAction(w, r, mall.Fulfil)
}

func (s *Server) cancelRedemption(w http.ResponseWriter, r *http.Request) {
	s.redemptionAction(w, r, s.mall.Cancel)
}
