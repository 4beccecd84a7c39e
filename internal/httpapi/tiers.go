package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

type upgradeRequest struct {
	To string `json:"to"`
}

type upgradeBody struct {
	MemberID string  `json:"member_id"`
	From     *string `json:"from"`
	To       *string `json:"to"`
	Reason   string  `json:"reason"`
}

func (s *Server) registerTiers() {
	s.handle(route{method: "PUT", path: "/v1/tiers", access: admin, tag: "tiers", summary: "Replace the tiers (low to high)",
		in: []program.Tier{}, out: []program.Tier{}, status: 200, handler: legacy(s.putTiers)})
	s.handle(route{method: "GET", path: "/v1/tiers", access: anyRole, tag: "tiers", summary: "The tiers as stored (low to high)",
		out: []program.Tier{}, status: 200, handler: legacy(s.getTiers)})
	s.handle(route{method: "POST", path: "/v1/members/{member}/tier/upgrade", access: operator, tag: "tiers",
		summary: "Buy a member a higher tier with points", in: upgradeRequest{}, out: upgradeBody{}, status: 200,
		handler: legacy(s.upgradeTier)})
	s.handle(route{method: "GET", path: "/v1/members/{member}/tier-history", access: anyRole, tag: "tiers",
		summary: "A member's tier changes", out: listBody[store.TierChange]{}, status: 200, query: pageParams,
		handler: legacy(s.tierHistory)})
	s.handle(route{method: "POST", path: "/v1/jobs/tier-review", access: admin, tag: "jobs",
		summary: "Lower tiers that the last 12 months of growth no longer reach", in: jobRequest{},
		out: tier.ReviewResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return tier.Review(ctx, s.db, p, at)
		})})
}

func (s *Server) putTiers(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[[]program.Tier](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 200, "program:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		p, err := s.programs.SetTiers(ctx, tx, pid, in, s.clock.Now())
		return tierList(p), err
	})
}

// tierList is the tiers as stored: the array that PUT took.
func tierList(p program.Program) []program.Tier {
	if p.Tiers == nil {
		return []program.Tier{}
	}
	return p.Tiers
}

func (s *Server) getTiers(w http.ResponseWriter, r *http.Request) {
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, tierList(p))
}

func (s *Server) upgradeTier(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[upgradeRequest](s, w, r)
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
		c, err := tier.Upgrade(ctx, tx, p, m.ID, in.To, s.clock.Now())
		return upgradeBody{MemberID: m.ID, From: c.From, To: c.To, Reason: c.Reason}, err
	})
}

func (s *Server) tierHistory(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	hs, next, err := s.db.Replica().TierHistory(r.Context(), actor(r).ProgramID, m.ID, pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, hs, next)
}
