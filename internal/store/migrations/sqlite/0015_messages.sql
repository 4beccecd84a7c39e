-- Issue 17: channels, message templates and messages.

-- A channel a message goes out by. config is the kind's JSON settings,
-- secrets included (encrypted at rest by issue 18; read back as "***").
CREATE TABLE channels (
	id         TEXT PRIMARY KEY,
	program_id TEXT NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	config     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX channels_program ON channels (program_id, id);

-- A message template: subject and body with {{placeholders}}; for Alibaba
-- Cloud SMS a template code and its parameters (JSON object of name →
-- text with placeholders).
CREATE TABLE message_templates (
	id                   TEXT PRIMARY KEY,
	program_id           TEXT NOT NULL,
	name                 TEXT NOT NULL,
	subject              TEXT NOT NULL,
	body                 TEXT NOT NULL,
	aliyun_template_code TEXT,
	aliyun_params        TEXT,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL
);
CREATE INDEX message_templates_program ON message_templates (program_id, id);

-- A message, rendered when queued. The sender claims a due row
-- (claimed_by, claimed_until), sends it outside any transaction and
-- records the attempt (attempts: a JSON array) under its claim.
CREATE TABLE messages (
	id              TEXT PRIMARY KEY,
	program_id      TEXT NOT NULL,
	member_id       TEXT,
	channel_id      TEXT NOT NULL,
	template_id     TEXT,
	campaign_id     TEXT,
	recipient       TEXT NOT NULL,
	subject         TEXT NOT NULL,
	body            TEXT NOT NULL,
	params          TEXT,
	status          TEXT NOT NULL,
	attempts        TEXT NOT NULL,
	tries           INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	claimed_by      TEXT NOT NULL DEFAULT '',
	claimed_until   INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER
);
CREATE INDEX messages_program ON messages (program_id, id);
CREATE INDEX messages_due ON messages (program_id, next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_member ON messages (program_id, member_id, id);
CREATE INDEX messages_campaign ON messages (program_id, campaign_id, id) WHERE campaign_id IS NOT NULL;
