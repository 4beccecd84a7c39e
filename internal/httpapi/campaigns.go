package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/campaign"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Campaigns: admin and merchant keys change them, every key reads them (a
// merchant key sees and acts on its own merchant's only); the job is admin.
func (s *Server) registerCampaigns() {
	s.handle(route{method: "POST", path: "/v1/campaigns", access: operates, tag: "campaigns", summary: "Create a campaign (a draft)",
		in: campaign.Input{}, out: campaign.Campaign{}, status: 201, handler: s.createCampaign})
	s.handle(route{method: "GET", path: "/v1/campaigns", access: anyRole, tag: "campaigns", summary: "List campaigns",
		out: listBody[campaign.Campaign]{}, status: 200, query: pageParams, handler: s.listCampaigns})
	s.handle(route{method: "GET", path: "/v1/campaigns/{id}", access: anyRole, tag: "campaigns", summary: "Read a campaign",
		out: campaign.Campaign{}, status: 200, handler: s.getCampaign})
	s.handle(route{method: "PATCH", path: "/v1/campaigns/{id}", access: operates, tag: "campaigns", summary: "Change a campaign that is not active",
		in: campaign.Input{}, out: campaign.Campaign{}, status: 200, handler: s.patchCampaign})
	s.handle(route{method: "POST", path: "/v1/campaigns/{id}/activate", access: operates, tag: "campaigns", summary: "Activate a draft or paused campaign",
		out: campaign.Campaign{}, status: 200, handler: s.campaignStatus((*campaign.Service).Activate)})
	s.handle(route{method: "POST", path: "/v1/campaigns/{id}/pause", access: operates, tag: "campaigns", summary: "Pause an active campaign",
		out: campaign.Campaign{}, status: 200, handler: s.campaignStatus((*campaign.Service).Pause)})
	s.handle(route{method: "GET", path: "/v1/campaigns/{id}/members", access: anyRole, tag: "campaigns",
		summary: "A campaign's occurrences, newest first", out: listBody[campaign.Member]{}, status: 200,
		query: append([]param{{name: "group", desc: "treated, control or skipped"}}, pageParams...), handler: s.campaignMembers})
	s.handle(route{method: "GET", path: "/v1/campaigns/{id}/report", access: anyRole, tag: "campaigns",
		summary: "A campaign's results: treated against control, uplift, budget", out: campaign.Report{}, status: 200, handler: s.campaignReport})
	s.handle(route{method: "POST", path: "/v1/jobs/campaigns", access: admin, tag: "jobs",
		summary: "Run the active campaigns as of as_of", in: jobRequest{}, out: campaign.RunResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return s.app.Campaigns.Run(ctx, p, at)
		})})
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[campaign.Input](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "campaigns", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Campaigns.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	cs, next, err := s.app.Campaigns.List(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, cs, next)
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := s.app.Campaigns.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, c)
}

func (s *Server) patchCampaign(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[campaign.Input](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, "campaigns", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Campaigns.Update(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) campaignStatus(op func(*campaign.Service, context.Context, *store.Tx, auth.Actor, string) (campaign.Campaign, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		return s.write(w, r, 200, "campaigns", func(ctx context.Context, tx *store.Tx) (any, error) {
			return op(s.app.Campaigns, ctx, tx, actor(r), id)
		})
	}
}

func (s *Server) campaignMembers(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ms, next, err := s.app.Campaigns.Members(r.Context(), actor(r), r.PathValue("id"), r.URL.Query().Get("group"), pg)
	if err != nil {
		return err
	}
	return list(w, ms, next)
}

func (s *Server) campaignReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.app.Campaigns.Report(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, rep)
}
