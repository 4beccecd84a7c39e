-- Campaigns (store/campaign.go). A campaign's schedule, actions and
-- conversion are JSON; budget_used counts the points its grant_points
-- paid, raised in each member's transaction under the budget.
CREATE TABLE campaigns (
	id              TEXT PRIMARY KEY,
	program_id      TEXT NOT NULL,
	name            TEXT NOT NULL,
	status          TEXT NOT NULL,
	schedule        TEXT NOT NULL,
	actions         TEXT NOT NULL,
	segment_id      TEXT,
	control_percent BIGINT NOT NULL DEFAULT 0,
	budget          BIGINT,
	budget_used     BIGINT NOT NULL DEFAULT 0,
	merchant_id     TEXT,
	conversion      TEXT NOT NULL,
	starts_at       BIGINT,
	ends_at         BIGINT,
	activated_at    BIGINT,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);
CREATE INDEX campaigns_program ON campaigns (program_id, id);

-- A member's draw for a campaign: control or not, drawn once at its first
-- occurrence and kept.
CREATE TABLE campaign_draws (
	campaign_id TEXT NOT NULL,
	member_id   TEXT NOT NULL,
	control     BIGINT NOT NULL,
	PRIMARY KEY (campaign_id, member_id)
);

-- One occurrence of a campaign for a member: the claim that it acted
-- (treated), held back (control) or skipped (reason), unique across nodes
-- and restarts, written in the transaction of the actions.
CREATE TABLE campaign_members (
	campaign_id  TEXT NOT NULL,
	member_id    TEXT NOT NULL,
	occurrence   TEXT NOT NULL,
	program_id   TEXT NOT NULL,
	grp          TEXT NOT NULL,
	reason       TEXT,
	points       BIGINT NOT NULL DEFAULT 0,
	coupon_code  TEXT,
	message_id   TEXT,
	at           BIGINT NOT NULL,
	seq          TEXT NOT NULL,
	PRIMARY KEY (campaign_id, member_id, occurrence)
);
CREATE INDEX campaign_members_group ON campaign_members (campaign_id, grp, seq);
