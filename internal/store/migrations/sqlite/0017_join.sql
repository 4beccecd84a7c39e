-- One-step join (一键扫码入会): join links, the one-time codes sent to a
-- phone, and the sends the rate limits count.

-- A join link: a QR code at a merchant (and one of its stores) that
-- makes shoppers members there, with an optional inviter's referral code.
CREATE TABLE join_links (
	id            TEXT PRIMARY KEY,
	program_id    TEXT NOT NULL,
	merchant_id   TEXT NOT NULL,
	store         TEXT,
	referral_code TEXT,
	created_at    INTEGER NOT NULL
);
CREATE INDEX join_links_program ON join_links (program_id, id);

-- The one live code of a phone (its lookup hash: no phone in clear): a
-- salted SHA-256 of the code, its expiry, the wrong tries, when it was used.
CREATE TABLE join_codes (
	program_id   TEXT NOT NULL,
	phone_lookup TEXT NOT NULL,
	link_id      TEXT NOT NULL,
	code_hash    TEXT NOT NULL,
	expires_at   INTEGER NOT NULL,
	tries        INTEGER NOT NULL DEFAULT 0,
	used_at      INTEGER,
	member_id    TEXT,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (program_id, phone_lookup)
);

-- Every code sent, by phone and by client IP (both as lookup hashes), for
-- the limits all nodes share; rows older than two days are purged.
CREATE TABLE join_sends (
	id           TEXT PRIMARY KEY,
	program_id   TEXT NOT NULL,
	phone_lookup TEXT NOT NULL,
	ip_lookup    TEXT NOT NULL,
	at           INTEGER NOT NULL
);
CREATE INDEX join_sends_phone ON join_sends (program_id, phone_lookup, at);
CREATE INDEX join_sends_ip ON join_sends (program_id, ip_lookup, at);
CREATE INDEX join_sends_at ON join_sends (at);
