-- Proximity engine, cameras: which cameras can see a location (units: 71_proximity_units.sql;
-- recent context and the whole answer: 72_proximity.sql). Every function returns JSON built here,
-- so the API only wraps bytes.
-- Metres come from geography (WGS 84 spheroid); planar degrees are used only as index prefilters,
-- widened so they never drop a row that the metric test would keep.

-- Box around pt that contains every point within m metres (degrees, padded 1%).
CREATE OR REPLACE FUNCTION rtcc_box_m(pt geometry, m double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Expand(pt, m * 1.01 / (111320 * greatest(cos(radians(least(abs(ST_Y(pt)) + 0.5, 89.9))), 0.001)),
                     m * 1.01 / 110574)
$$;

-- Fewest metres per planar degree in any direction near pt (lower bound, padded 1%): a row farther
-- than d degrees in the KNN order is at least d * this many metres away.
CREATE OR REPLACE FUNCTION rtcc_min_m_per_deg(pt geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 111320 * cos(radians(least(abs(ST_Y(pt)) + 0.5, 89.9))) * 0.99
$$;

-- Does a camera see a point at distance d (metres) and bearing b (degrees, camera -> point)?
-- Directional: |b - heading| <= fov / 2 with wrap at 360, and d <= range. No heading, no fov or
-- fov >= 360: omni-directional. No range: the configured default (metres).
CREATE OR REPLACE FUNCTION rtcc_camera_sees(d double precision, b double precision, heading real, fov real,
                                            range_m real, default_range_m double precision)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT d <= COALESCE(range_m, default_range_m)
           AND (heading IS NULL OR fov IS NULL OR fov >= 360 OR b IS NULL
                OR abs((b - heading) - 360 * floor((b - heading + 180) / 360)) <= fov / 2.0)
$$;

-- Rank a candidate set of cameras: those that see pt first, then by distance; within radius_m.
-- Also returns how many were kept and the farthest kept camera that does not see pt (metres),
-- which the caller uses to prove the candidate set was large enough.
CREATE OR REPLACE FUNCTION rtcc_rank_cameras(pt geometry, ids text[], k integer, radius_m double precision,
                                             default_range_m double precision)
RETURNS TABLE (body json, n integer, far_unseen double precision)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH m AS (
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.snapshot_url, c.contact, c.heading_deg, c.fov_deg, c.range_m,
               ST_Distance(c.geom::geography, pt::geography) AS d,
               degrees(ST_Azimuth(c.geom::geography, pt::geography)) AS b
        FROM cameras c WHERE c.id = ANY(ids)
    ), s AS (
        SELECT m.*, rtcc_camera_sees(m.d, m.b, m.heading_deg, m.fov_deg, m.range_m, default_range_m) AS sees
        FROM m WHERE m.d <= radius_m
    ), top AS (
        SELECT * FROM s ORDER BY s.sees DESC, s.d, s.id LIMIT k
    )
    SELECT COALESCE(json_agg(json_build_object(
               'id', t.id, 'name', t.name, 'distance_m', round(t.d::numeric, 1),
               'bearing_deg', round(t.b::numeric, 1) % 360, 'sees_location', t.sees,
               'owner', t.owner, 'stream_url', t.stream_url, 'snapshot_url', t.snapshot_url, 'contact', t.contact, 'kind', t.kind,
               'heading_deg', t.heading_deg, 'fov_deg', t.fov_deg, 'range_m', t.range_m)
               ORDER BY t.sees DESC, t.d, t.id), '[]'::json),
           count(*)::integer,
           max(t.d) FILTER (WHERE NOT t.sees)
    FROM top t;
END $$;

-- How far (degrees) a point may lie outside a stored cone polygon and still be inside the true
-- cone: the stored cone (rtcc_view_cone) is inscribed, 12 chords per sector and 32 per circle, so
-- the gap is at most one chord's sagitta, range * (1 - cos(chord angle / 2)); padded 10%.
CREATE OR REPLACE FUNCTION rtcc_cone_slack_deg(heading real, fov real, range_m real, lat double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(range_m, 150)
           * (1 - cos(radians(CASE WHEN heading IS NULL OR fov IS NULL OR fov >= 360 THEN 11.25
                                   ELSE fov / 12.0 END) / 2))
           * 1.1 / (111320 * greatest(cos(radians(least(abs(lat) + 0.5, 89.9))), 0.001)) + 1e-7
$$;

-- The k cameras for pt in one statement for the usual case: KNN candidates, cones that may contain
-- the point (cone GiST index, then the cone polygon within its slack), ranking and the JSON, with
-- the numbers that prove the candidate set was large enough: the KNN over-fetch is exact when the
-- metre bound proves it; otherwise every camera within radius_m is ranked.
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
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.snapshot_url, c.contact, c.heading_deg, c.fov_deg, c.range_m,
               c.geom, c.geom <-> pt AS dd
        FROM cameras c ORDER BY c.geom <-> pt LIMIT n
    ), seeing AS (
        -- 0.001 degree covers the slack of cones up to ~2.5 km range
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.snapshot_url, c.contact, c.heading_deg, c.fov_deg, c.range_m, c.geom
        FROM cameras c
        WHERE c.cone && ST_Expand(pt, 0.001)
          AND ST_DWithin(c.cone, pt, rtcc_cone_slack_deg(c.heading_deg, c.fov_deg, c.range_m, ST_Y(pt)))
        UNION ALL  -- stored cones of cameras without a range are 150 m: look farther
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.snapshot_url, c.contact, c.heading_deg, c.fov_deg, c.range_m, c.geom
        FROM cameras c
        WHERE default_range_m > 150 AND c.geom && rtcc_box_m(pt, default_range_m) AND c.range_m IS NULL
    ), m AS MATERIALIZED (  -- materialized: d and b are computed once and rtcc_camera_sees is inlined
        SELECT DISTINCT ON (u.id) u.*, ST_Distance(u.geom::geography, pt::geography) AS d,
               degrees(ST_Azimuth(u.geom::geography, pt::geography)) AS b
        FROM (SELECT id, name, kind, owner, stream_url, snapshot_url, contact, heading_deg, fov_deg, range_m, geom FROM knn
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
               'owner', t.owner, 'stream_url', t.stream_url, 'snapshot_url', t.snapshot_url, 'contact', t.contact, 'kind', t.kind,
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
