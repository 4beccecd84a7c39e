package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/lottery"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerLotteries() {
	s.handle(route{method: "POST", path: "/v1/lotteries", access: operates, tag: "lottery", summary: "Create a lottery wheel",
		in: lottery.Input{}, out: lottery.Lottery{}, status: 201, handler: s.createLottery})
	s.handle(route{method: "GET", path: "/v1/lotteries", access: anyRole, tag: "lottery", summary: "List lotteries with their odds",
		out: listBody[lottery.Lottery]{}, status: 200, query: pageParams, handler: s.listLotteries})
	s.handle(route{method: "GET", path: "/v1/lotteries/{id}", access: anyRole, tag: "lottery",
		summary: "Read a lottery: each prize's current probability and stock", out: lottery.Lottery{}, status: 200, handler: s.getLottery})
	s.handle(route{method: "PATCH", path: "/v1/lotteries/{id}", access: operates, tag: "lottery", summary: "Pause or resume a lottery",
		in: lottery.StatusInput{}, out: lottery.Lottery{}, status: 200, handler: s.patchLottery})
	s.handle(route{method: "POST", path: "/v1/lotteries/{id}/draws", access: operates, tag: "lottery", summary: "Draw for a member",
		in: lottery.DrawInput{}, out: lottery.Draw{}, status: 201, handler: s.draw})
	s.handle(route{method: "GET", path: "/v1/lotteries/{id}/draws", access: anyRole, tag: "lottery",
		summary: "A lottery's draws with the random values used", out: listBody[lottery.Draw]{}, status: 200,
		query: append([]param{{name: "member"}}, pageParams...), handler: s.listDraws})
}

func (s *Server) createLottery(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[lottery.Input](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "lotteries", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Lotteries.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) listLotteries(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ls, next, err := s.app.Lotteries.List(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ls, next)
}

func (s *Server) getLottery(w http.ResponseWriter, r *http.Request) error {
	l, err := s.app.Lotteries.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, l)
}

func (s *Server) patchLottery(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[lottery.StatusInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Lotteries.SetStatus(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) draw(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[lottery.DrawInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 201, in.Member, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Lotteries.Draw(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) listDraws(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ds, next, err := s.app.Lotteries.Draws(r.Context(), actor(r), r.PathValue("id"), r.URL.Query().Get("member"), pg)
	if err != nil {
		return err
	}
	return list(w, ds, next)
}
