package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/settlement"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerSettlement() {
	s.handle(route{method: "PUT", path: "/v1/merchants/{id}/settlement-terms", access: admin, tag: "settlement",
		summary: "Set a merchant's settlement terms", in: settlement.TermsInput{}, out: settlement.Terms{}, status: 200,
		handler: s.putTerms})
	s.handle(route{method: "GET", path: "/v1/merchants/{id}/settlement-terms", access: anyRole, tag: "settlement",
		summary: "A merchant's settlement terms (the defaults where none are set); a merchant key reads its own",
		out:     settlement.Terms{}, status: 200, handler: s.getTerms})
	s.handle(route{method: "POST", path: "/v1/statements", access: admin, tag: "settlement",
		summary: "Open a draft statement up to an instant", in: settlement.StatementInput{}, out: settlement.Statement{},
		status: 201, handler: s.createStatement})
	s.handle(route{method: "GET", path: "/v1/statements", access: anyRole, tag: "settlement",
		summary: "List statements, newest first; a merchant key sees its own line and pairs",
		out:     listBody[settlement.Statement]{}, status: 200, query: pageParams, handler: s.listStatements})
	s.handle(route{method: "GET", path: "/v1/statements/{id}", access: anyRole, tag: "settlement",
		summary: "Read a statement (a draft is computed now); CSV of its lines or pairs", out: settlement.Statement{}, status: 200,
		query: []param{
			{name: "format", desc: "csv for a CSV file of the lines (or send Accept: text/csv)"},
			{name: "part", desc: "lines (default) or pairs: which CSV file"},
		}, handler: s.getStatement})
	s.handle(route{method: "DELETE", path: "/v1/statements/{id}", access: admin, tag: "settlement",
		summary: "Delete a draft statement", status: 204, handler: s.deleteStatement})
	s.handle(route{method: "POST", path: "/v1/statements/{id}/close", access: admin, tag: "settlement",
		summary: "Close a statement: freeze its figures and settle its moves", out: settlement.Statement{}, status: 200,
		handler: s.closeStatement})
}

// statementsLane queues a programme's statement writes behind each other.
func statementsLane(r *http.Request) string { return "statements:" + actor(r).ProgramID }

func (s *Server) putTerms(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[settlement.TermsInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, statementsLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Settlement.PutTerms(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) getTerms(w http.ResponseWriter, r *http.Request) error {
	t, err := s.app.Settlement.GetTerms(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, t)
}

func (s *Server) createStatement(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[settlement.StatementInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, statementsLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Settlement.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) listStatements(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	sts, next, err := s.app.Settlement.List(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, sts, next)
}

func (s *Server) getStatement(w http.ResponseWriter, r *http.Request) error {
	part := r.URL.Query().Get("part")
	if part != "" && part != "lines" && part != "pairs" {
		return failure.Field("part", "must be lines or pairs")
	}
	st, err := s.app.Settlement.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		if part == "pairs" {
			return writeCSV(w, "statement_"+st.ID+"_pairs", st.Pairs)
		}
		return writeCSV(w, "statement_"+st.ID+"_lines", st.Lines)
	}
	return encode(w, 200, st)
}

func (s *Server) deleteStatement(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, statementsLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Settlement.Delete(ctx, tx, actor(r), id)
	})
}

func (s *Server) closeStatement(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 200, statementsLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Settlement.Close(ctx, tx, actor(r), id)
	})
}
