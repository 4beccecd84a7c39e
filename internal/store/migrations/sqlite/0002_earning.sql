-- Earning: rules and their versions, events, awards, orders, tiers,
-- check-ins, tasks and referrals.

CREATE TABLE rules (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    version     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    merchant_id TEXT,
    definition  TEXT NOT NULL,
    budget      INTEGER, -- NULL: no pool
    budget_used INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX rules_program ON rules (program_id, id);

-- Every change of a rule is kept; awards name the version that made them.
CREATE TABLE rule_versions (
    rule_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    program_id TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (rule_id, version)
);

-- Points a rule has given a member per cap period (day:…, week:…, month:…, total).
CREATE TABLE rule_usage (
    rule_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    period     TEXT NOT NULL,
    program_id TEXT NOT NULL,
    points     INTEGER NOT NULL,
    PRIMARY KEY (rule_id, member_id, period)
) WITHOUT ROWID;

-- Events are idempotent on their own id: the first result is kept.
CREATE TABLE events (
    program_id  TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    merchant_id TEXT,
    occurred_at INTEGER NOT NULL,
    data        TEXT NOT NULL,
    result      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (program_id, id)
) WITHOUT ROWID;
CREATE INDEX events_member ON events (member_id, occurred_at);

CREATE TABLE awards (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    rule_id        TEXT NOT NULL,
    rule_version   INTEGER NOT NULL,
    member_id      TEXT NOT NULL,
    currency       TEXT NOT NULL,
    points         INTEGER NOT NULL,
    transaction_id TEXT NOT NULL,
    order_id       TEXT,
    capped         INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE INDEX awards_order ON awards (program_id, order_id) WHERE order_id IS NOT NULL;
CREATE INDEX awards_rule ON awards (rule_id, created_at);
CREATE INDEX awards_event ON awards (program_id, event_id);

-- Paid orders, so that refunds claw back in proportion.
CREATE TABLE orders (
    program_id TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    refunded   INTEGER NOT NULL DEFAULT 0,
    refunds    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (program_id, order_id)
) WITHOUT ROWID;
CREATE INDEX orders_member ON orders (member_id, created_at);

CREATE TABLE tier_history (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    from_tier  TEXT,
    to_tier    TEXT,
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX tier_history_member ON tier_history (member_id, id);

CREATE TABLE checkins (
    member_id      TEXT NOT NULL,
    date           TEXT NOT NULL, -- program-local YYYY-MM-DD
    program_id     TEXT NOT NULL,
    streak         INTEGER NOT NULL,
    points         INTEGER NOT NULL,
    transaction_id TEXT,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (member_id, date)
) WITHOUT ROWID;

CREATE TABLE tasks (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    name       TEXT NOT NULL,
    event_type TEXT NOT NULL,
    target     INTEGER NOT NULL,
    period     TEXT NOT NULL,
    reward     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tasks_program ON tasks (program_id, event_type);

CREATE TABLE task_progress (
    task_id        TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    period         TEXT NOT NULL, -- once, day:YYYY-MM-DD, week:YYYY-Www
    program_id     TEXT NOT NULL,
    progress       INTEGER NOT NULL,
    completed_at   INTEGER,
    transaction_id TEXT,
    PRIMARY KEY (task_id, member_id, period)
) WITHOUT ROWID;
CREATE INDEX task_progress_member ON task_progress (member_id, period);

CREATE TABLE referrals (
    invitee_id      TEXT PRIMARY KEY,
    program_id      TEXT NOT NULL,
    inviter_id      TEXT NOT NULL,
    status          TEXT NOT NULL, -- pending, rewarded, capped
    inviter_txn_id  TEXT,
    invitee_txn_id  TEXT,
    created_at      INTEGER NOT NULL,
    rewarded_at     INTEGER
);
CREATE INDEX referrals_inviter ON referrals (inviter_id, status);
