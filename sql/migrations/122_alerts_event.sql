-- Alerts name their triggering event in a column (the proximity answer is attached by event id
-- when the proximity worker has computed it: sql/definitions/91_alerts_proximity.sql).
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS event_id bigint;
UPDATE alerts SET event_id = event_ids[1] WHERE event_id IS NULL;
CREATE INDEX IF NOT EXISTS alerts_event ON alerts (event_id) WHERE proximity IS NULL;
