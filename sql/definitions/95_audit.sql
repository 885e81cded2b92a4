-- The audit log's chain (tables: sql/migrations/101_audit_chain.sql): each insert appends under a lock
-- on audit_head; UPDATE, DELETE and TRUNCATE are refused for everyone; the verifier walks the chain.

-- The hash of one row: the previous hash, then the row's fields as a canonical JSON array
-- (jsonb's text form is deterministic; times in UTC to the microsecond).
CREATE OR REPLACE FUNCTION rtcc_audit_hash(prev bytea, seq bigint, at timestamptz, who text, role text,
                                           action text, resource text, purpose text, reason text,
                                           case_number text, client text, detail jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(prev || convert_to(jsonb_build_array(
        seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), who, role, action, resource,
        purpose, reason, case_number, client, detail)::text, 'UTF8'))
$$;

CREATE OR REPLACE FUNCTION rtcc_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    h audit_head;
BEGIN
    SELECT * INTO h FROM audit_head WHERE id = 1 FOR UPDATE;
    NEW.seq := h.seq + 1;
    NEW.prev_hash := h.hash;
    NEW.hash := rtcc_audit_hash(h.hash, NEW.seq, NEW.at, NEW.who, NEW.role, NEW.action, NEW.resource,
                                NEW.purpose, NEW.reason, NEW.case_number, NEW.client, NEW.detail);
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION rtcc_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION rtcc_audit_chain();
CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION rtcc_audit_refuse();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_audit_refuse();

-- Walk the chain: the first row whose sequence, link or hash does not hold (NULL: intact), and
-- the head's sequence and hash (keep a copy elsewhere: it anchors everything before it).
CREATE OR REPLACE FUNCTION rtcc_audit_verify(OUT checked bigint, OUT bad_seq bigint, OUT problem text,
                                             OUT head_seq bigint, OUT head_hash text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
    prev bytea := sha256(convert_to('rtcc audit log', 'UTF8'));
    expect bigint := 1;
    h audit_head;
BEGIN
    checked := 0;
    FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP
        IF r.seq IS DISTINCT FROM expect THEN
            bad_seq := expect; problem := format('row %s is missing (next is %s)', expect, r.seq); EXIT;
        ELSIF r.prev_hash IS DISTINCT FROM prev THEN
            bad_seq := r.seq; problem := format('row %s does not link to row %s', r.seq, r.seq - 1); EXIT;
        ELSIF r.hash IS DISTINCT FROM rtcc_audit_hash(prev, r.seq, r.at, r.who, r.role, r.action, r.resource,
                                                      r.purpose, r.reason, r.case_number, r.client, r.detail) THEN
            bad_seq := r.seq; problem := format('row %s (id %s) was altered', r.seq, r.id); EXIT;
        END IF;
        prev := r.hash;
        expect := expect + 1;
        checked := checked + 1;
    END LOOP;
    SELECT * INTO h FROM audit_head WHERE id = 1;
    head_seq := h.seq;
    head_hash := encode(h.hash, 'hex');
    IF problem IS NULL AND (h.seq <> expect - 1 OR h.hash IS DISTINCT FROM prev) THEN
        bad_seq := expect; problem := format('rows after %s were removed (the head is at %s)', expect - 1, h.seq);
    END IF;
END $$;
