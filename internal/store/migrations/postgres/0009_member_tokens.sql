-- The secret a programme signs its member tokens with (HMAC-SHA256): made
-- on the first token, shared by every node through the database.
CREATE TABLE member_token_keys (
    program_id TEXT PRIMARY KEY REFERENCES programs (id),
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
