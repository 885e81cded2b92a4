-- Nearest cameras in one statement for the usual case: KNN candidates, cones that may contain the
-- point, ranking and the JSON, with the numbers that prove the candidate set was large enough
-- (031 ran these as four statements and a nested function: ~0.25 ms of plpgsql per answer).
-- Same answer as 031's rtcc_nearest_cameras; the proof and the fallback are unchanged.
CREATE OR REPLACE FUNCTION rtcc_nearest_cameras(pt geometry, k integer, radius_m double precision,
                                                default_range_m double precision DEFAULT 150)
RETURNS json LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan  -- planning it per call costs more than running it
AS $$
DECLARE
    n integer := k + 10;
    r record;
    bound double precision;
BEGIN
    IF k <= 0 THEN
        RETURN '[]'::json;
    END IF;
    WITH knn AS MATERIALIZED (
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.contact, c.heading_deg, c.fov_deg, c.range_m,
               c.geom, c.geom <-> pt AS dd
        FROM cameras c ORDER BY c.geom <-> pt LIMIT n
    ), seeing AS (
        -- 0.001 degree covers the slack of cones up to ~2.5 km range
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.contact, c.heading_deg, c.fov_deg, c.range_m, c.geom
        FROM cameras c
        WHERE c.cone && ST_Expand(pt, 0.001)
          AND ST_DWithin(c.cone, pt, rtcc_cone_slack_deg(c.heading_deg, c.fov_deg, c.range_m, ST_Y(pt)))
        UNION ALL  -- stored cones of cameras without a range are 150 m: look farther
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.contact, c.heading_deg, c.fov_deg, c.range_m, c.geom
        FROM cameras c
        WHERE default_range_m > 150 AND c.geom && rtcc_box_m(pt, default_range_m) AND c.range_m IS NULL
    ), m AS MATERIALIZED (  -- materialized: d and b are computed once and rtcc_camera_sees is inlined
        SELECT DISTINCT ON (u.id) u.*, ST_Distance(u.geom::geography, pt::geography) AS d,
               degrees(ST_Azimuth(u.geom::geography, pt::geography)) AS b
        FROM (SELECT id, name, kind, owner, stream_url, contact, heading_deg, fov_deg, range_m, geom FROM knn
              UNION ALL SELECT * FROM seeing) u
        ORDER BY u.id
    ), top AS (
        SELECT s.* FROM (
            SELECT m.*, rtcc_camera_sees(m.d, m.b, m.heading_deg, m.fov_deg, m.range_m, default_range_m) AS sees
            FROM m WHERE m.d <= radius_m) s
        ORDER BY s.sees DESC, s.d, s.id LIMIT k
    )
    SELECT COALESCE(json_agg(json_build_object(
               'id', t.id, 'name', t.name, 'distance_m', round(t.d::numeric, 1),
               'bearing_deg', round(t.b::numeric, 1) % 360, 'sees_location', t.sees,
               'owner', t.owner, 'stream_url', t.stream_url, 'contact', t.contact, 'kind', t.kind,
               'heading_deg', t.heading_deg, 'fov_deg', t.fov_deg, 'range_m', t.range_m)
               ORDER BY t.sees DESC, t.d, t.id), '[]'::json) AS body,
           count(*)::integer AS kept,
           max(t.d) FILTER (WHERE NOT t.sees) AS far_unseen,
           (SELECT max(dd) FROM knn) AS dn,
           (SELECT count(*) FROM knn) AS cnt
    INTO r
    FROM top t;
    bound := COALESCE(r.dn, 0) * rtcc_min_m_per_deg(pt);  -- every camera not fetched is at least this far
    IF r.cnt < n OR (COALESCE(r.far_unseen, 0) <= bound AND (r.kept >= k OR radius_m <= bound)) THEN
        RETURN r.body;
    END IF;
    -- Not proven: rank every camera within radius_m (and those whose cone may contain pt).
    SELECT * INTO r FROM rtcc_rank_cameras(pt, ARRAY(
        SELECT c.id FROM cameras c
        WHERE c.geom && rtcc_box_m(pt, radius_m) AND ST_DWithin(c.geom::geography, pt::geography, radius_m)
        UNION
        SELECT c.id FROM cameras c
        WHERE c.cone && ST_Expand(pt, 0.001)
          AND ST_DWithin(c.cone, pt, rtcc_cone_slack_deg(c.heading_deg, c.fov_deg, c.range_m, ST_Y(pt)))
        UNION
        SELECT c.id FROM cameras c
        WHERE default_range_m > 150 AND c.geom && rtcc_box_m(pt, default_range_m) AND c.range_m IS NULL
        ), k, radius_m, default_range_m);
    RETURN r.body;
END $$;
