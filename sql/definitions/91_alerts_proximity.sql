-- An alert gets the proximity answer of its event (cameras that see the spot, nearest units with
-- ETA) the moment the proximity worker stores it: routing takes far too long (~0.1-0.5 s) to run
-- inside the ingest transaction. The alert's update is announced on the bus (`event: alert`), which
-- wakes the outbox, whose deliveries wait a few seconds for it (services/alerts/outbox.py).
CREATE OR REPLACE FUNCTION rtcc_alerts_attach_proximity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
    WITH u AS (UPDATE alerts SET proximity = NEW.result WHERE event_id = NEW.event_id AND proximity IS NULL
               RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO ids FROM u;
    IF ids IS NOT NULL THEN
        PERFORM rtcc_live_publish('alert', jsonb_build_object('ids', ids));  -- also wakes the outbox
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER proximity_results_alerts AFTER INSERT OR UPDATE ON proximity_results
    FOR EACH ROW EXECUTE FUNCTION rtcc_alerts_attach_proximity();
