-- Issue 16: one member across channels, alliance settlement, exchange.

-- A member's identities: every way a channel names it (phone, email,
-- card, WeChat openid and unionid, external id, custom kinds). lookup is
-- what a reference is found by: lookup.Hash(kind, value) — today a
-- SHA-256 of kind, a zero byte and the normalised value; with encryption
-- at rest, a keyed HMAC — so value itself is never searched and may be
-- stored encrypted. (kind, value) is unique in a programme.
-- Keyed by the lookup, the member's ID included, so resolving a
-- reference is an index-only scan.
CREATE TABLE identities (
	program_id TEXT NOT NULL,
	lookup     TEXT NOT NULL,
	id         TEXT NOT NULL,
	member_id  TEXT NOT NULL REFERENCES members (id),
	kind       TEXT NOT NULL,
	value      TEXT NOT NULL,
	verified   BOOLEAN NOT NULL DEFAULT false,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (program_id, lookup) INCLUDE (member_id)
);
CREATE UNIQUE INDEX identities_id ON identities (id);
CREATE INDEX identities_member ON identities (member_id, kind);

-- A merged member keeps its row (its transactions still name it) and
-- points to the member it was merged into.
ALTER TABLE members ADD COLUMN merged_into TEXT;
CREATE INDEX members_merged_into ON members (program_id, merged_into) WHERE merged_into IS NOT NULL;

-- A lot move's currency is its lot's, kept on the move so a statement sums
-- one currency's unsettled moves from one index without a join.
ALTER TABLE lot_moves ADD COLUMN currency TEXT NOT NULL DEFAULT 'points';
UPDATE lot_moves SET currency = (SELECT l.currency FROM lots l WHERE l.id = lot_moves.lot_id);
CREATE INDEX lot_moves_unsettled ON lot_moves (program_id, currency, created_at) WHERE statement_id IS NULL;

-- What a merchant's points are worth to the alliance, and what it pays.
CREATE TABLE settlement_terms (
	program_id      TEXT NOT NULL,
	merchant_id     TEXT NOT NULL,
	point_value_fen TEXT,          -- decimal string, up to 6 decimals; NULL: 100 / points_per_yuan
	fee_percent     TEXT NOT NULL, -- decimal string
	breakage        TEXT NOT NULL, -- issuer | program
	updated_at      BIGINT NOT NULL,
	PRIMARY KEY (program_id, merchant_id)
);

-- A settlement statement for [from_at, to_at) of one currency. lines and
-- pairs are JSON, frozen at close; a draft's are recomputed on read.
CREATE TABLE statements (
	id         TEXT PRIMARY KEY,
	program_id TEXT NOT NULL,
	currency   TEXT NOT NULL,
	status     TEXT NOT NULL, -- draft | closed
	from_at    BIGINT NOT NULL,
	to_at      BIGINT NOT NULL,
	lines      TEXT,
	pairs      TEXT,
	created_at BIGINT NOT NULL,
	closed_at  BIGINT
);
CREATE INDEX statements_program ON statements (program_id, currency, to_at);
CREATE UNIQUE INDEX statements_one_draft ON statements (program_id, currency) WHERE status = 'draft';

-- Exchange rates between a programme's currencies: rate target points per
-- source point (decimal string, up to 6 decimals).
CREATE TABLE exchange_rates (
	program_id    TEXT NOT NULL,
	from_currency TEXT NOT NULL,
	to_currency   TEXT NOT NULL,
	rate          TEXT NOT NULL,
	daily_limit   BIGINT,
	active        BOOLEAN NOT NULL DEFAULT true,
	updated_at    BIGINT NOT NULL,
	PRIMARY KEY (program_id, from_currency, to_currency)
);

CREATE TABLE exchanges (
	id             TEXT PRIMARY KEY,
	program_id     TEXT NOT NULL,
	member_id      TEXT NOT NULL REFERENCES members (id),
	from_currency  TEXT NOT NULL,
	to_currency    TEXT NOT NULL,
	points         BIGINT NOT NULL,
	received       BIGINT NOT NULL,
	rate           TEXT NOT NULL,
	transaction_id TEXT NOT NULL,
	reference      TEXT,
	merchant_id    TEXT,
	created_at     BIGINT NOT NULL
);
CREATE INDEX exchanges_member ON exchanges (member_id, from_currency, created_at);
CREATE INDEX exchanges_transaction ON exchanges (transaction_id);
