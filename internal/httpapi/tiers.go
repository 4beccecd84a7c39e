package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/tier"
)

func (s *Server) registerTiers() {
	s.handle(route{method: "PUT", path: "/v1/tiers", access: admin, tag: "tiers", summary: "Replace the tiers (low to high)",
		in: []program.Tier{}, out: []program.Tier{}, status: 200, handler: s.putTiers})
	s.handle(route{method: "GET", path: "/v1/tiers", access: anyRole, tag: "tiers", summary: "The tiers as stored (low to high)",
		out: []program.Tier{}, status: 200, handler: s.getTiers})
	s.handle(route{method: "POST", path: "/v1/members/{member}/tier/upgrade", access: operates, tag: "tiers",
		summary: "Buy a member a higher tier with points", in: tier.UpgradeInput{}, out: tier.Upgraded{}, status: 200,
		handler: s.upgradeTier})
	s.handle(route{method: "GET", path: "/v1/members/{member}/tier-history", access: anyRole, tag: "tiers",
		summary: "A member's tier changes", out: listBody[tier.Entry]{}, status: 200, query: pageParams,
		handler: s.tierHistory})
	s.handle(route{method: "POST", path: "/v1/jobs/tier-review", access: admin, tag: "jobs",
		summary: "Lower tiers that the last 12 months of growth no longer reach", in: jobRequest{},
		out: tier.ReviewResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return tier.Review(ctx, s.db, p, at)
		})})
}

func (s *Server) putTiers(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[[]program.Tier](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 200, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Programs.SetTiers(ctx, tx, actor(r), in)
	})
}

func (s *Server) getTiers(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.app.Programs.Tiers(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return encode(w, 200, ts)
}

func (s *Server) upgradeTier(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[tier.UpgradeInput](s, w, r)
	if err != nil {
		return err
	}
	ref := r.PathValue("member")
	return s.write(w, r, 200, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Tiers.Upgrade(ctx, tx, actor(r), ref, in)
	})
}

func (s *Server) tierHistory(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	hs, next, err := s.app.Tiers.History(r.Context(), actor(r), r.PathValue("member"), pg)
	if err != nil {
		return err
	}
	return list(w, hs, next)
}
