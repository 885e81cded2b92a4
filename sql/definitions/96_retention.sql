-- Retention and legal hold (services/retention.py; tables in sql/migrations/103_retention.sql).

-- Is this event under an active hold? (by id, or as a read of a held plate)
CREATE OR REPLACE FUNCTION rtcc_held(ev bigint, ev_plate text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM legal_hold_items i JOIN legal_holds h USING (case_number)
                   WHERE h.released_at IS NULL AND (i.event_id = ev OR (ev_plate IS NOT NULL AND i.plate = ev_plate)))
$$;

-- Drop one whole monthly partition of events (the server's role may not drop tables): only a
-- partition named events_yYYYYmMM, entirely older than `older_than`, holding no held event.
CREATE OR REPLACE FUNCTION rtcc_drop_event_partition(part text, older_than timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_end timestamptz;
    n bigint;
    held boolean;
BEGIN
    IF part !~ '^events_y[0-9]{4}m[0-9]{2}$' OR to_regclass(part) IS NULL THEN
        RAISE EXCEPTION 'not an event partition: %', part;
    END IF;
    month_end := (to_date(substr(part, 9, 4) || substr(part, 14, 2), 'YYYYMM') + interval '1 month')::timestamp
                 AT TIME ZONE 'UTC';
    IF month_end > older_than THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I e WHERE rtcc_held(e.id, e.plate))', part) INTO held;
    IF held THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT count(*) FROM %I', part) INTO n;
    EXECUTE format('DELETE FROM event_keys k USING %I e WHERE k.id = e.id', part);
    EXECUTE format('DROP TABLE %I', part);
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION rtcc_drop_event_partition(text, timestamptz) FROM PUBLIC;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rtcc_app') THEN
        GRANT EXECUTE ON FUNCTION rtcc_drop_event_partition(text, timestamptz) TO rtcc_app;
    END IF;
END $$;
