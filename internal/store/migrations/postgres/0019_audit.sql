-- Issue 18: the audit log. One row per state-changing request (written in
-- the request's transaction), member export and console login attempt.
-- No route alters a row. summary is the request body with personal
-- values redacted and secrets left out; program_id is '' for a login
-- attempt naming no operator.
CREATE TABLE audit_log (
	program_id  TEXT NOT NULL,
	id          TEXT NOT NULL,
	at          BIGINT NOT NULL,
	actor_kind  TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	actor_name  TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	method      TEXT NOT NULL,
	route       TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	ip          TEXT NOT NULL,
	status      INTEGER NOT NULL,
	summary     TEXT NOT NULL,
	PRIMARY KEY (program_id, id)
);
-- "Who touched this member (or rule, or key)": the regulator's question.
CREATE INDEX audit_log_target ON audit_log (program_id, target_id, id);
-- "What did this key or operator do".
CREATE INDEX audit_log_actor ON audit_log (program_id, actor_id, id);
