package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

type merchantRequest struct {
	Name string `json:"name"`
}

type currencyBody struct {
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	Spendable bool            `json:"spendable"`
	Expiry    json.RawMessage `json:"expiry"`
}

func (s *Server) registerProgram() {
	s.handle(route{method: "GET", path: "/v1/program", access: anyRole, tag: "program", summary: "Read the program",
		out: program.Program{}, status: 200, handler: legacy(s.getProgram)})
	s.handle(route{method: "PATCH", path: "/v1/program", access: admin, tag: "program", summary: "Change the program",
		in: program.Patch{}, out: program.Program{}, status: 200, handler: legacy(s.patchProgram)})
	s.handle(route{method: "GET", path: "/v1/currencies", access: anyRole, tag: "program", summary: "List point currencies",
		out: listBody[currencyBody]{}, status: 200, handler: legacy(s.listCurrencies)})

	s.handle(route{method: "POST", path: "/v1/merchants", access: operator, tag: "program", summary: "Create a merchant",
		in: merchantRequest{}, out: store.Merchant{}, status: 201, handler: legacy(s.createMerchant)})
	s.handle(route{method: "GET", path: "/v1/merchants", access: anyRole, tag: "program", summary: "List merchants",
		out: listBody[store.Merchant]{}, status: 200, query: pageParams, handler: listOf(s, func(ctx context.Context, c *store.Conn, pid string, pg store.Page) ([]store.Merchant, string, error) {
			return c.Merchants(ctx, pid, pg)
		})})
	s.handle(route{method: "GET", path: "/v1/merchants/{id}", access: anyRole, tag: "program", summary: "Read a merchant",
		out: store.Merchant{}, status: 200, handler: getOf(s, func(ctx context.Context, c *store.Conn, pid, id string) (store.Merchant, error) {
			return c.Merchant(ctx, pid, id)
		})})

	s.handle(route{method: "POST", path: "/v1/api-keys", access: admin, tag: "program", summary: "Create an API key",
		in: auth.CreateInput{}, out: auth.Key{}, status: 201, handler: legacy(s.createKey)})
	s.handle(route{method: "GET", path: "/v1/api-keys", access: admin, tag: "program", summary: "List API keys",
		out: listBody[auth.Key]{}, status: 200, query: pageParams, handler: legacy(s.listKeys)})
	s.handle(route{method: "DELETE", path: "/v1/api-keys/{id}", access: admin, tag: "program", summary: "Delete an API key",
		status: 204, handler: legacy(s.deleteKey)})
}

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) {
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, p)
}

func (s *Server) patchProgram(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[program.Patch](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 200, "program:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.programs.Update(ctx, tx, pid, in, s.clock.Now())
	})
}

func (s *Server) listCurrencies(w http.ResponseWriter, r *http.Request) {
	curs, err := s.db.Read().Currencies(r.Context(), actor(r).ProgramID)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := make([]currencyBody, len(curs))
	for i, c := range curs {
		exp := c.Expiry
		if len(exp) == 0 {
			exp, _ = json.Marshal(p.Expiry)
		}
		out[i] = currencyBody{Code: c.Code, Name: c.Name, Spendable: c.Spendable, Expiry: exp}
	}
	list(w, out, "")
}

func (s *Server) createMerchant(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[merchantRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 201, "program:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		return program.CreateMerchant(ctx, tx, pid, in.Name, s.clock.Now())
	})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[auth.CreateInput](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 201, "program:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.auth.Create(ctx, tx, pid, in, s.clock.Now())
	})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ks, next, err := s.auth.List(r.Context(), actor(r).ProgramID, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, ks, next)
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 204, "program:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.auth.Delete(ctx, tx, pid, r.PathValue("id"), s.clock.Now())
	})
}

// ledgerProgram reads the request's program settings for the ledger.
func (s *Server) ledgerProgram(r *http.Request) (ledger.Program, error) {
	p, err := s.program(r)
	return p.Ledger(), err
}
