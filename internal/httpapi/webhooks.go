package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
	"github.com/jifen/jifen/internal/webhook"
)

func (s *Server) registerWebhooks() {
	s.handle(route{method: "POST", path: "/v1/webhooks", access: admin, tag: "webhooks",
		summary: "Create a webhook; its secret is shown only in this answer", in: webhook.WebhookInput{},
		out: webhook.WebhookCreated{}, status: 201, handler: s.createWebhook})
	s.handle(route{method: "GET", path: "/v1/webhooks", access: admin, tag: "webhooks",
		summary: "List webhooks, newest first", out: listBody[webhook.Webhook]{}, status: 200, query: pageParams,
		handler: s.listWebhooks})
	s.handle(route{method: "GET", path: "/v1/webhooks/{id}", access: admin, tag: "webhooks",
		summary: "Read a webhook", out: webhook.Webhook{}, status: 200, handler: s.getWebhook})
	s.handle(route{method: "PATCH", path: "/v1/webhooks/{id}", access: admin, tag: "webhooks",
		summary: "Change a webhook's URL, events or active state", in: webhook.WebhookPatch{}, out: webhook.Webhook{},
		status: 200, handler: s.patchWebhook})
	s.handle(route{method: "DELETE", path: "/v1/webhooks/{id}", access: admin, tag: "webhooks",
		summary: "Delete a webhook (its pending deliveries fail)", status: 204, handler: s.deleteWebhook})
	s.handle(route{method: "POST", path: "/v1/webhooks/{id}/rotate-secret", access: admin, tag: "webhooks",
		summary: "Give a webhook a new secret; the previous one also signs for 24 h", out: webhook.WebhookSecret{},
		status: 200, handler: s.rotateWebhook})
	s.handle(route{method: "POST", path: "/v1/webhooks/{id}/test", access: admin, tag: "webhooks",
		summary: "Send the webhook a webhook.test event", out: webhook.WebhookAccepted{}, status: 202, handler: s.testWebhook})
	s.handle(route{method: "GET", path: "/v1/webhooks/{id}/deliveries", access: admin, tag: "webhooks",
		summary: "A webhook's delivery log, newest first", out: listBody[webhook.Delivery]{}, status: 200,
		query: append([]param{
			{name: "status", desc: "pending, delivered or failed"},
			{name: "event_type", desc: "an event type"},
			{name: "member", desc: "a member reference: its ID, ext:<external_id> or <kind>:<value>"},
		}, pageParams...), handler: s.listDeliveries})
	s.handle(route{method: "GET", path: "/v1/webhook-deliveries/{id}", access: admin, tag: "webhooks",
		summary: "Read a delivery with its payload", out: webhook.DeliveryDetail{}, status: 200, handler: s.getDelivery})
	s.handle(route{method: "POST", path: "/v1/webhook-deliveries/{id}/retry", access: admin, tag: "webhooks",
		summary: "Send a delivery again now, in any status, without holding back later events",
		out:     webhook.WebhookAccepted{}, status: 202, handler: s.retryDelivery})
	s.handle(route{method: "POST", path: "/v1/jobs/expiry-notices", access: admin, tag: "jobs",
		summary: "Write the points.expiring events due at as_of (once per member, currency and date)",
		in:      jobRequest{}, out: webhook.ExpiryNoticesResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return s.app.Webhooks.ExpiryNotices(ctx, p, at)
		})})
}

// webhooksLane queues a programme's webhook changes behind each other.
func webhooksLane(r *http.Request) string { return "webhooks:" + actor(r).ProgramID }

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[webhook.WebhookInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, webhooksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Webhooks.Create(ctx, tx, actor(r), in)
	})
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ws, next, err := s.app.Webhooks.List(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ws, next)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.app.Webhooks.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, wh)
}

func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[webhook.WebhookPatch](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, webhooksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Webhooks.Update(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, webhooksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Webhooks.Delete(ctx, tx, actor(r), id)
	})
}

func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 200, webhooksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Webhooks.RotateSecret(ctx, tx, actor(r), id)
	})
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 202, webhooksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Webhooks.Test(ctx, tx, actor(r), id)
	})
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ds, next, err := s.app.Webhooks.Deliveries(r.Context(), actor(r), r.PathValue("id"), webhook.DeliveryQuery{
		Status: q.Get("status"), EventType: q.Get("event_type"), Member: q.Get("member"),
	}, pg)
	if err != nil {
		return err
	}
	return list(w, ds, next)
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.app.Webhooks.GetDelivery(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, d)
}

func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 202, webhooksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Webhooks.Retry(ctx, tx, actor(r), id)
	})
}
