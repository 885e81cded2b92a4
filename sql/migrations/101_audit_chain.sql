-- The audit log nobody can rewrite (functions and triggers: sql/definitions/95_audit.sql): append-only (a trigger refuses UPDATE, DELETE and TRUNCATE,
-- whoever asks) and hash-chained (each row's hash covers the previous row's hash and its own
-- content), so `rtcc audit verify` finds a row altered or removed by someone who disabled the trigger.

ALTER TABLE audit_log
    ADD COLUMN IF NOT EXISTS role        text,
    ADD COLUMN IF NOT EXISTS client      text,
    ADD COLUMN IF NOT EXISTS reason      text,
    ADD COLUMN IF NOT EXISTS case_number text,
    ADD COLUMN IF NOT EXISTS seq         bigint,
    ADD COLUMN IF NOT EXISTS prev_hash   bytea,
    ADD COLUMN IF NOT EXISTS hash        bytea;
CREATE UNIQUE INDEX IF NOT EXISTS audit_log_seq ON audit_log (seq);
CREATE INDEX IF NOT EXISTS audit_log_who ON audit_log (who, at);
CREATE INDEX IF NOT EXISTS audit_log_case ON audit_log (case_number, at) WHERE case_number IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, at);

-- The end of the chain: one row, locked by each insert until its transaction ends, so concurrent
-- writers append one after the other in commit order.
CREATE TABLE IF NOT EXISTS audit_head (
    id   int PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, sha256(convert_to('rtcc audit log', 'UTF8'))) ON CONFLICT DO NOTHING;

-- Rows written before the chain existed are chained now, in id order (the hash expression is the
-- one of rtcc_audit_hash in definitions/95_audit.sql: a migration never calls a defined function).
DO $$
DECLARE
    r record;
    h audit_head;
BEGIN
    SELECT * INTO h FROM audit_head WHERE id = 1 FOR UPDATE;
    FOR r IN SELECT * FROM audit_log WHERE seq IS NULL ORDER BY id LOOP
        h.seq := h.seq + 1;
        UPDATE audit_log SET seq = h.seq, prev_hash = h.hash,
               hash = sha256(h.hash || convert_to(jsonb_build_array(
                   h.seq, to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), r.who, r.role, r.action,
                   r.resource, r.purpose, r.reason, r.case_number, r.client, r.detail)::text, 'UTF8'))
        WHERE id = r.id RETURNING hash INTO h.hash;
    END LOOP;
    UPDATE audit_head SET seq = h.seq, hash = h.hash WHERE id = 1;
END $$;
