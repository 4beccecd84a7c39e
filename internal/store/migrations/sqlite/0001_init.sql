-- Times are Unix milliseconds (UTC); points and money are 64-bit integers.
-- Every table with member data carries program_id, and member tables are
-- keyed by member_id, so a sharded PostgreSQL could distribute them later.

CREATE TABLE programs (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    timezone           TEXT NOT NULL,
    currency           TEXT NOT NULL,
    points_per_yuan    INTEGER NOT NULL,
    max_offset_percent INTEGER NOT NULL,
    expiry             TEXT NOT NULL,
    negative_balance   TEXT NOT NULL,
    settings           TEXT NOT NULL DEFAULT '{}',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE currencies (
    program_id TEXT NOT NULL REFERENCES programs (id),
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    spendable  INTEGER NOT NULL,
    expiry     TEXT, -- NULL: the program's policy
    created_at INTEGER NOT NULL,
    PRIMARY KEY (program_id, code)
);

CREATE TABLE merchants (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX merchants_program ON merchants (program_id, id);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    merchant_id TEXT REFERENCES merchants (id),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX api_keys_program ON api_keys (program_id, id);

CREATE TABLE members (
    id            TEXT PRIMARY KEY,
    program_id    TEXT NOT NULL REFERENCES programs (id),
    external_id   TEXT,
    phone         TEXT,
    name          TEXT,
    gender        TEXT NOT NULL DEFAULT 'unknown',
    birthday      TEXT,
    region        TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    tier          TEXT,
    status        TEXT NOT NULL,
    referral_code TEXT NOT NULL,
    referred_by   TEXT,
    merchant_id   TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX members_external ON members (program_id, external_id);
CREATE UNIQUE INDEX members_phone ON members (program_id, phone);
CREATE UNIQUE INDEX members_referral ON members (program_id, referral_code);
CREATE INDEX members_program ON members (program_id, id);
CREATE INDEX members_tier ON members (program_id, tier, id);

CREATE TABLE member_tags (
    program_id TEXT NOT NULL,
    member_id  TEXT NOT NULL REFERENCES members (id),
    tag        TEXT NOT NULL,
    PRIMARY KEY (member_id, tag)
);
CREATE INDEX member_tags_tag ON member_tags (program_id, tag, member_id);

-- One row per member and currency: running totals kept in the same
-- database transaction as the postings, so a balance read is one row.
CREATE TABLE balances (
    program_id       TEXT NOT NULL,
    member_id        TEXT NOT NULL REFERENCES members (id),
    currency         TEXT NOT NULL,
    available        INTEGER NOT NULL DEFAULT 0,
    pending          INTEGER NOT NULL DEFAULT 0,
    held             INTEGER NOT NULL DEFAULT 0,
    debt             INTEGER NOT NULL DEFAULT 0,
    lifetime_earned  INTEGER NOT NULL DEFAULT 0,
    lifetime_spent   INTEGER NOT NULL DEFAULT 0,
    lifetime_expired INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (member_id, currency)
) WITHOUT ROWID;

CREATE TABLE transactions (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL,
    member_id   TEXT NOT NULL REFERENCES members (id),
    type        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    points      INTEGER NOT NULL,
    merchant_id TEXT,
    reference   TEXT,
    reason      TEXT,
    metadata    TEXT,
    status      TEXT NOT NULL,
    reverses    TEXT,
    hold_id     TEXT,
    reversed    INTEGER NOT NULL DEFAULT 0, -- sum of the reversals of this one
    created_at  INTEGER NOT NULL
);
CREATE INDEX transactions_member ON transactions (member_id, id);
CREATE INDEX transactions_program ON transactions (program_id, created_at);
CREATE INDEX transactions_reverses ON transactions (reverses) WHERE reverses IS NOT NULL;
CREATE INDEX transactions_hold ON transactions (hold_id) WHERE hold_id IS NOT NULL;

-- Double entry: the postings of one transaction sum to zero per currency.
CREATE TABLE postings (
    transaction_id TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    program_id     TEXT NOT NULL,
    account        TEXT NOT NULL,
    member_id      TEXT,
    currency       TEXT NOT NULL,
    amount         INTEGER NOT NULL,
    PRIMARY KEY (transaction_id, seq)
) WITHOUT ROWID;
CREATE INDEX postings_member ON postings (member_id, currency, account);

CREATE TABLE lots (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL,
    member_id      TEXT NOT NULL REFERENCES members (id),
    currency       TEXT NOT NULL,
    amount         INTEGER NOT NULL,
    remaining      INTEGER NOT NULL,
    status         TEXT NOT NULL,
    available_at   INTEGER NOT NULL,
    expires_at     INTEGER, -- NULL: never
    merchant_id    TEXT,
    transaction_id TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX lots_member ON lots (member_id, currency, status, expires_at);
CREATE INDEX lots_expiry ON lots (program_id, status, expires_at);
CREATE INDEX lots_pending ON lots (program_id, status, available_at);
CREATE INDEX lots_transaction ON lots (transaction_id);

-- Every change of a lot's remaining, so reversals return points to the lots
-- they came from and an alliance knows whose points were redeemed where.
CREATE TABLE lot_moves (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id         TEXT NOT NULL,
    lot_id             TEXT NOT NULL,
    transaction_id     TEXT NOT NULL,
    kind               TEXT NOT NULL,
    points             INTEGER NOT NULL,
    issuer_merchant_id TEXT,
    at_merchant_id     TEXT,
    created_at         INTEGER NOT NULL,
    statement_id       TEXT
);
CREATE INDEX lot_moves_transaction ON lot_moves (transaction_id);
CREATE INDEX lot_moves_lot ON lot_moves (lot_id);

CREATE TABLE holds (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL,
    member_id      TEXT NOT NULL REFERENCES members (id),
    currency       TEXT NOT NULL,
    points         INTEGER NOT NULL,
    captured       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL,
    reference      TEXT,
    merchant_id    TEXT,
    expires_at     INTEGER NOT NULL,
    hold_txn_id    TEXT NOT NULL,
    transaction_id TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX holds_member ON holds (member_id, id);
CREATE INDEX holds_due ON holds (program_id, status, expires_at);

-- The key, a hash of the request and the stored response are written in
-- the same transaction as the effect.
CREATE TABLE idempotency (
    program_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (program_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Leases make each scheduled run happen on one node.
CREATE TABLE job_leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    locked_until INTEGER NOT NULL,
    next_run_at  INTEGER NOT NULL
);
