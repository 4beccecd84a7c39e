package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/lottery"
	"github.com/jifen/jifen/internal/store"
)

type lotteryPatch struct {
	Status string `json:"status"`
}

func (s *Server) registerLotteries() {
	s.handle(route{method: "POST", path: "/v1/lotteries", access: operator, tag: "lottery", summary: "Create a lottery wheel",
		in: lottery.Input{}, out: lottery.Lottery{}, status: 201, handler: legacy(s.createLottery)})
	s.handle(route{method: "GET", path: "/v1/lotteries", access: anyRole, tag: "lottery", summary: "List lotteries with their odds",
		out: listBody[lottery.Lottery]{}, status: 200, query: pageParams, handler: listOf(s, lottery.List)})
	s.handle(route{method: "GET", path: "/v1/lotteries/{id}", access: anyRole, tag: "lottery",
		summary: "Read a lottery: each prize's current probability and stock", out: lottery.Lottery{}, status: 200, handler: getOf(s, lottery.Get)})
	s.handle(route{method: "PATCH", path: "/v1/lotteries/{id}", access: operator, tag: "lottery", summary: "Pause or resume a lottery",
		in: lotteryPatch{}, out: lottery.Lottery{}, status: 200, handler: legacy(s.patchLottery)})
	s.handle(route{method: "POST", path: "/v1/lotteries/{id}/draws", access: operator, tag: "lottery", summary: "Draw for a member",
		in: memberRequest{}, out: lottery.Draw{}, status: 201, handler: legacy(s.draw)})
	s.handle(route{method: "GET", path: "/v1/lotteries/{id}/draws", access: anyRole, tag: "lottery",
		summary: "A lottery's draws with the random values used", out: listBody[lottery.Draw]{}, status: 200,
		query: append([]param{{name: "member"}}, pageParams...), handler: legacy(s.listDraws)})
}

func (s *Server) createLottery(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[lottery.Input](s, w, r)
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
	s.writeLegacy(w, r, body, 201, "lotteries:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return lottery.Create(ctx, tx, p, in, s.clock.Now())
	})
}

func (s *Server) patchLottery(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[lotteryPatch](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	cur, err := lottery.Get(r.Context(), s.db.Read(), p.ID, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := ownMerchant(r, cur.MerchantID); err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, "lotteries:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return lottery.SetStatus(ctx, tx, p, cur.ID, in.Status, s.clock.Now())
	})
}

func (s *Server) draw(w http.ResponseWriter, r *http.Request) {
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
		return s.drawer.Draw(ctx, tx, p, r.PathValue("id"), m.ID, in.MerchantID, s.clock.Now())
	})
}

func (s *Server) listDraws(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	memberID := ""
	if ref := r.URL.Query().Get("member"); ref != "" {
		m, err := s.resolve(r, ref)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		memberID = m.ID
	}
	ds, next, err := lottery.Draws(r.Context(), s.db.Replica(), actor(r).ProgramID, r.PathValue("id"), memberID, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, ds, next)
}
