-- Reverse geocoding, second version (replaces sql/011's geocode_reverse). As before: an address
-- point within point_m metres answers; else the house number interpolated on the nearest named,
-- addressed segment within max_m (side by cross product). New: a point beside a main road is often
-- a few metres nearer a side street's centreline than its own road's (Pulaski Hwy, Holabird Ave).
-- When the nearest address point (within hint_m metres) is on a street whose segment is no more
-- than slack_m farther than the nearest one, that street's segment is taken: the city's own
-- points say which street the houses here face. bench/geocode.py measures it on held-out points.
DROP FUNCTION IF EXISTS geocode_reverse(float8, float8, float8, float8);
CREATE OR REPLACE FUNCTION geocode_reverse(lon float8, lat float8, point_m float8 DEFAULT 30, max_m float8 DEFAULT 200,
                                           hint_m float8 DEFAULT 75, slack_m float8 DEFAULT 20)
RETURNS TABLE (match_type text, number int, key text, geom geometry, distance_m float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS p),
    ap AS (
        SELECT 'address_point'::text AS match_type, a.number, a.key, a.geom,
               ST_Distance(a.geom::geography, p.p::geography) AS distance_m
        FROM p, LATERAL (SELECT * FROM geo_addresses a ORDER BY a.geom <-> p.p LIMIT 1) a
    ), near AS (
        SELECT s.id, s.geom, g.key, g.l_from, g.l_to, g.r_from, g.r_to,
               ST_Distance(s.geom::geography, p.p::geography) AS distance_m,
               ST_LineLocatePoint(s.geom, p.p) AS t, p.p
        FROM p, LATERAL (SELECT s.id, s.geom FROM streets s ORDER BY s.geom <-> p.p LIMIT 16) s
        JOIN geo_segments g ON g.street_id = s.id
        WHERE NOT g.alley AND (g.l_from <> 0 OR g.r_from <> 0 OR g.l_to <> 0 OR g.r_to <> 0)
          AND ST_DWithin(s.geom::geography, p.p::geography, max_m)
    ), seg AS (
        SELECT near.* FROM near
        ORDER BY (near.key = (SELECT ap.key FROM ap WHERE ap.distance_m <= hint_m)
                  AND near.distance_m <= (SELECT min(n.distance_m) FROM near n) + slack_m) IS TRUE DESC,
                 near.distance_m
        LIMIT 1
    ), rng AS (
        SELECT 'range'::text, nn.num, seg.key, n.geom, seg.distance_m
        FROM seg,
        LATERAL (SELECT CASE WHEN sign(((ST_X(b) - ST_X(a)) * (ST_Y(seg.p) - ST_Y(a))
                                      - (ST_Y(b) - ST_Y(a)) * (ST_X(seg.p) - ST_X(a)))) >= 0 THEN 1 ELSE -1 END AS sd
                 FROM (SELECT ST_LineInterpolatePoint(seg.geom, greatest(seg.t - 0.05, 0.0)) AS a,
                              ST_LineInterpolatePoint(seg.geom, least(seg.t + 0.05, 1.0)) AS b) ab) s1,
        LATERAL (SELECT CASE WHEN s1.sd = 1 AND (seg.l_from <> 0 OR seg.l_to <> 0) OR seg.r_from = 0 AND seg.r_to = 0
                             THEN 1 ELSE -1 END AS sd) s2,
        LATERAL (SELECT f + t * (e - f) AS x, f
                 FROM (SELECT CASE WHEN s2.sd = 1 THEN seg.l_from ELSE seg.r_from END AS f,
                              CASE WHEN s2.sd = 1 THEN seg.l_to ELSE seg.r_to END AS e, seg.t AS t) r) x,
        LATERAL (SELECT (2 * round((x.x - x.f) / 2.0) + x.f)::int AS num) nn,
        LATERAL (SELECT geocode_interpolate(seg.geom, geocode_fraction(nn.num, s2.sd, seg.l_from, seg.l_to,
                                                                      seg.r_from, seg.r_to), s2.sd, 12) AS geom) n
    )
    SELECT * FROM ap WHERE ap.distance_m <= point_m
    UNION ALL
    SELECT * FROM rng WHERE NOT EXISTS (SELECT 1 FROM ap WHERE ap.distance_m <= point_m);
END $$;
