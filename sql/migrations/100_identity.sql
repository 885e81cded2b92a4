-- Identity (services/auth): local accounts, API keys, browser sessions, failed sign-ins.
-- Secrets are never stored: passwords as argon2id hashes, keys and session tokens as SHA-256
-- (both are 32 random bytes, so a fast hash is enough and keeps the per-request lookup cheap).

CREATE TABLE IF NOT EXISTS users (
    name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$'),
    role          text NOT NULL,
    password_hash text,                      -- argon2id; NULL for accounts that sign in through OIDC
    source        text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'oidc')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    password_set_at timestamptz
);

CREATE TABLE IF NOT EXISTS api_keys (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL,
    feeds        text[],                     -- ingest limited to these feeds (NULL: every feed)
    key_hash     bytea NOT NULL UNIQUE,      -- sha256 of the key
    prefix       text NOT NULL,              -- first characters, to recognise a key in listings
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    last_used_from text
);

CREATE TABLE IF NOT EXISTS sessions (
    token_hash   bytea PRIMARY KEY,          -- sha256 of the cookie value
    user_name    text NOT NULL,
    role         text NOT NULL,
    csrf         text NOT NULL,              -- sent back by the web client on state-changing requests
    reason       text,                       -- the stated purpose for ALPR reads in this session
    case_number  text,
    client       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);

CREATE TABLE IF NOT EXISTS login_failures (
    id        bigserial PRIMARY KEY,
    user_name text NOT NULL,
    client    text,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures (user_name, at);
CREATE INDEX IF NOT EXISTS login_failures_client ON login_failures (client, at);
