package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerRules() {
	s.handle(route{method: "POST", path: "/v1/rules", access: operates, tag: "rules", summary: "Create an earning rule",
		in: rulebook.Input{}, out: rulebook.Rule{}, status: 201, handler: s.createRule})
	s.handle(route{method: "POST", path: "/v1/rules/validate", access: operates, tag: "rules",
		summary: "Check a rule as POST /v1/rules would, saving nothing: 200 {ok:true} or 422 naming each bad field",
		in:      rulebook.Input{}, out: rulebook.Checked{}, status: 200, handler: s.checkRule})
	s.handle(route{method: "GET", path: "/v1/rules", access: anyRole, tag: "rules", summary: "List earning rules",
		out: listBody[rulebook.Rule]{}, status: 200, handler: s.listRules,
		query: append([]param{{name: "status"}, {name: "event_type"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/rules/{id}", access: anyRole, tag: "rules", summary: "Read an earning rule",
		out: rulebook.Rule{}, status: 200, handler: s.getRule})
	s.handle(route{method: "PATCH", path: "/v1/rules/{id}", access: operates, tag: "rules",
		summary: "Change an earning rule (a new version)", in: rulebook.Input{}, out: rulebook.Rule{}, status: 200, handler: s.patchRule})
	s.handle(route{method: "DELETE", path: "/v1/rules/{id}", access: operates, tag: "rules", summary: "Delete an earning rule",
		status: 204, handler: s.deleteRule})
	s.handle(route{method: "GET", path: "/v1/rules/{id}/versions", access: anyRole, tag: "rules",
		summary: "List a rule's versions", out: listBody[rulebook.Version]{}, status: 200, handler: s.ruleVersions})
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[rulebook.Input](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "rules", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Rules.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) checkRule(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[rulebook.Input](s, w, r)
	if err != nil {
		return err
	}
	c, err := s.app.Rules.Check(actor(r), in)
	if err != nil {
		return err
	}
	return encode(w, 200, c)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	ru, err := s.app.Rules.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, ru)
}

func (s *Server) patchRule(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[rulebook.Input](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, "rules", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Rules.Update(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, "rules", func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Rules.Delete(ctx, tx, actor(r), id)
	})
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	rs, next, err := s.app.Rules.List(r.Context(), actor(r), q.Get("status"), q.Get("event_type"), pg)
	if err != nil {
		return err
	}
	return list(w, rs, next)
}

func (s *Server) ruleVersions(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.app.Rules.Versions(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return list(w, vs, "")
}
