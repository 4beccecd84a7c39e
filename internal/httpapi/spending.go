package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/mall"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerSpending() {
	s.handle(route{method: "POST", path: "/v1/checkout/quote", access: anyRole, tag: "spending",
		summary: "How many points a member may use on an order", in: mall.QuoteInput{}, out: mall.Quote{}, status: 200,
		handler: s.quote})

	s.handle(route{method: "POST", path: "/v1/rewards", access: operates, tag: "spending", summary: "Create a points-mall reward",
		in: mall.RewardInput{}, out: mall.Reward{}, status: 201, handler: s.createReward})
	s.handle(route{method: "GET", path: "/v1/rewards", access: anyRole, tag: "spending",
		summary: "List rewards (available_to: what a member may redeem now)", out: listBody[mall.Reward]{}, status: 200,
		handler: s.listRewards, query: append([]param{{name: "available_to", desc: "a member"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/rewards/{id}", access: anyRole, tag: "spending", summary: "Read a reward",
		out: mall.Reward{}, status: 200, handler: s.getReward})
	s.handle(route{method: "PATCH", path: "/v1/rewards/{id}", access: operates, tag: "spending",
		summary: "Change a reward (stock restocks)", in: mall.RewardInput{}, out: mall.Reward{}, status: 200, handler: s.patchReward})

	s.handle(route{method: "POST", path: "/v1/redemptions", access: operates, tag: "spending", summary: "Redeem a reward",
		in: mall.RedemptionInput{}, out: mall.Redemption{}, status: 201, handler: s.redeem})
	s.handle(route{method: "GET", path: "/v1/redemptions", access: anyRole, tag: "spending", summary: "List redemptions",
		out: listBody[mall.Redemption]{}, status: 200, handler: s.listRedemptions,
		query: append([]param{{name: "member"}, {name: "reward_id"}, {name: "status"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/redemptions/{id}", access: anyRole, tag: "spending", summary: "Read a redemption",
		out: mall.Redemption{}, status: 200, handler: s.getRedemption})
	s.handle(route{method: "POST", path: "/v1/redemptions/{id}/fulfil", access: operates, tag: "spending",
		summary: "Mark a redemption delivered (final)", out: mall.Redemption{}, status: 200, handler: s.fulfil})
	s.handle(route{method: "POST", path: "/v1/redemptions/{id}/cancel", access: operates, tag: "spending",
		summary: "Cancel a pending redemption: points and stock back", out: mall.Redemption{}, status: 200, handler: s.cancelRedemption})
	s.registerCoupons()
	s.registerLotteries()
}

func (s *Server) quote(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[mall.QuoteInput](s, w, r)
	if err != nil {
		return err
	}
	q, err := s.app.Mall.Quote(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	return encode(w, 200, q)
}

func (s *Server) createReward(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[mall.RewardInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "rewards", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Mall.CreateReward(ctx, tx, actor(r), in)
	})
}

func (s *Server) getReward(w http.ResponseWriter, r *http.Request) error {
	rw, err := s.app.Mall.GetReward(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, rw)
}

func (s *Server) listRewards(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	rs, next, err := s.app.Mall.Rewards(r.Context(), actor(r), r.URL.Query().Get("available_to"), pg)
	if err != nil {
		return err
	}
	return list(w, rs, next)
}

func (s *Server) patchReward(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[mall.RewardInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Mall.UpdateReward(ctx, tx, actor(r), id, in)
	})
}

// redeem lets the flash-sale gate answer what it can (sold out, not yet
// on sale) before any transaction; the database decides the rest.
func (s *Server) redeem(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[mall.RedemptionInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, in.Member, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Mall.Redeem(ctx, tx, actor(r), in)
	}, func(ctx context.Context) error {
		return s.app.Mall.Precheck(ctx, actor(r), in)
	})
}

func (s *Server) listRedemptions(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	rs, next, err := s.app.Mall.Redemptions(r.Context(), actor(r),
		mall.RedemptionFilter{Member: q.Get("member"), RewardID: q.Get("reward_id"), Status: q.Get("status")}, pg)
	if err != nil {
		return err
	}
	return list(w, rs, next)
}

func (s *Server) getRedemption(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.app.Mall.GetRedemption(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, rd)
}

func (s *Server) fulfil(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Mall.Fulfil(ctx, tx, actor(r), id)
	})
}

func (s *Server) cancelRedemption(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Mall.Cancel(ctx, tx, actor(r), id)
	})
}
