package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/store"
)

// registerIdentities adds the routes of a member's identities, its tags
// and merging. A member's identities and tags are the programme's (the
// card is shared): every key reads them, operators change them; merging
// is an admin's.
func (s *Server) registerIdentities() {
	m := "/v1/members/{member}"
	s.handle(route{method: "GET", path: m + "/identities", access: anyRole, tag: "members",
		summary: "List a member's identities", out: listBody[identity.Identity]{}, status: 200, handler: s.listIdentities})
	s.handle(route{method: "POST", path: m + "/identities", access: operates, tag: "members",
		summary: "Add an identity to a member ((kind, value) unique in the programme: member_exists; a second phone, external_id or email: conflict)",
		in:      identity.Input{}, out: identity.Identity{}, status: 201, handler: s.addIdentity})
	s.handle(route{method: "DELETE", path: m + "/identities/{id}", access: operates, tag: "members",
		summary: "Delete one of a member's identities (a phone or external_id clears the member's field)", status: 204,
		handler: s.deleteIdentity})
	s.handle(route{method: "POST", path: m + "/tags", access: operates, tag: "members", summary: "Add tags to a member",
		in: member.TagsInput{}, out: member.Tags{}, status: 200, handler: s.addTags})
	s.handle(route{method: "DELETE", path: m + "/tags/{tag}", access: operates, tag: "members",
		summary: "Take a tag off a member", status: 204, handler: s.removeTag})
	s.handle(route{method: "GET", path: "/v1/tags", access: anyRole, tag: "members",
		summary: "The programme's tags with how many members have each", out: listBody[member.TagCount]{}, status: 200, handler: s.listTags})
	s.handle(route{method: "POST", path: m + "/merge", access: admin, tag: "members",
		summary: "Merge member source into this one, in one transaction (points, lots, holds, identities, tags, coupons, pending redemptions)",
		in:      member.MergeInput{}, out: member.MergeResult{}, status: 200, handler: s.merge})
}

func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.app.Identity.List(r.Context(), actor(r), r.PathValue("member"))
	if err != nil {
		return err
	}
	return list(w, ids, "")
}

func (s *Server) addIdentity(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[identity.Input](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Identity.Add(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) deleteIdentity(w http.ResponseWriter, r *http.Request) error {
	ref, id := r.PathValue("member"), r.PathValue("id")
	return s.write(w, r, 204, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Identity.Delete(ctx, tx, actor(r), ref, id)
	})
}

func (s *Server) addTags(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[member.TagsInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 200, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Members.AddTags(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) removeTag(w http.ResponseWriter, r *http.Request) error {
	ref, tag := r.PathValue("member"), r.PathValue("tag")
	return s.write(w, r, 204, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Members.RemoveTag(ctx, tx, actor(r), ref, tag)
	})
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.app.Members.TagCounts(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return list(w, ts, "")
}

func (s *Server) merge(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[member.MergeInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 200, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Members.Merge(ctx, tx, actor(r), ref, in)
	})
}
