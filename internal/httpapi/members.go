package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/engage"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

func (s *Server) registerMembers() {
	m := "/v1/members/{member}"
	s.handle(route{method: "POST", path: "/v1/members", access: operator, tag: "members", summary: "Create a member",
		in: member.Input{}, out: member.Member{}, status: 201, handler: legacy(s.createMember)})
	s.handle(route{method: "GET", path: "/v1/members", access: anyRole, tag: "members", summary: "List members",
		out: listBody[member.Member]{}, status: 200, handler: legacy(s.listMembers),
		query: append([]param{{name: "external_id"}, {name: "phone"}, {name: "tier"}, {name: "status"},
			{name: "tag", desc: "members with every given tag", array: true}}, pageParams...)})
	s.handle(route{method: "GET", path: m, access: anyRole, tag: "members", summary: "Read a member",
		out: member.Member{}, status: 200, handler: legacy(s.getMember)})
	s.handle(route{method: "PATCH", path: m, access: operator, tag: "members", summary: "Change a member's profile",
		in: member.Input{}, out: member.Member{}, status: 200, handler: legacy(s.patchMember)})
	s.handle(route{method: "POST", path: m + "/freeze", access: operator, tag: "members", summary: "Freeze a member",
		out: member.Member{}, status: 200, handler: legacy(s.freeze(true))})
	s.handle(route{method: "POST", path: m + "/unfreeze", access: operator, tag: "members", summary: "Unfreeze a member",
		out: member.Member{}, status: 200, handler: legacy(s.freeze(false))})
	s.handle(route{method: "POST", path: m + "/erase", access: admin, tag: "members",
		summary: "Erase a member's personal data", out: member.Member{}, status: 200, handler: legacy(s.eraseMember)})
}

// resolve finds the member a path or body names, in the request's program.
func (s *Server) resolve(r *http.Request, ref string) (member.Member, error) {
	return member.Resolve(r.Context(), s.db.Read(), actor(r).ProgramID, ref)
}

func (s *Server) createMember(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[member.Input](s, w, r)
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
	lane := "member-new"
	if in.ExternalID != nil {
		lane = "ext:" + *in.ExternalID
	}
	s.writeLegacy(w, r, body, 201, lane, func(ctx context.Context, tx *store.Tx) (any, error) {
		m, err := member.Create(ctx, tx, p.ID, in, s.clock.Now(), p.Location)
		if err != nil {
			return nil, err
		}
		if _, err = engage.Referred(ctx, tx, p, m, s.clock.Now()); err != nil {
			return nil, err
		}
		// A new member starts in the tier that no growth reaches (threshold 0).
		if c, err := tier.Raise(ctx, tx, p, m, s.clock.Now()); err != nil {
			return nil, err
		} else if c != nil {
			m.Tier = null.String(*c.To)
		}
		return m, nil
	})
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	q := r.URL.Query()
	f := store.MemberFilter{ExternalID: q.Get("external_id"), Tier: q.Get("tier"), Status: q.Get("status"), Tags: q["tag"]}
	if ph := q.Get("phone"); ph != "" {
		norm, ok := member.NormalizePhone(ph)
		if !ok {
			s.problem(w, r, failure.Field("phone", "must be E.164 or an 11-digit mainland mobile number"))
			return
		}
		f.Phone = norm
	}
	ms, next, err := s.db.Replica().Members(r.Context(), actor(r).ProgramID, f, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, ms, next)
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) {
	m, err := member.Get(r.Context(), s.db.Read(), actor(r).ProgramID, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, m)
}

func (s *Server) patchMember(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[member.Input](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, m.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		updated, err := member.Update(ctx, tx, p.ID, m.ID, in, s.clock.Now(), p.Location)
		if err != nil {
			return nil, err
		}
		if m.ReferredBy == "" && updated.ReferredBy != "" {
			_, err = engage.Referred(ctx, tx, p, updated, s.clock.Now())
		}
		return updated, err
	})
}

func (s *Server) freeze(frozen bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := s.readBody(w, r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		m, err := s.resolve(r, r.PathValue("member"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		s.writeLegacy(w, r, body, 200, m.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
			return member.SetFrozen(ctx, tx, actor(r).ProgramID, m.ID, frozen, s.clock.Now())
		})
	}
}

func (s *Server) eraseMember(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lp, err := s.ledgerProgram(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, m.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		return member.Erase(ctx, tx, lp, m.ID, s.clock.Now())
	})
}
