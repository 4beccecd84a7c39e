-- Console operators: people who log in with an email and a password and
-- act with their role's rights in their programme (a merchant operator as
-- its merchant). The email is unique in the installation, since a login
-- names no programme.
CREATE TABLE operators (
    id            TEXT PRIMARY KEY,
    program_id    TEXT NOT NULL REFERENCES programs (id),
    email         TEXT NOT NULL UNIQUE,
    name          TEXT,
    role          TEXT NOT NULL,
    merchant_id   TEXT,
    password_hash TEXT NOT NULL, -- Argon2id, PHC string
    status        TEXT NOT NULL, -- active, disabled
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX operators_program ON operators (program_id, id);

-- A session is the hash of its cookie's secret; the cookie itself is
-- never stored. It ends after 30 minutes idle or 12 hours.
CREATE TABLE operator_sessions (
    token_hash   TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

-- Failed logins per email, for the lockout (5 in 15 minutes lock it for
-- 15 minutes); a successful login clears them.
CREATE TABLE login_failures (
    email TEXT NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);
