package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/jifen/jifen/internal/audience"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/member"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerAudience() {
	s.handle(route{method: "GET", path: "/v1/members/{member}/stats", access: anyRole, tag: "audience",
		summary: "A member's order statistics, RFM scores and lifecycle stage", out: audience.Stats{}, status: 200,
		handler: s.memberStats})
	s.handle(route{method: "GET", path: "/v1/members/{member}/recommendations", access: anyRole, tag: "audience",
		summary: "Rewards and coupon templates the member may take now, best first", out: listBody[audience.Recommendation]{},
		status: 200, handler: s.recommendations, query: []param{{name: "limit", desc: "1 to 50, default 10"},
			{name: "kind", desc: "reward or coupon_template (default both)"}}})
	s.handle(route{method: "GET", path: "/v1/audience/settings", access: admin, tag: "audience",
		summary: "The audience thresholds", out: audience.Settings{}, status: 200, handler: s.audienceSettings})
	s.handle(route{method: "PUT", path: "/v1/audience/settings", access: admin, tag: "audience",
		summary: "Replace the audience thresholds", in: audience.Settings{}, out: audience.Settings{}, status: 200,
		handler: s.putAudienceSettings})
	s.handle(route{method: "GET", path: "/v1/audience/lifecycle", access: anyRole, tag: "audience",
		summary: "Members by lifecycle stage", out: audience.LifecycleCounts{}, status: 200, handler: s.lifecycle})
	s.handle(route{method: "GET", path: "/v1/audience/rfm", access: anyRole, tag: "audience",
		summary: "Members by R and F score and by RFM cell, as of the last RFM run", out: audience.RFMGrid{}, status: 200,
		handler: s.rfm})
	s.handle(route{method: "POST", path: "/v1/jobs/rfm", access: admin, tag: "jobs",
		summary: "Score every member with an order in the RFM window (R, F, M quintiles and cells)", in: jobRequest{},
		out: audience.RFMRun{}, status: 200, handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return s.app.Audience.ComputeRFM(ctx, p, at)
		})})
	s.handle(route{method: "POST", path: "/v1/segments", access: admin, tag: "audience", summary: "Create a segment",
		in: audience.SegmentInput{}, out: audience.Segment{}, status: 201, handler: s.createSegment})
	s.handle(route{method: "GET", path: "/v1/segments", access: anyRole, tag: "audience", summary: "List segments",
		out: listBody[audience.Segment]{}, status: 200, query: pageParams, handler: s.listSegments})
	s.handle(route{method: "POST", path: "/v1/segments/preview", access: anyRole, tag: "audience",
		summary: "Size a condition and sample its members; nothing is written", in: audience.PreviewInput{},
		out: audience.Preview{}, status: 200, handler: s.previewSegment})
	s.handle(route{method: "GET", path: "/v1/segments/{id}", access: anyRole, tag: "audience", summary: "Read a segment",
		out: audience.Segment{}, status: 200, handler: s.getSegment})
	s.handle(route{method: "PATCH", path: "/v1/segments/{id}", access: admin, tag: "audience", summary: "Change a segment",
		in: audience.SegmentInput{}, out: audience.Segment{}, status: 200, handler: s.patchSegment})
	s.handle(route{method: "DELETE", path: "/v1/segments/{id}", access: admin, tag: "audience", summary: "Delete a segment",
		status: 204, handler: s.deleteSegment})
	s.handle(route{method: "GET", path: "/v1/segments/{id}/size", access: anyRole, tag: "audience",
		summary: "A segment's size now", out: audience.Size{}, status: 200, handler: s.segmentSize})
	s.handle(route{method: "GET", path: "/v1/segments/{id}/members", access: anyRole, tag: "audience",
		summary: "A segment's members, in ID order", out: listBody[member.Member]{}, status: 200, query: pageParams,
		handler: s.segmentMembers})
}

func (s *Server) memberStats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.app.Audience.MemberStats(r.Context(), actor(r), r.PathValue("member"))
	if err != nil {
		return err
	}
	return encode(w, 200, st)
}

func (s *Server) recommendations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return failure.Field("limit", "must be a whole number from 1 to 50")
		}
		limit = n
	}
	kind := q.Get("kind")
	if kind != "" && kind != audience.KindReward && kind != audience.KindCouponTemplate {
		return failure.Field("kind", "must be reward or coupon_template")
	}
	recs, err := s.app.Audience.Recommend(r.Context(), actor(r), r.PathValue("member"), kind, limit)
	if err != nil {
		return err
	}
	return encode(w, 200, map[string]any{"data": recs})
}

func (s *Server) audienceSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.app.Audience.Settings(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return encode(w, 200, st)
}

func (s *Server) putAudienceSettings(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[audience.Settings](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 200, "audience", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Audience.SaveSettings(ctx, tx, actor(r), in)
	})
}

func (s *Server) lifecycle(w http.ResponseWriter, r *http.Request) error {
	n, err := s.app.Audience.Lifecycle(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return encode(w, 200, n)
}

func (s *Server) rfm(w http.ResponseWriter, r *http.Request) error {
	g, err := s.app.Audience.RFM(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return encode(w, 200, g)
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[audience.SegmentInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "segments", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Audience.CreateSegment(ctx, tx, actor(r), in)
	})
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, next, err := s.app.Audience.ListSegments(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, out, next)
}

func (s *Server) previewSegment(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[audience.PreviewInput](s, w, r)
	if err != nil {
		return err
	}
	p, err := s.app.Audience.PreviewSegment(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	return encode(w, 200, p)
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) error {
	g, err := s.app.Audience.GetSegment(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, g)
}

func (s *Server) patchSegment(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[audience.SegmentInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, "segments", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Audience.UpdateSegment(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, "segments", func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Audience.DeleteSegment(ctx, tx, actor(r), id)
	})
}

func (s *Server) segmentSize(w http.ResponseWriter, r *http.Request) error {
	n, err := s.app.Audience.SegmentSize(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, n)
}

func (s *Server) segmentMembers(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, next, err := s.app.Audience.SegmentMembers(r.Context(), actor(r), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return list(w, out, next)
}
