package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerMembers() {
	m := "/v1/members/{member}"
	s.handle(route{method: "POST", path: m + "/tokens", access: operates, tag: "members",
		summary: "A short-lived member token for the member page (signed; any node checks it)", in: member.TokenInput{},
		out: member.Token{}, status: 201, handler: s.issueToken})
	s.handle(route{method: "POST", path: "/v1/members", access: operates, tag: "members", summary: "Create a member",
		in: member.Input{}, out: member.Member{}, status: 201, handler: s.createMember})
	s.handle(route{method: "GET", path: "/v1/members", access: anyRole, tag: "members", summary: "List members",
		out: listBody[member.Member]{}, status: 200, handler: s.listMembers,
		query: append([]param{{name: "external_id"}, {name: "phone"}, {name: "tier"}, {name: "status"},
			{name: "tag", desc: "members with every given tag", array: true}}, pageParams...)})
	s.handle(route{method: "GET", path: m, access: anyRole, tag: "members", summary: "Read a member",
		out: member.Member{}, status: 200, handler: s.getMember})
	s.handle(route{method: "PATCH", path: m, access: operates, tag: "members", summary: "Change a member's profile",
		in: member.Input{}, out: member.Member{}, status: 200, handler: s.patchMember})
	s.handle(route{method: "POST", path: m + "/freeze", access: admin, tag: "members", summary: "Freeze a member",
		out: member.Member{}, status: 200, handler: s.freeze(true)})
	s.handle(route{method: "POST", path: m + "/unfreeze", access: admin, tag: "members", summary: "Unfreeze a member",
		out: member.Member{}, status: 200, handler: s.freeze(false)})
	s.handle(route{method: "POST", path: m + "/erase", access: admin, tag: "members",
		summary: "Erase a member's personal data", out: member.Member{}, status: 200, handler: s.eraseMember})
}

func (s *Server) createMember(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[member.Input](s, w, r)
	if err != nil {
		return err
	}
	lane := "member-new"
	if in.ExternalID != nil {
		lane = "ext:" + *in.ExternalID
	}
	return s.write(w, r, 201, lane, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Members.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ms, next, err := s.app.Members.List(r.Context(), actor(r), member.Filter{ExternalID: q.Get("external_id"),
		Phone: q.Get("phone"), Tier: q.Get("tier"), Status: q.Get("status"), Tags: q["tag"]}, pg)
	if err != nil {
		return err
	}
	return list(w, ms, next)
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.app.Members.Get(r.Context(), actor(r), r.PathValue("member"))
	if err != nil {
		return err
	}
	return encode(w, 200, m)
}

func (s *Server) patchMember(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[member.Input](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 200, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Members.Update(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) freeze(frozen bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref := r.PathValue("member")
		return s.write(w, r, 200, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
			return s.app.Members.SetFrozen(ctx, tx, actor(r), ref, frozen)
		})
	}
}

func (s *Server) eraseMember(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("member")
	return s.write(w, r, 200, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Members.Erase(ctx, tx, actor(r), ref)
	})
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[member.TokenInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Members.IssueToken(ctx, tx, actor(r), ref, in)
	})
}
