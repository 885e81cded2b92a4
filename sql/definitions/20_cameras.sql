-- Camera view cones, stored with each camera (cameras.cone) and kept by a trigger.

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

CREATE OR REPLACE FUNCTION rtcc_cameras_cone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.cone := rtcc_view_cone(NEW.geom, NEW.heading_deg, NEW.fov_deg, NEW.range_m);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER cameras_cone BEFORE INSERT OR UPDATE OF geom, heading_deg, fov_deg, range_m ON cameras
    FOR EACH ROW EXECUTE FUNCTION rtcc_cameras_cone();

-- Cones of cameras stored before this definition (or under an earlier one) are brought up to date.
UPDATE cameras c SET cone = v.cone
FROM (SELECT id, rtcc_view_cone(geom, heading_deg, fov_deg, range_m) AS cone FROM cameras) v
WHERE v.id = c.id AND c.cone IS DISTINCT FROM v.cone;
