-- Audience (store/audience.go): each member's order statistics, kept in
-- the transaction of each event (and last_activity_at of each ledger
-- transaction, in Apply); the RFM scores the rfm job writes; category
-- scores decayed with a half-life (score as of decayed_at); the
-- programme's audience settings; and segments. The statistics of the
-- members so far are filled from orders, events and transactions below.
CREATE TABLE audience_settings (
	program_id              TEXT PRIMARY KEY,
	rfm_window_days         BIGINT NOT NULL DEFAULT 365,
	new_days                BIGINT NOT NULL DEFAULT 30,
	at_risk_days            BIGINT NOT NULL DEFAULT 90,
	dormant_days            BIGINT NOT NULL DEFAULT 180,
	category_half_life_days BIGINT NOT NULL DEFAULT 90,
	rfm_computed_at         BIGINT,
	updated_at              BIGINT NOT NULL
);

CREATE TABLE member_stats (
	program_id       TEXT NOT NULL,
	member_id        TEXT NOT NULL,
	orders           BIGINT NOT NULL DEFAULT 0,
	spend            BIGINT NOT NULL DEFAULT 0,
	refunds          BIGINT NOT NULL DEFAULT 0,
	refunded         BIGINT NOT NULL DEFAULT 0,
	first_order_at   BIGINT,
	last_order_at    BIGINT,
	last_activity_at BIGINT,
	rfm_r            BIGINT NOT NULL DEFAULT 0, -- 0: no score
	rfm_f            BIGINT NOT NULL DEFAULT 0,
	rfm_m            BIGINT NOT NULL DEFAULT 0,
	rfm_cell         TEXT NOT NULL DEFAULT '',
	rfm_at           BIGINT,
	PRIMARY KEY (program_id, member_id)
) WITHOUT ROWID;
CREATE INDEX member_stats_rfm ON member_stats (program_id, rfm_r, rfm_f);

CREATE TABLE member_categories (
	program_id TEXT NOT NULL,
	member_id  TEXT NOT NULL,
	category   TEXT NOT NULL,
	score      REAL NOT NULL, -- fen, as of decayed_at
	decayed_at BIGINT NOT NULL,
	PRIMARY KEY (program_id, member_id, category)
) WITHOUT ROWID;

CREATE TABLE segments (
	program_id  TEXT NOT NULL,
	id          TEXT NOT NULL,
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	condition   TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (program_id, id)
);

INSERT INTO member_stats (program_id, member_id, orders, spend, refunds, refunded, first_order_at, last_order_at)
SELECT program_id, member_id, COUNT(*), SUM(amount), SUM(refunds), SUM(refunded), MIN(created_at), MAX(created_at)
FROM orders GROUP BY program_id, member_id;

INSERT INTO member_stats (program_id, member_id, last_activity_at)
SELECT program_id, member_id, MAX(at) FROM (
	SELECT program_id, member_id, created_at AS at FROM transactions WHERE type NOT IN ('expire', 'activate', 'merge')
	UNION ALL
	SELECT program_id, member_id, created_at FROM events WHERE member_id IS NOT NULL
) AS a GROUP BY program_id, member_id
ON CONFLICT (program_id, member_id) DO UPDATE SET last_activity_at = excluded.last_activity_at;
