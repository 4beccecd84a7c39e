-- Spending: the points mall, redemptions, coupons and lotteries.

CREATE TABLE rewards (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL REFERENCES programs (id),
    name               TEXT NOT NULL,
    description        TEXT,
    type               TEXT NOT NULL,
    points_price       BIGINT NOT NULL,
    cash_price         BIGINT NOT NULL DEFAULT 0,
    stock              BIGINT,          -- NULL: unlimited; never below zero
    sold               BIGINT NOT NULL DEFAULT 0,
    per_member_limit   BIGINT,
    starts_at          BIGINT,
    ends_at            BIGINT,
    tiers              TEXT,             -- JSON list of tier codes; NULL: every tier
    coupon_template_id TEXT,
    merchant_id        TEXT,
    categories         TEXT,             -- JSON list
    status             TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    CHECK (stock IS NULL OR stock >= 0)
);
CREATE INDEX rewards_program ON rewards (program_id, id);

CREATE TABLE redemptions (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL,
    member_id      TEXT NOT NULL REFERENCES members (id),
    reward_id      TEXT NOT NULL REFERENCES rewards (id),
    quantity       BIGINT NOT NULL,
    points         BIGINT NOT NULL,
    cash_price     BIGINT NOT NULL,
    status         TEXT NOT NULL,
    transaction_id TEXT,
    reverse_txn_id TEXT,
    coupon_code    TEXT,
    merchant_id    TEXT,
    source         TEXT NOT NULL DEFAULT 'redemption',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX redemptions_member ON redemptions (member_id, reward_id);
CREATE INDEX redemptions_program ON redemptions (program_id, id);

CREATE TABLE coupon_templates (
    id               TEXT PRIMARY KEY,
    program_id       TEXT NOT NULL REFERENCES programs (id),
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    value            BIGINT NOT NULL,
    min_order        BIGINT NOT NULL DEFAULT 0,
    max_discount     BIGINT,
    total            BIGINT,         -- NULL: unlimited
    issued           BIGINT NOT NULL DEFAULT 0,
    per_member_limit BIGINT,
    daily_time       TEXT,            -- "HH:MM" program-local
    daily_quantity   BIGINT,
    valid_days       BIGINT,
    valid_from       BIGINT,
    valid_until      BIGINT,
    points_price     BIGINT NOT NULL DEFAULT 0,
    transferable     BOOLEAN NOT NULL DEFAULT FALSE,
    merchant_id      TEXT,
    categories       TEXT,
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    CHECK (total IS NULL OR issued <= total)
);
CREATE INDEX coupon_templates_program ON coupon_templates (program_id, id);

-- Claims of a daily release, per program-local date.
CREATE TABLE coupon_daily (
    template_id TEXT NOT NULL,
    date        TEXT NOT NULL,
    claimed     BIGINT NOT NULL,
    PRIMARY KEY (template_id, date)
);

CREATE TABLE coupons (
    code               TEXT NOT NULL,
    program_id         TEXT NOT NULL,
    template_id        TEXT NOT NULL REFERENCES coupon_templates (id),
    member_id          TEXT NOT NULL REFERENCES members (id),
    status             TEXT NOT NULL, -- active, redeemed, expired, void
    source             TEXT NOT NULL, -- claim, redemption, lottery, transfer
    valid_from         BIGINT NOT NULL,
    valid_until        BIGINT NOT NULL,
    transaction_id     TEXT,          -- the points price, if any
    redeemed_reference TEXT,
    redeemed_at        BIGINT,
    order_amount       BIGINT,
    discount           BIGINT,
    transferred_from   TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (program_id, code)
);
CREATE INDEX coupons_member ON coupons (member_id, status, valid_until);
CREATE INDEX coupons_template ON coupons (template_id, member_id);
CREATE INDEX coupons_due ON coupons (program_id, status, valid_until);

CREATE TABLE lotteries (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    name        TEXT NOT NULL,
    cost_points BIGINT NOT NULL,
    daily_limit BIGINT,
    fallback    TEXT NOT NULL, -- JSON prize
    starts_at   BIGINT,
    ends_at     BIGINT,
    merchant_id TEXT,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX lotteries_program ON lotteries (program_id, id);

CREATE TABLE lottery_prizes (
    lottery_id TEXT NOT NULL,
    idx        BIGINT NOT NULL,
    program_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    weight     BIGINT NOT NULL,
    stock      BIGINT, -- NULL: unlimited
    won        BIGINT NOT NULL DEFAULT 0,
    reward     TEXT NOT NULL,
    PRIMARY KEY (lottery_id, idx),
    CHECK (stock IS NULL OR stock >= 0)
);

CREATE TABLE lottery_draws (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL,
    lottery_id     TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    prize_idx      BIGINT NOT NULL, -- -1: the fallback prize
    prize_name     TEXT NOT NULL,
    random_value   TEXT NOT NULL,    -- the draw from crypto/rand, in [0, random_range)
    random_range   BIGINT NOT NULL,
    cost_txn_id    TEXT,
    prize_txn_id   TEXT,
    coupon_code    TEXT,
    redemption_id  TEXT,
    date           TEXT NOT NULL,    -- program-local, for the daily limit
    created_at     BIGINT NOT NULL
);
CREATE INDEX lottery_draws_member ON lottery_draws (member_id, lottery_id, date);
CREATE INDEX lottery_draws_lottery ON lottery_draws (lottery_id, id);
