-- Monthly partitions of events, [lo, hi], created on demand before every insert. Two ingest
-- workers may need the same new month at once: the loser of the race waits on the advisory lock,
-- then finds the partition already made (its catalog cache may not show it yet, so a
-- duplicate_table error is the signal, not a failure).
-- SECURITY DEFINER: the server's role (rtcc_app, sql/migrations/102) has no right to create tables.
CREATE OR REPLACE FUNCTION rtcc_ensure_event_partitions(lo timestamptz, hi timestamptz)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := date_trunc('month', lo AT TIME ZONE 'UTC')::date;
    name text;
BEGIN
    WHILE m <= (hi AT TIME ZONE 'UTC')::date LOOP
        name := format('events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext(name));
            BEGIN
                EXECUTE format(
                    'CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                    name, (m::timestamp AT TIME ZONE 'UTC'),
                    ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            EXCEPTION WHEN duplicate_table THEN
                NULL;
            END;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END $$;
