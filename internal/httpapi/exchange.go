package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/exchange"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// registerExchange adds the currencies' writes, the exchange rates and a
// member's exchanges.
func (s *Server) registerExchange() {
	s.handle(route{method: "POST", path: "/v1/currencies", access: admin, tag: "program", summary: "Create a point currency",
		in: program.CurrencyInput{}, out: program.CurrencyInfo{}, status: 201, handler: s.createCurrency})
	s.handle(route{method: "PATCH", path: "/v1/currencies/{code}", access: admin, tag: "program", summary: "Change a point currency",
		in: program.CurrencyPatch{}, out: program.CurrencyInfo{}, status: 200, handler: s.patchCurrency})

	s.handle(route{method: "PUT", path: "/v1/exchange-rates/{from}/{to}", access: admin, tag: "exchange",
		summary: "Set the exchange rate from one currency to another", in: exchange.RateInput{}, out: exchange.Rate{},
		status: 200, handler: s.putRate})
	s.handle(route{method: "GET", path: "/v1/exchange-rates", access: anyRole, tag: "exchange", summary: "List exchange rates",
		out: listBody[exchange.Rate]{}, status: 200, handler: s.listRates})
	s.handle(route{method: "DELETE", path: "/v1/exchange-rates/{from}/{to}", access: admin, tag: "exchange",
		summary: "Delete an exchange rate", status: 204, handler: s.deleteRate})

	m := "/v1/members/{member}"
	s.handle(route{method: "POST", path: m + "/exchanges", access: operates, tag: "exchange",
		summary: "Exchange a member's points into another currency", in: exchange.Input{}, out: exchange.Exchange{},
		status: 201, handler: s.exchange})
	s.handle(route{method: "GET", path: m + "/exchanges", access: anyRole, tag: "exchange", summary: "List a member's exchanges",
		out: listBody[exchange.Exchange]{}, status: 200, query: pageParams, handler: s.listExchanges})
}

func (s *Server) createCurrency(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[program.CurrencyInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Programs.CreateCurrency(ctx, tx, actor(r), in)
	})
}

func (s *Server) patchCurrency(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[program.CurrencyPatch](s, w, r)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	return s.write(w, r, 200, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Programs.UpdateCurrency(ctx, tx, actor(r), code, in)
	})
}

func (s *Server) putRate(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[exchange.RateInput](s, w, r)
	if err != nil {
		return err
	}
	from, to := r.PathValue("from"), r.PathValue("to")
	return s.write(w, r, 200, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Exchange.PutRate(ctx, tx, actor(r), from, to, in)
	})
}

func (s *Server) listRates(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.app.Exchange.Rates(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return list(w, rs, "")
}

func (s *Server) deleteRate(w http.ResponseWriter, r *http.Request) error {
	from, to := r.PathValue("from"), r.PathValue("to")
	return s.write(w, r, 204, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Exchange.DeleteRate(ctx, tx, actor(r), from, to)
	})
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[exchange.Input](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Exchange.Exchange(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) listExchanges(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	xs, next, err := s.app.Exchange.Exchanges(r.Context(), actor(r), r.PathValue("member"), pg)
	if err != nil {
		return err
	}
	return list(w, xs, next)
}
