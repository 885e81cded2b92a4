-- The non-spatial collection of events that have no position yet (an address the geocoder could
-- not place): analysts place them from the map (POST /api/events/{id}/location). ALPR reads always
-- have their camera's position, so they never appear here. geom is always NULL (the provider
-- serves "geometry": null for a layer without a geometry type).
CREATE OR REPLACE VIEW unlocated_events AS
    SELECT id, feed, feed_id, kind, observed_at, received_at, type, priority, address,
           attrs->>'description' AS description, loc_score, geom
    FROM events WHERE geom IS NULL AND kind <> 'alpr_read';
