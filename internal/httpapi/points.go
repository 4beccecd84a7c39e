package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/points"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerPoints() {
	m := "/v1/members/{member}"
	s.handle(route{method: "POST", path: m + "/points/earn", access: operates, tag: "points", summary: "Earn points",
		in: points.EarnInput{}, out: ledger.Txn{}, status: 201, handler: s.earn})
	s.handle(route{method: "POST", path: m + "/points/spend", access: operates, tag: "points", summary: "Spend points",
		in: points.SpendInput{}, out: ledger.Txn{}, status: 201, handler: s.spend})
	s.handle(route{method: "POST", path: m + "/points/adjust", access: admin, tag: "points", summary: "Adjust points",
		in: points.AdjustInput{}, out: ledger.Txn{}, status: 201, handler: s.adjust})
	s.handle(route{method: "GET", path: m + "/transactions", access: anyRole, tag: "points",
		summary: "List a member's transactions", out: listBody[ledger.Txn]{}, status: 200, handler: s.listTxns,
		query: append([]param{{name: "type"}, {name: "currency"}}, pageParams...)})
	s.handle(route{method: "GET", path: m + "/lots", access: anyRole, tag: "points", summary: "List a member's lots",
		out: listBody[ledger.Lot]{}, status: 200, handler: s.listLots,
		query: append([]param{{name: "status"}, {name: "currency"}}, pageParams...)})
	s.handle(route{method: "POST", path: m + "/holds", access: operates, tag: "holds", summary: "Hold points",
		in: points.HoldInput{}, out: ledger.Hold{}, status: 201, handler: s.placeHold})
	s.handle(route{method: "GET", path: m + "/holds", access: anyRole, tag: "holds", summary: "List a member's holds",
		out: listBody[ledger.Hold]{}, status: 200, handler: s.listHolds,
		query: append([]param{{name: "status"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/holds/{id}", access: anyRole, tag: "holds", summary: "Read a hold",
		out: ledger.Hold{}, status: 200, handler: s.getHold})
	s.handle(route{method: "POST", path: "/v1/holds/{id}/capture", access: operates, tag: "holds", summary: "Capture a hold",
		in: points.CaptureInput{}, out: ledger.Hold{}, status: 200, handler: s.captureHold})
	s.handle(route{method: "POST", path: "/v1/holds/{id}/release", access: operates, tag: "holds", summary: "Release a hold",
		out: ledger.Hold{}, status: 200, handler: s.releaseHold})
	s.handle(route{method: "GET", path: "/v1/transactions/{id}", access: anyRole, tag: "points",
		summary: "Read a transaction and its lot moves", out: ledger.TxnWithMoves{}, status: 200, handler: s.getTxn})
	s.handle(route{method: "POST", path: "/v1/transactions/{id}/reverse", access: operates, tag: "points",
		summary: "Reverse a transaction", in: points.ReverseInput{}, out: ledger.Txn{}, status: 201, handler: s.reverse})
	s.handle(route{method: "GET", path: m + "/balance", access: anyRole, tag: "members",
		summary: "Read a member's balances", out: map[string]ledger.MemberBalance{}, status: 200, handler: s.getBalance})
}

func (s *Server) earn(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[points.EarnInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Points.Earn(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) spend(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[points.SpendInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Points.Spend(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) adjust(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[points.AdjustInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Points.Adjust(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) placeHold(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[points.HoldInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Points.PlaceHold(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) error {
	h, err := s.app.Points.GetHold(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, h)
}

func (s *Server) captureHold(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[points.CaptureInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Points.Capture(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 200, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Points.Release(ctx, tx, actor(r), id)
	})
}

func (s *Server) getTxn(w http.ResponseWriter, r *http.Request) error {
	t, err := s.app.Points.GetTxn(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, t)
}

func (s *Server) reverse(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[points.ReverseInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 201, id, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Points.Reverse(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) listTxns(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ts, next, err := s.app.Points.Txns(r.Context(), actor(r), r.PathValue("member"),
		store.TxnFilter{Type: q.Get("type"), Currency: q.Get("currency")}, pg)
	if err != nil {
		return err
	}
	return list(w, ts, next)
}

func (s *Server) listLots(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	lots, next, err := s.app.Points.Lots(r.Context(), actor(r), r.PathValue("member"),
		store.LotFilter{Status: q.Get("status"), Currency: q.Get("currency")}, pg)
	if err != nil {
		return err
	}
	return list(w, lots, next)
}

func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	hs, next, err := s.app.Points.Holds(r.Context(), actor(r), r.PathValue("member"), r.URL.Query().Get("status"), pg)
	if err != nil {
		return err
	}
	return list(w, hs, next)
}

func (s *Server) getBalance(w http.ResponseWriter, r *http.Request) error {
	b, err := s.app.Points.Balance(r.Context(), actor(r), r.PathValue("member"))
	if err != nil {
		return err
	}
	return encode(w, 200, b)
}
