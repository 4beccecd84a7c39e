package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerEvents() {
	s.handle(route{method: "POST", path: "/v1/events", access: operates, tag: "events",
		summary: "Post an event (order paid or refunded, check-in, share, custom)", in: events.Input{},
		out: events.Result{}, status: 201, handler: s.postEvent})
	s.handle(route{method: "POST", path: "/v1/events/simulate", access: anyRole, tag: "events",
		summary: "What an event would earn; nothing is written", in: events.Input{}, out: events.Result{},
		status: 200, handler: s.simulateEvent})
}

// postEvent processes an event once. A repeat of its id answers the first
// result with 200, whatever its Idempotency-Key; a repeat of an
// Idempotency-Key with the same body replays as for any write.
func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[events.Input](s, w, r)
	if err != nil {
		return err
	}
	// Checked and parsed before the write, outside the writer's lane.
	pr, err := s.app.Events.Prepare(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	return s.write(w, r, http.StatusCreated, in.Member, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Events.PostPrepared(ctx, tx, actor(r), pr)
	})
}

// simulateEvent answers what an event would earn; nothing is written.
func (s *Server) simulateEvent(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[events.Input](s, w, r)
	if err != nil {
		return err
	}
	res, err := s.app.Events.Simulate(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, res)
}
