-- Views behind the map layers (declared in layers/catalog.py) and camera view cones.

-- View cone of a camera: heading ± fov/2 out to range_m (metres, on the geography), or a circle
-- of range_m (default 150 m) for cameras with no published heading (PTZ/omni-directional).
CREATE OR REPLACE FUNCTION rtcc_view_cone(pt geometry, heading real, fov real, range_m real,
                                          default_range real DEFAULT 150)
RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN heading IS NULL OR fov IS NULL OR fov >= 360 THEN
            ST_Buffer(pt::geography, COALESCE(range_m, default_range), 8)::geometry
        ELSE
            ST_MakePolygon(ST_MakeLine(
                ARRAY[pt]
                || ARRAY(SELECT ST_Project(pt::geography, COALESCE(range_m, default_range),
                                           radians(heading - fov / 2 + fov * i / 12.0))::geometry
                         FROM generate_series(0, 12) AS i)
                || ARRAY[pt]))
    END
$$;

ALTER TABLE cameras ADD COLUMN IF NOT EXISTS cone geometry(Polygon, 4326);
CREATE INDEX IF NOT EXISTS cameras_cone_gist ON cameras USING gist (cone);

CREATE OR REPLACE FUNCTION rtcc_cameras_cone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.cone := rtcc_view_cone(NEW.geom, NEW.heading_deg, NEW.fov_deg, NEW.range_m);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS cameras_cone ON cameras;
CREATE TRIGGER cameras_cone BEFORE INSERT OR UPDATE OF geom, heading_deg, fov_deg, range_m ON cameras
    FOR EACH ROW EXECUTE FUNCTION rtcc_cameras_cone();
UPDATE cameras SET cone = rtcc_view_cone(geom, heading_deg, fov_deg, range_m) WHERE cone IS NULL;

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

CREATE OR REPLACE VIEW units_current AS
    SELECT id, callsign, type, status, district, heading_deg, speed_kmh, observed_at,
           extract(epoch FROM now() - observed_at)::int AS position_age_s, geom
    FROM units WHERE geom IS NOT NULL;

CREATE OR REPLACE VIEW camera_cones AS
    SELECT id, name, kind, owner, project, heading_deg, fov_deg, range_m, status, cone AS geom
    FROM cameras;
