-- Member activity for the reports' active members, kept as the ledger is
-- written (store/activity.go): per member, merchant ('*' for anywhere)
-- and programme-local year, a bitmap of the days (bit n of word n/64 for
-- day-of-year n, 0-based) on which the member had a transaction of its
-- own or an event; and per day the number of members whose bit that day
-- was set first. A period's distinct active members are the bitmaps that
-- meet its days' mask (one row per member and year, not one per
-- transaction); a day's is its counter. The rows of the ledger so far are
-- filled by this migration's Go step (activityBackfill).
CREATE TABLE member_activity (
	program_id  TEXT NOT NULL,
	merchant_id TEXT NOT NULL,
	year        INTEGER NOT NULL,
	member_id   TEXT NOT NULL,
	w0 BIGINT NOT NULL DEFAULT 0,
	w1 BIGINT NOT NULL DEFAULT 0,
	w2 BIGINT NOT NULL DEFAULT 0,
	w3 BIGINT NOT NULL DEFAULT 0,
	w4 BIGINT NOT NULL DEFAULT 0,
	w5 BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (program_id, merchant_id, year, member_id)
) WITHOUT ROWID;

CREATE TABLE activity_days (
	program_id  TEXT NOT NULL,
	merchant_id TEXT NOT NULL,
	year        INTEGER NOT NULL,
	yday        INTEGER NOT NULL, -- 0-based day of the year
	shard       INTEGER NOT NULL, -- the writer lane, as in report_rollups
	active      BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (program_id, merchant_id, year, yday, shard)
) WITHOUT ROWID;

-- Members counted by the time they joined read their status and merchant
-- from the index alone.
DROP INDEX members_program_created;
CREATE INDEX members_program_created ON members (program_id, created_at, status, merchant_id);
