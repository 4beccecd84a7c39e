-- Issue 18: request signing and per-key rate limits.

-- A key made with a public key signs its requests (Ed25519) and has no
-- secret: its secret_hash is "signing:<id>", which no secret hashes to.
-- rate_per_second and rate_burst, when set, are the key's own token
-- bucket (0 per second: not limited); unset, JIFEN_RATE_LIMIT applies.
ALTER TABLE api_keys ADD COLUMN public_key TEXT;
ALTER TABLE api_keys ADD COLUMN rate_per_second REAL;
ALTER TABLE api_keys ADD COLUMN rate_burst INTEGER;

-- The nonces of signed requests, shared by every node: a (key, nonce)
-- seen again within 15 minutes is a replay. A job purges older ones.
CREATE TABLE request_nonces (
    key_id TEXT NOT NULL,
    nonce  TEXT NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX request_nonces_at ON request_nonces (at);
