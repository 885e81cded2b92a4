-- Append a notice to the live log and wake the listeners (NOTIFY carries only the id).
-- The transaction lock makes ids become visible in id order: a writer holding id N commits before
-- the next writer can draw N+1, so a reader that has seen N+1 has seen N ("after N" never skips a
-- row that commits late). Call it LAST in a transaction: the lock is held until commit.
CREATE OR REPLACE FUNCTION rtcc_live_publish(kind text, payload jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE new_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(74196);
    INSERT INTO live_log (type, payload) VALUES (kind, payload) RETURNING id INTO new_id;
    PERFORM pg_notify('rtcc_live', new_id::text);
    RETURN new_id;
END $$;

-- Keep the live log bounded: rows older than `keep` or beyond the newest `keep_rows` go (the newest
-- row always stays, so the head id survives). Returns the number of rows deleted.
CREATE OR REPLACE FUNCTION rtcc_live_prune(keep interval, keep_rows bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    head bigint;
    cut bigint;
    n bigint;
BEGIN
    SELECT max(id) INTO head FROM live_log;
    IF head IS NULL THEN
        RETURN 0;
    END IF;
    SELECT min(id) INTO cut FROM live_log WHERE at >= now() - keep;
    cut := LEAST(GREATEST(COALESCE(cut, head), head - keep_rows + 1), head);
    IF cut <= (SELECT below FROM live_log_pruned) THEN
        RETURN 0;
    END IF;
    UPDATE live_log_pruned SET below = cut;
    DELETE FROM live_log WHERE id < cut;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
