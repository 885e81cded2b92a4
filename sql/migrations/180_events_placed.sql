-- An analyst can place an event its feed could not locate (POST /api/events/{id}/location): the
-- position is then 'placed' (by a person), beside given / camera / geocoded / failed / none (140: a tip
-- that came with no location).
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_loc_method_check;
ALTER TABLE events ADD CONSTRAINT events_loc_method_check
    CHECK (loc_method IN ('given', 'camera', 'geocoded', 'failed', 'none', 'placed'));

-- The unlocated_events collection (layers/catalog.py) lists events with no position; they are few,
-- and this partial index finds them without scanning every monthly partition.
CREATE INDEX IF NOT EXISTS events_unlocated ON events (observed_at) WHERE geom IS NULL;
