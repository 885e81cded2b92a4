-- Views behind the map layers of events, units and cameras (declared in layers/catalog.py).

CREATE OR REPLACE VIEW alpr_reads AS
    SELECT id, feed_id, observed_at, received_at, plate, attrs->>'state' AS state,
           attrs->>'camera_id' AS camera_id, (attrs->>'confidence')::real AS confidence,
           district, beat, loc_method, h3_r9, geom
    FROM events WHERE kind = 'alpr_read';

CREATE OR REPLACE VIEW gunshots AS
    SELECT id, feed_id, observed_at, received_at, (attrs->>'rounds')::int AS rounds,
           (attrs->>'confidence')::real AS confidence, address, district, beat, loc_method, loc_score,
           h3_r9, geom
    FROM events WHERE kind = 'gunshot';

CREATE OR REPLACE VIEW cad_incidents AS
    SELECT id, feed_id, observed_at, received_at, type, priority, address, attrs->>'description' AS description,
           district, beat, loc_method, loc_score, h3_r9, geom
    FROM events WHERE kind = 'cad_incident';

CREATE OR REPLACE VIEW calls AS
    SELECT id, feed_id, observed_at, received_at, type, priority, address, district, beat, loc_method,
           loc_score, h3_r9, geom
    FROM events WHERE kind = 'call';

-- incident_id: the CAD number the feed sent; incident_event_id: that incident in the event store
-- (what the map opens), when it has arrived.
CREATE OR REPLACE VIEW units_current AS
    SELECT u.id, u.callsign, u.type, u.status, u.district, u.heading_deg, u.speed_kmh, u.observed_at,
           extract(epoch FROM now() - u.observed_at)::int AS position_age_s, u.geom,
           u.incident_id, k.id AS incident_event_id
    FROM units u
    LEFT JOIN event_keys k ON u.incident_id IS NOT NULL AND k.feed = 'cad' AND k.feed_id = u.incident_id
    WHERE u.geom IS NOT NULL;

CREATE OR REPLACE VIEW camera_cones AS
    SELECT id, name, kind, owner, project, heading_deg, fov_deg, range_m, status, cone AS geom
    FROM cameras;

-- Basemap parks: the neighbourhood areas the city classes as park/open space.
CREATE OR REPLACE VIEW parks AS
    SELECT id, name, geom FROM neighborhoods WHERE type ILIKE 'park%';
