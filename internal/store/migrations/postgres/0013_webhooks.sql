-- Issue 17: webhooks — subscriptions, the transactional outbox, deliveries
-- and the expiry notices that fire once per member, currency and date.

-- A programme's webhook. events is a JSON array of event types (or ["*"]).
-- secret signs every delivery; prev_secret signs as well until
-- prev_until (24 h after a rotation). Issue 18 encrypts both.
CREATE TABLE webhooks (
	id          TEXT PRIMARY KEY,
	program_id  TEXT NOT NULL,
	url         TEXT NOT NULL,
	events      TEXT NOT NULL,
	active      BOOLEAN NOT NULL DEFAULT true,
	secret      TEXT NOT NULL,
	prev_secret TEXT,
	prev_until  BIGINT,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	deleted_at  BIGINT
);
CREATE INDEX webhooks_program ON webhooks (program_id, id) WHERE deleted_at IS NULL;

-- The outbox: one row per event, written in the transaction of the change
-- that caused it, and only when an active webhook subscribes to its type.
-- seq is the commit order per member (the writer serialises a member's
-- changes, so insertion order under its lock is commit order).
CREATE TABLE webhook_events (
	seq        BIGSERIAL PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL,
	type       TEXT NOT NULL,
	member_id  TEXT,
	payload    TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- One delivery per (webhook, event). attempts is a JSON array of
-- {at, status_code, duration_ms, error}. locked_until is a worker's claim;
-- manual marks a retry asked for by hand (it does not hold later events
-- back). deadline is the event's time + 24 h.
CREATE TABLE webhook_deliveries (
	id              TEXT PRIMARY KEY,
	program_id      TEXT NOT NULL,
	webhook_id      TEXT NOT NULL REFERENCES webhooks (id),
	event_id        TEXT NOT NULL REFERENCES webhook_events (id),
	event_seq       BIGINT NOT NULL,
	event_type      TEXT NOT NULL,
	member_id       TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	attempts        TEXT NOT NULL DEFAULT '[]',
	n_attempts      BIGINT NOT NULL DEFAULT 0,
	next_attempt_at BIGINT,
	deadline        BIGINT NOT NULL,
	locked_until    BIGINT NOT NULL DEFAULT 0,
	claim           TEXT NOT NULL DEFAULT '',
	manual          BIGINT NOT NULL DEFAULT 0,
	created_at      BIGINT NOT NULL,
	UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending' OR manual = 1;
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (webhook_id, member_id, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (program_id, webhook_id, id);

-- points.expiring fired: one row per member, currency and expiry date, so
-- the notice goes out once across nodes and restarts.
CREATE TABLE expiry_notices (
	program_id TEXT NOT NULL,
	member_id  TEXT NOT NULL,
	currency   TEXT NOT NULL,
	expires_on TEXT NOT NULL,
	points     BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (program_id, member_id, currency, expires_on)
);
