package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerProgram() {
	s.handle(route{method: "GET", path: "/v1/program", access: anyRole, tag: "program", summary: "Read the program",
		out: program.Program{}, status: 200, handler: s.getProgram})
	s.handle(route{method: "PATCH", path: "/v1/program", access: admin, tag: "program", summary: "Change the program",
		in: program.Patch{}, out: program.Program{}, status: 200, handler: s.patchProgram})
	s.handle(route{method: "GET", path: "/v1/currencies", access: anyRole, tag: "program", summary: "List point currencies",
		out: listBody[program.CurrencyInfo]{}, status: 200, handler: s.listCurrencies})

	s.handle(route{method: "POST", path: "/v1/merchants", access: admin, tag: "program", summary: "Create a merchant",
		in: program.MerchantInput{}, out: program.Merchant{}, status: 201, handler: s.createMerchant})
	s.handle(route{method: "GET", path: "/v1/merchants", access: anyRole, tag: "program", summary: "List merchants",
		out: listBody[program.Merchant]{}, status: 200, query: pageParams, handler: s.listMerchants})
	s.handle(route{method: "GET", path: "/v1/merchants/{id}", access: anyRole, tag: "program", summary: "Read a merchant",
		out: program.Merchant{}, status: 200, handler: s.getMerchant})

	s.handle(route{method: "POST", path: "/v1/api-keys", access: admin, tag: "program", summary: "Create an API key",
		in: auth.CreateInput{}, out: auth.KeyCreated{}, status: 201, handler: s.createKey})
	s.handle(route{method: "GET", path: "/v1/api-keys", access: admin, tag: "program", summary: "List API keys",
		out: listBody[auth.Key]{}, status: 200, query: pageParams, handler: s.listKeys})
	s.handle(route{method: "PATCH", path: "/v1/api-keys/{id}", access: admin, tag: "program", summary: "Change an API key's name or rate limit",
		in: auth.Patch{}, out: auth.Key{}, status: 200, handler: s.patchKey})
	s.handle(route{method: "DELETE", path: "/v1/api-keys/{id}", access: admin, tag: "program", summary: "Delete an API key",
		status: 204, handler: s.deleteKey})
}

// programLane is the writer lane of changes to a programme's settings.
func programLane(r *http.Request) string { return "program:" + actor(r).ProgramID }

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) error {
	p, err := s.app.Programs.Get(r.Context(), actor(r).ProgramID)
	if err != nil {
		return err
	}
	return encode(w, 200, p)
}

func (s *Server) patchProgram(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[program.Patch](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 200, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Programs.Update(ctx, tx, actor(r), in)
	})
}

func (s *Server) listCurrencies(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.app.Programs.Currencies(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return list(w, cs, "")
}

func (s *Server) createMerchant(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[program.MerchantInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Programs.CreateMerchant(ctx, tx, actor(r), in)
	})
}

func (s *Server) listMerchants(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ms, next, err := s.app.Programs.Merchants(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ms, next)
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request) error {
	m, err := s.app.Programs.GetMerchant(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, m)
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[auth.CreateInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Auth.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ks, next, err := s.app.Auth.List(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ks, next)
}

func (s *Server) patchKey(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[auth.Patch](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Auth.Update(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Auth.Delete(ctx, tx, actor(r), id)
	})
}
