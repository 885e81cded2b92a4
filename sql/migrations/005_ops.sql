-- Operations: hotlists for ALPR, the audit trail of who read what and why.

CREATE TABLE IF NOT EXISTS hotlists (
    plate       text NOT NULL,
    state       text NOT NULL DEFAULT '',
    reason      text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plate, state)
);

CREATE TABLE IF NOT EXISTS audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    who         text NOT NULL,
    action      text NOT NULL,
    resource    text NOT NULL,
    purpose     text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
