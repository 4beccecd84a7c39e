package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Webhook is a programme's subscription to its events.
type Webhook struct {
	ID         string
	ProgramID  string
	URL        string
	Events     []string
	Active     bool
	Secret     string
	PrevSecret null.String
	PrevUntil  *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const webhookColumns = `id, program_id, url, events, active, secret, prev_secret, prev_until, created_at, updated_at`

// scanWebhook reads a webhook; its secrets are sealed.
func (c *Conn) scanWebhook(row interface{ Scan(...any) error }) (Webhook, error) {
	var w Webhook
	var events string
	var prevUntil sql.NullInt64
	var created, updated int64
	err := row.Scan(&w.ID, &w.ProgramID, &w.URL, &events, &w.Active, &w.Secret, &w.PrevSecret, &prevUntil, &created, &updated)
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return w, fmt.Errorf("webhook %s: events: %w", w.ID, err)
	}
	if err := c.openSecrets(w.ID, &w.Secret, &w.PrevSecret); err != nil {
		return w, err
	}
	w.PrevUntil, w.CreatedAt, w.UpdatedAt = fromOptMS(prevUntil), fromMS(created), fromMS(updated)
	return w, nil
}

func (c *Conn) openSecrets(webhookID string, secret *string, prev *null.String) error {
	if err := c.open("webhooks", "secret", secret, webhookID); err != nil {
		return err
	}
	return c.openNull("webhooks", "prev_secret", prev, webhookID)
}

func eventsJSON(evs []string) string {
	b, _ := json.Marshal(evs)
	return string(b)
}

// InsertWebhook stores a webhook.
func (tx *Tx) InsertWebhook(ctx context.Context, w Webhook) error {
	_, err := tx.exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.ProgramID, w.URL, eventsJSON(w.Events), w.Active, tx.seal("webhooks", "secret", w.Secret, w.ID),
		tx.sealNull("webhooks", "prev_secret", w.PrevSecret, w.ID), optMS(w.PrevUntil), ms(w.CreatedAt), ms(w.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert webhook: %w", err)
	}
	return nil
}

// UpdateWebhook saves a webhook's URL, events, state and secrets.
func (tx *Tx) UpdateWebhook(ctx context.Context, w Webhook) error {
	_, err := tx.exec(ctx, `UPDATE webhooks SET url = ?, events = ?, active = ?, secret = ?, prev_secret = ?, prev_until = ?,
		updated_at = ? WHERE program_id = ? AND id = ? AND deleted_at IS NULL`,
		w.URL, eventsJSON(w.Events), w.Active, tx.seal("webhooks", "secret", w.Secret, w.ID),
		tx.sealNull("webhooks", "prev_secret", w.PrevSecret, w.ID), optMS(w.PrevUntil), ms(w.UpdatedAt), w.ProgramID, w.ID)
	if err != nil {
		return fmt.Errorf("update webhook %s: %w", w.ID, err)
	}
	return nil
}

// LockWebhook reads a live webhook for a change.
func (tx *Tx) LockWebhook(ctx context.Context, programID, id string) (Webhook, error) {
	return tx.webhook(ctx, programID, id, ` /*lock*/`)
}

// Webhook reads a live webhook.
func (c *Conn) Webhook(ctx context.Context, programID, id string) (Webhook, error) {
	return c.webhook(ctx, programID, id, "")
}

func (c *Conn) webhook(ctx context.Context, programID, id, lock string) (Webhook, error) {
	w, err := c.scanWebhook(c.queryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE program_id = ? AND id = ? AND deleted_at IS NULL`+lock, programID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Webhook{}, failure.New(failure.NotFound, "webhook %s not found", id)
	}
	if err != nil {
		return Webhook{}, classify(fmt.Errorf("webhook %s: %w", id, err))
	}
	return w, nil
}

// Webhooks lists a programme's live webhooks, newest first; activeOnly
// leaves out the inactive ones (the subscriptions the outbox reads).
func (c *Conn) Webhooks(ctx context.Context, programID string, activeOnly bool, p Page) ([]Webhook, string, error) {
	q := `SELECT ` + webhookColumns + ` FROM webhooks WHERE program_id = ? AND deleted_at IS NULL`
	args := []any{programID}
	if activeOnly {
		q += ` AND active = ?`
		args = append(args, true)
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("webhooks: %w", err)
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		w, err := c.scanWebhook(rows)
		if err != nil {
			return nil, "", classify(err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(w Webhook) string { return w.ID })
	return out, cur, nil
}

// DeleteWebhook marks a webhook deleted; its pending deliveries fail.
func (tx *Tx) DeleteWebhook(ctx context.Context, programID, id string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE webhooks SET deleted_at = ?, active = ? WHERE program_id = ? AND id = ? AND deleted_at IS NULL`,
		ms(at), false, programID, id)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "webhook %s not found", id)
	}
	if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET status = 'failed', manual = 0, next_attempt_at = NULL
		WHERE program_id = ? AND webhook_id = ? AND (status = 'pending' OR manual = 1)`, programID, id); err != nil {
		return fmt.Errorf("delete webhook %s: deliveries: %w", id, err)
	}
	return nil
}

// WebhookEvent is an event in the outbox: its body as it is sent.
type WebhookEvent struct {
	ID        string
	ProgramID string
	Type      string
	MemberID  null.String
	Payload   []byte
	CreatedAt time.Time
}

// InsertWebhookEvent writes an event to the outbox with one pending
// delivery per webhook in hooks (each a pair of delivery ID and webhook
// ID). Webhooks deleted or made inactive since the caller's copy of the
// subscriptions was read get none. deadline is when deliveries give up.
func (tx *Tx) InsertWebhookEvent(ctx context.Context, e WebhookEvent, hooks [][2]string, deadline time.Time) error {
	var seq int64
	err := tx.queryRow(ctx, `INSERT INTO webhook_events (id, program_id, type, member_id, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.ID, e.ProgramID, e.Type, e.MemberID, tx.seal("webhook_events", "payload", string(e.Payload), e.ID), ms(e.CreatedAt)).Scan(&seq)
	if err != nil {
		return classify(fmt.Errorf("insert webhook event: %w", err))
	}
	if len(hooks) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(hooks)+9)
	for _, h := range hooks {
		args = append(args, h[0], h[1])
	}
	args = append(args, e.ProgramID, e.ID, seq, e.Type, string(e.MemberID), ms(e.CreatedAt), ms(deadline), ms(e.CreatedAt), e.ProgramID)
	_, err = tx.exec(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, program_id, event_id, event_seq, event_type, member_id,
		status, next_attempt_at, deadline, created_at)
		SELECT v.column1, w.id, ?, ?, ?, ?, ?, 'pending', ?, ?, ?
		FROM (VALUES `+placeholders(len(hooks), 2)+`) AS v JOIN webhooks w ON w.id = v.column2
		WHERE w.program_id = ? AND w.active AND w.deleted_at IS NULL`, reorder(args, len(hooks))...)
	if err != nil {
		return fmt.Errorf("insert webhook deliveries: %w", err)
	}
	return nil
}

// reorder moves the VALUES pairs (first in args) after the SELECT list's
// eight arguments, where they appear in the statement.
func reorder(args []any, n int) []any {
	pairs, rest := args[:2*n], args[2*n:]
	out := make([]any, 0, len(args))
	out = append(out, rest[:8]...)
	out = append(out, pairs...)
	return append(out, rest[8:]...)
}

// Delivery is one event's delivery to one webhook.
type Delivery struct {
	ID            string
	ProgramID     string
	WebhookID     string
	EventID       string
	EventType     string
	MemberID      string // "" for an event about no member
	Status        string // pending, delivered, failed
	Attempts      json.RawMessage
	NAttempts     int64
	NextAttemptAt *time.Time
	Deadline      time.Time
	Manual        bool
	CreatedAt     time.Time
	Payload       []byte // read with the event (Delivery, DeliveryToSend)
}

const deliveryColumns = `d.id, d.program_id, d.webhook_id, d.event_id, d.event_type, d.member_id, d.status, d.attempts,
	d.n_attempts, d.next_attempt_at, d.deadline, d.manual, d.created_at`

func scanDelivery(row interface{ Scan(...any) error }, extra ...any) (Delivery, error) {
	var d Delivery
	var attempts string
	var next sql.NullInt64
	var deadline, created, manual int64
	err := row.Scan(append([]any{&d.ID, &d.ProgramID, &d.WebhookID, &d.EventID, &d.EventType, &d.MemberID, &d.Status,
		&attempts, &d.NAttempts, &next, &deadline, &manual, &created}, extra...)...)
	d.Attempts, d.NextAttemptAt, d.Deadline, d.Manual, d.CreatedAt = json.RawMessage(attempts), fromOptMS(next),
		fromMS(deadline), manual != 0, fromMS(created)
	return d, err
}

// DeliveryFilter narrows a webhook's delivery log.
type DeliveryFilter struct {
	Status    string
	EventType string
	MemberID  string
}

// Deliveries lists a webhook's deliveries, newest first.
func (c *Conn) Deliveries(ctx context.Context, programID, webhookID string, f DeliveryFilter, p Page) ([]Delivery, string, error) {
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d WHERE d.program_id = ? AND d.webhook_id = ?`
	args := []any{programID, webhookID}
	for _, c := range []struct{ col, v string }{{"d.status", f.Status}, {"d.event_type", f.EventType}, {"d.member_id", f.MemberID}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if p.Cursor != "" {
		q += ` AND d.id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY d.id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", classify(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cur := next(out, p.Limit, func(d Delivery) string { return d.ID })
	return out, cur, nil
}

// Delivery reads a delivery with its event's payload.
func (c *Conn) Delivery(ctx context.Context, programID, id string) (Delivery, error) {
	var payload string
	d, err := scanDelivery(c.queryRow(ctx, `SELECT `+deliveryColumns+`, e.payload FROM webhook_deliveries d
		JOIN webhook_events e ON e.id = d.event_id WHERE d.program_id = ? AND d.id = ?`, programID, id), &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, failure.New(failure.NotFound, "delivery %s not found", id)
	}
	if err != nil {
		return Delivery{}, classify(fmt.Errorf("delivery %s: %w", id, err))
	}
	if err := c.open("webhook_events", "payload", &payload, d.EventID); err != nil {
		return Delivery{}, err
	}
	d.Payload = []byte(payload)
	return d, nil
}

// DueDeliveries lists up to limit deliveries of a programme that may be
// sent at now: pending (or retried by hand), due, not claimed by a
// worker, and — unless retried by hand or about no member — with no
// earlier pending delivery of the same webhook and member, so a member's
// events reach each webhook one at a time in commit order.
func (c *Conn) DueDeliveries(ctx context.Context, programID string, now time.Time, limit int) ([]string, error) {
	rows, err := c.query(ctx, `SELECT d.id FROM webhook_deliveries d
		WHERE d.program_id = ? AND (d.status = 'pending' OR d.manual = 1) AND d.next_attempt_at <= ? AND d.locked_until <= ?
		AND (d.manual = 1 OR d.member_id = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries p
			WHERE p.webhook_id = d.webhook_id AND p.member_id = d.member_id AND p.status = 'pending'
			AND p.event_seq < d.event_seq AND p.program_id = d.program_id))
		ORDER BY d.next_attempt_at, d.event_seq LIMIT ?`, programID, ms(now), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err)
		}
		out = append(out, id)
	}
	return out, classify(rows.Err())
}

// ClaimDelivery claims a due delivery for one worker until until: of
// several nodes, one wins.
func (tx *Tx) ClaimDelivery(ctx context.Context, programID, id, claim string, now, until time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE webhook_deliveries SET locked_until = ?, claim = ?
		WHERE program_id = ? AND id = ? AND locked_until <= ? AND (status = 'pending' OR manual = 1)`,
		ms(until), claim, programID, id, ms(now))
	if err != nil {
		return false, fmt.Errorf("claim delivery %s: %w", id, err)
	}
	return affected(res) == 1, nil
}

// DeliveryTarget is what a worker needs to send a claimed delivery.
type DeliveryTarget struct {
	Delivery
	URL        string
	Secret     string
	PrevSecret null.String
	PrevUntil  *time.Time
}

// DeliveryToSend reads a delivery with its payload and its webhook's URL
// and secrets.
func (c *Conn) DeliveryToSend(ctx context.Context, programID, id string) (DeliveryTarget, error) {
	var t DeliveryTarget
	var payload string
	var prevUntil sql.NullInt64
	d, err := scanDelivery(c.queryRow(ctx, `SELECT `+deliveryColumns+`, e.payload, w.url, w.secret, w.prev_secret, w.prev_until
		FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.program_id = ? AND d.id = ?`, programID, id), &payload, &t.URL, &t.Secret, &t.PrevSecret, &prevUntil)
	if err != nil {
		return t, classify(fmt.Errorf("delivery %s: %w", id, err))
	}
	if err := c.open("webhook_events", "payload", &payload, d.EventID); err != nil {
		return t, err
	}
	if err := c.openSecrets(d.WebhookID, &t.Secret, &t.PrevSecret); err != nil {
		return t, err
	}
	d.Payload = []byte(payload)
	t.Delivery, t.PrevUntil = d, fromOptMS(prevUntil)
	return t, nil
}

// FinishDelivery records an attempt's outcome of a delivery this worker
// claimed: its status, attempts and next attempt; it frees the claim.
func (tx *Tx) FinishDelivery(ctx context.Context, programID, id, claim, status string, attempts json.RawMessage, n int64, next *time.Time) error {
	_, err := tx.exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, n_attempts = ?, next_attempt_at = ?,
		manual = 0, locked_until = 0, claim = '' WHERE program_id = ? AND id = ? AND claim = ?`,
		status, string(attempts), n, optMS(next), programID, id, claim)
	if err != nil {
		return fmt.Errorf("finish delivery %s: %w", id, err)
	}
	return nil
}

// RetryDelivery asks for a delivery to be sent again at now, whatever its
// status, without holding back the webhook's later events.
func (tx *Tx) RetryDelivery(ctx context.Context, programID, id string, now time.Time) error {
	res, err := tx.exec(ctx, `UPDATE webhook_deliveries SET manual = 1, next_attempt_at = ? WHERE program_id = ? AND id = ?`,
		ms(now), programID, id)
	if err != nil {
		return fmt.Errorf("retry delivery %s: %w", id, err)
	}
	if affected(res) == 0 {
		return failure.New(failure.NotFound, "delivery %s not found", id)
	}
	return nil
}

// ExpiringLot is a lot's remaining points that expire at a time.
type ExpiringLot struct {
	MemberID  string
	Currency  string
	Remaining int64
	ExpiresAt time.Time
}

// ExpiringLots lists the lots of a programme with points left that
// expire in (from, to], by member.
func (c *Conn) ExpiringLots(ctx context.Context, programID string, from, to time.Time) ([]ExpiringLot, error) {
	rows, err := c.query(ctx, `SELECT member_id, currency, remaining, expires_at FROM lots
		WHERE program_id = ? AND expires_at > ? AND expires_at <= ? AND remaining > 0 AND status IN ('available', 'pending')
		ORDER BY member_id, currency, expires_at`, programID, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("expiring lots: %w", err)
	}
	defer rows.Close()
	var out []ExpiringLot
	for rows.Next() {
		var l ExpiringLot
		var at int64
		if err := rows.Scan(&l.MemberID, &l.Currency, &l.Remaining, &at); err != nil {
			return nil, classify(err)
		}
		l.ExpiresAt = fromMS(at)
		out = append(out, l)
	}
	return out, classify(rows.Err())
}

// InsertExpiryNotice records that a member's notice for a currency and
// expiry date went out; false when it had already.
func (tx *Tx) InsertExpiryNotice(ctx context.Context, programID, memberID, currency, expiresOn string, points int64, now time.Time) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO expiry_notices (program_id, member_id, currency, expires_on, points, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, programID, memberID, currency, expiresOn, points, ms(now))
	if err != nil {
		return false, fmt.Errorf("expiry notice: %w", err)
	}
	return affected(res) == 1, nil
}
