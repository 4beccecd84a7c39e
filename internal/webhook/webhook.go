// Package webhook owns a programme's webhooks: their subscriptions and
// secrets, the delivery log and manual retry (this file), the delivery
// worker that sends the outbox (worker.go) and the points.expiring notices
// (expiring.go). Events are written to the outbox by the operations that
// cause them (internal/outbox); this package only sends them.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/outbox"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Service is the webhook operations.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
}

// NewService returns the service.
func NewService(db *store.DB, programs *program.Service, clk clock.Clock) *Service {
	return &Service{db: db, programs: programs, clock: clk}
}

// RotationOverlap is how long the previous secret still signs after a
// rotation.
const RotationOverlap = 24 * time.Hour

// Webhook is a webhook as the API shows it (without its secret).
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WebhookCreated is a new webhook with its secret, shown only then.
type WebhookCreated struct {
	Webhook
	Secret string `json:"secret" doc:"signs every delivery (whsec_ and 32 characters); shown only here"`
}

// WebhookSecret is a rotated secret.
type WebhookSecret struct {
	Secret string `json:"secret" doc:"the new secret (whsec_ and 32 characters); the previous one also signs for 24 h"`
}

// WebhookAccepted answers a test event or a retry.
type WebhookAccepted struct {
	EventID    string `json:"event_id,omitempty"`
	DeliveryID string `json:"delivery_id"`
}

func webhookOf(w store.Webhook) Webhook {
	return Webhook{ID: w.ID, URL: w.URL, Events: w.Events, Active: w.Active, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// WebhookInput is a new webhook.
type WebhookInput struct {
	URL    string   `json:"url" api:"maxlen=2048" doc:"http or https URL the events are POSTed to"`
	Events []string `json:"events" doc:"event types, or [\"*\"] for all"`
	Active *bool    `json:"active,omitempty" api:"default=true"`
}

// Validate checks a new webhook.
func (in WebhookInput) Validate() error {
	var fs failure.Fields
	checkURL(&fs, in.URL)
	checkEvents(&fs, in.Events)
	return fs.Err()
}

// WebhookPatch changes a webhook.
type WebhookPatch struct {
	URL    *string  `json:"url,omitempty" api:"maxlen=2048"`
	Events []string `json:"events,omitempty" doc:"event types, or [\"*\"] for all"`
	Active *bool    `json:"active,omitempty"`
}

// Validate checks a change.
func (in WebhookPatch) Validate() error {
	var fs failure.Fields
	if in.URL != nil {
		checkURL(&fs, *in.URL)
	}
	if in.Events != nil {
		checkEvents(&fs, in.Events)
	}
	return fs.Err()
}

func checkURL(fs *failure.Fields, raw string) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		fs.Add("url", "is required")
	case len(raw) > 2048:
		fs.Add("url", "must be at most 2048 characters")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "":
		fs.Add("url", "must be an http or https URL without credentials or fragment")
	}
}

func checkEvents(fs *failure.Fields, evs []string) {
	if len(evs) == 0 {
		fs.Add("events", "must name at least one event type, or \"*\"")
		return
	}
	seen := map[string]bool{}
	for i, e := range evs {
		f := fmt.Sprintf("events[%d]", i)
		switch {
		case e == outbox.All && len(evs) > 1:
			fs.Add(f, "\"*\" must be alone")
		case e != outbox.All && !slices.Contains(outbox.Types, e):
			fs.Add(f, "unknown event type %q", e)
		case seen[e]:
			fs.Add(f, "%q appears twice", e)
		}
		seen[e] = true
	}
}

func newSecret() string { return "whsec_" + id.Secret(32) }

func admin(a auth.Actor) error {
	if a.IsMerchant() || a.IsMember() || (a.Role != auth.Admin && a.Kind != auth.KindSystem) {
		return failure.New(failure.Forbidden, "only an admin manages webhooks")
	}
	return nil
}

// changed drops the cached subscriptions once the change commits, so this
// node's next operation writes events for them (other nodes within the
// settings' cache time).
func (s *Service) changed(tx *store.Tx, programID string) {
	tx.After(func() { s.programs.Forget(programID) })
}

// Create adds a webhook and returns its secret.
func (s *Service) Create(ctx context.Context, tx *store.Tx, a auth.Actor, in WebhookInput) (WebhookCreated, error) {
	if err := in.Validate(); err != nil {
		return WebhookCreated{}, err
	}
	if err := admin(a); err != nil {
		return WebhookCreated{}, err
	}
	now := s.clock.Now()
	w := store.Webhook{
		ID: id.New("whk"), ProgramID: a.ProgramID, URL: in.URL, Events: in.Events, Active: in.Active == nil || *in.Active,
		Secret: newSecret(), CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.InsertWebhook(ctx, w); err != nil {
		return WebhookCreated{}, err
	}
	s.changed(tx, a.ProgramID)
	return WebhookCreated{Webhook: webhookOf(w), Secret: w.Secret}, nil
}

// List lists the programme's webhooks, newest first.
func (s *Service) List(ctx context.Context, a auth.Actor, p store.Page) ([]Webhook, string, error) {
	if err := admin(a); err != nil {
		return nil, "", err
	}
	ws, next, err := s.db.Read().Webhooks(ctx, a.ProgramID, false, p)
	out := make([]Webhook, len(ws))
	for i, w := range ws {
		out[i] = webhookOf(w)
	}
	return out, next, err
}

// Get reads a webhook.
func (s *Service) Get(ctx context.Context, a auth.Actor, webhookID string) (Webhook, error) {
	if err := admin(a); err != nil {
		return Webhook{}, err
	}
	w, err := s.db.Read().Webhook(ctx, a.ProgramID, webhookID)
	return webhookOf(w), err
}

// Update changes a webhook's URL, events or state.
func (s *Service) Update(ctx context.Context, tx *store.Tx, a auth.Actor, webhookID string, in WebhookPatch) (Webhook, error) {
	if err := in.Validate(); err != nil {
		return Webhook{}, err
	}
	if err := admin(a); err != nil {
		return Webhook{}, err
	}
	w, err := tx.LockWebhook(ctx, a.ProgramID, webhookID)
	if err != nil {
		return Webhook{}, err
	}
	if in.URL != nil {
		w.URL = *in.URL
	}
	if in.Events != nil {
		w.Events = in.Events
	}
	if in.Active != nil {
		w.Active = *in.Active
	}
	w.UpdatedAt = s.clock.Now()
	if err := tx.UpdateWebhook(ctx, w); err != nil {
		return Webhook{}, err
	}
	s.changed(tx, a.ProgramID)
	return webhookOf(w), nil
}

// Delete deletes a webhook; deliveries still pending fail.
func (s *Service) Delete(ctx context.Context, tx *store.Tx, a auth.Actor, webhookID string) error {
	if err := admin(a); err != nil {
		return err
	}
	if err := tx.DeleteWebhook(ctx, a.ProgramID, webhookID, s.clock.Now()); err != nil {
		return err
	}
	s.changed(tx, a.ProgramID)
	return nil
}

// RotateSecret gives a webhook a new secret; the current one keeps
// signing (a second v1= signature) for RotationOverlap.
func (s *Service) RotateSecret(ctx context.Context, tx *store.Tx, a auth.Actor, webhookID string) (WebhookSecret, error) {
	if err := admin(a); err != nil {
		return WebhookSecret{}, err
	}
	w, err := tx.LockWebhook(ctx, a.ProgramID, webhookID)
	if err != nil {
		return WebhookSecret{}, err
	}
	now := s.clock.Now()
	until := now.Add(RotationOverlap)
	w.PrevSecret, w.PrevUntil, w.Secret, w.UpdatedAt = null.String(w.Secret), &until, newSecret(), now
	if err := tx.UpdateWebhook(ctx, w); err != nil {
		return WebhookSecret{}, err
	}
	return WebhookSecret{Secret: w.Secret}, nil
}

// TestData is the data of a webhook.test event.
type TestData struct {
	WebhookID string `json:"webhook_id"`
}

// Test sends the webhook a webhook.test event (whether or not it is
// active or subscribes to anything).
func (s *Service) Test(ctx context.Context, tx *store.Tx, a auth.Actor, webhookID string) (WebhookAccepted, error) {
	if err := admin(a); err != nil {
		return WebhookAccepted{}, err
	}
	w, err := tx.LockWebhook(ctx, a.ProgramID, webhookID)
	if err != nil {
		return WebhookAccepted{}, err
	}
	evID, dlv, err := outbox.Direct(ctx, tx, a.ProgramID, w.ID, outbox.WebhookTest, TestData{WebhookID: w.ID}, s.clock.Now())
	return WebhookAccepted{EventID: evID, DeliveryID: dlv}, err
}

// DeliveryAttempt is one try at a delivery.
type DeliveryAttempt struct {
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code" doc:"the response's status; null when none came"`
	DurationMS int64     `json:"duration_ms"`
	Error      *string   `json:"error" doc:"why it failed; null on success"`
}

// Delivery is an event's delivery to a webhook.
type Delivery struct {
	ID            string            `json:"id"`
	WebhookID     string            `json:"webhook_id"`
	EventID       string            `json:"event_id"`
	EventType     string            `json:"event_type"`
	MemberID      *string           `json:"member_id"`
	Status        string            `json:"status" api:"enum=pending|delivered|failed"`
	Attempts      []DeliveryAttempt `json:"attempts"`
	NextAttemptAt *time.Time        `json:"next_attempt_at"`
	CreatedAt     time.Time         `json:"created_at"`
}

// DeliveryDetail is a delivery with the body it sends.
type DeliveryDetail struct {
	Delivery
	Payload json.RawMessage `json:"payload" doc:"the event body as it is sent"`
}

// Delivery statuses.
const (
	Pending   = "pending"
	Delivered = "delivered"
	Failed    = "failed"
)

func deliveryOf(d store.Delivery) Delivery {
	out := Delivery{ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType, Status: d.Status,
		CreatedAt: d.CreatedAt, Attempts: []DeliveryAttempt{}}
	if d.MemberID != "" {
		m := d.MemberID
		out.MemberID = &m
	}
	if d.Status == Pending || d.Manual {
		out.NextAttemptAt = d.NextAttemptAt
	}
	_ = json.Unmarshal(d.Attempts, &out.Attempts)
	return out
}

// DeliveryQuery filters a webhook's delivery log.
type DeliveryQuery struct {
	Status    string
	EventType string
	Member    string // any member reference
}

// Deliveries lists a webhook's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, a auth.Actor, webhookID string, q DeliveryQuery, p store.Page) ([]Delivery, string, error) {
	if err := admin(a); err != nil {
		return nil, "", err
	}
	var fs failure.Fields
	if q.Status != "" && q.Status != Pending && q.Status != Delivered && q.Status != Failed {
		fs.Add("status", "must be pending, delivered or failed")
	}
	if q.EventType != "" && q.EventType != outbox.WebhookTest && !slices.Contains(outbox.Types, q.EventType) {
		fs.Add("event_type", "unknown event type %q", q.EventType)
	}
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	c := s.db.Read()
	if _, err := c.Webhook(ctx, a.ProgramID, webhookID); err != nil {
		return nil, "", err
	}
	f := store.DeliveryFilter{Status: q.Status, EventType: q.EventType}
	if q.Member != "" {
		m, err := identity.Resolve(ctx, c, a, q.Member)
		if failure.KindOf(err) == failure.NotFound {
			return nil, "", failure.Field("member", "no member %s", q.Member)
		}
		if err != nil {
			return nil, "", err
		}
		f.MemberID = m.ID
	}
	ds, next, err := c.Deliveries(ctx, a.ProgramID, webhookID, f, p)
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i] = deliveryOf(d)
	}
	return out, next, err
}

// GetDelivery reads a delivery with its payload.
func (s *Service) GetDelivery(ctx context.Context, a auth.Actor, deliveryID string) (DeliveryDetail, error) {
	if err := admin(a); err != nil {
		return DeliveryDetail{}, err
	}
	d, err := s.db.Read().Delivery(ctx, a.ProgramID, deliveryID)
	if err != nil {
		return DeliveryDetail{}, err
	}
	return DeliveryDetail{Delivery: deliveryOf(d), Payload: d.Payload}, nil
}

// Retry sends a delivery again at once, whatever its status, without
// holding back the webhook's later events.
func (s *Service) Retry(ctx context.Context, tx *store.Tx, a auth.Actor, deliveryID string) (WebhookAccepted, error) {
	if err := admin(a); err != nil {
		return WebhookAccepted{}, err
	}
	if err := tx.RetryDelivery(ctx, a.ProgramID, deliveryID, s.clock.Now()); err != nil {
		return WebhookAccepted{}, err
	}
	return WebhookAccepted{DeliveryID: deliveryID}, nil
}
