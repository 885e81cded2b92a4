-- Geocoder geometry in SQL, next to the data: which side of a centreline segment a house number
-- lies on (the city's left/right ranges are relative to the digitised direction; the side whose
-- range parity matches wins), where along the segment (linear interpolation of the range), and
-- the point offset from the centreline towards the buildings. Metric work in EPSG:26985
-- (NAD83 / Maryland, metres).

-- All plpgsql: a SQL function that cannot be inlined is planned again on every call, which
-- cost ~0.7 ms per interpolated address; plpgsql keeps its plans.

-- +1 left, -1 right, 0 when the ranges do not tell (no parity match on exactly one side).
CREATE OR REPLACE FUNCTION geocode_side(num int, l_from int, l_to int, r_from int, r_to int) RETURNS int
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    l_any bool := l_from <> 0 OR l_to <> 0;
    r_any bool := r_from <> 0 OR r_to <> 0;
    lp bool := l_any AND l_from % 2 = num % 2 AND l_to % 2 = num % 2;
    rp bool := r_any AND r_from % 2 = num % 2 AND r_to % 2 = num % 2;
    li bool := l_any AND num BETWEEN least(l_from, l_to) AND greatest(l_from, l_to);
    ri bool := r_any AND num BETWEEN least(r_from, r_to) AND greatest(r_from, r_to);
BEGIN
    RETURN CASE WHEN lp AND NOT rp THEN 1 WHEN rp AND NOT lp THEN -1
                WHEN li AND NOT ri THEN 1 WHEN ri AND NOT li THEN -1 ELSE 0 END;
END $$;

-- Fraction (0..1) of the way along the digitised direction where the number falls on that side.
CREATE OR REPLACE FUNCTION geocode_fraction(num int, side int, l_from int, l_to int, r_from int, r_to int)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE t float8;
BEGIN
    t := CASE WHEN side = 1 THEN (num - l_from)::float8 / nullif(l_to - l_from, 0)
              WHEN side = -1 THEN (num - r_from)::float8 / nullif(r_to - r_from, 0)
              ELSE (num - least(l_from, r_from))::float8 / nullif(greatest(l_to, r_to) - least(l_from, r_from), 0) END;
    RETURN CASE WHEN t IS NULL THEN 0.5 ELSE greatest(0.0, least(1.0, t)) END;
END $$;

-- The point at fraction t along g, moved offset_m metres to the left (side 1) or right (-1).
CREATE OR REPLACE FUNCTION geocode_interpolate(g geometry, t float8, side int, offset_m float8)
RETURNS geometry LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m geometry := ST_Transform(g, 26985);
    p0 geometry := ST_LineInterpolatePoint(m, t);
    a geometry; b geometry; d float8;
BEGIN
    IF side = 0 THEN RETURN ST_Transform(p0, 4326); END IF;
    a := ST_LineInterpolatePoint(m, greatest(t - 0.05, 0.0));
    b := ST_LineInterpolatePoint(m, least(t + 0.05, 1.0));
    d := ST_Distance(a, b);
    IF d = 0 THEN RETURN ST_Transform(p0, 4326); END IF;
    -- left normal of the direction (dx, dy) is (-dy, dx)
    RETURN ST_Transform(ST_Translate(p0, side * offset_m * -(ST_Y(b) - ST_Y(a)) / d,
                                         side * offset_m * (ST_X(b) - ST_X(a)) / d), 4326);
END $$;

-- Point of house number num on segment street_id (range interpolation, side offset).
CREATE OR REPLACE FUNCTION geocode_range_point(street_id int, num int, offset_m float8 DEFAULT 12)
RETURNS TABLE (geom geometry, side int, parity_ok boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT geocode_interpolate(s.geom, geocode_fraction(num, x.sd, g.l_from, g.l_to, g.r_from, g.r_to),
                               x.sd, offset_m), x.sd, x.sd <> 0
    FROM geo_segments g JOIN streets s ON s.id = g.street_id,
         LATERAL (SELECT geocode_side(num, g.l_from, g.l_to, g.r_from, g.r_to) AS sd) x
    WHERE g.street_id = geocode_range_point.street_id;
END $$;

-- Middle of a block face: the point nearest the centroid of the block's segments (those numbered
-- for the block or whose ranges overlap it), taking the longest connected group (segments within
-- 30 m) when the data scatter the same block number along the street.
CREATE OR REPLACE FUNCTION geocode_block_point(k text, block int) RETURNS geometry
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE c geometry;
BEGIN
    WITH segs AS (
        SELECT s.geom, ST_Length(s.geom::geography) AS len,
               ST_ClusterDBSCAN(ST_Transform(s.geom, 26985), 30, 1) OVER () AS grp
        FROM geo_segments g JOIN streets s ON s.id = g.street_id
        WHERE g.key = k AND NOT g.alley
          AND (g.block_num = block
               OR greatest(g.l_from, g.l_to, g.r_from, g.r_to) >= block
                  AND least(nullif(least(g.l_from, g.l_to), 0), nullif(least(g.r_from, g.r_to), 0)) < block + 100)
    )
    SELECT ST_Collect(geom) INTO c FROM segs
    WHERE grp = (SELECT grp FROM segs GROUP BY grp ORDER BY sum(len) DESC LIMIT 1);
    RETURN CASE WHEN c IS NULL THEN NULL ELSE ST_ClosestPoint(c, ST_Centroid(c)) END;
END $$;

-- Nearest address for a point: an address point within point_m metres, else the house number
-- interpolated on the nearest named, addressed segment within max_m metres (side by cross product).
CREATE OR REPLACE FUNCTION geocode_reverse(lon float8, lat float8, point_m float8 DEFAULT 30, max_m float8 DEFAULT 200)
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
    ), seg AS (
        SELECT s.id, s.geom, g.key, g.l_from, g.l_to, g.r_from, g.r_to,
               ST_Distance(s.geom::geography, p.p::geography) AS distance_m,
               ST_LineLocatePoint(s.geom, p.p) AS t, p.p
        FROM p, LATERAL (SELECT s.id, s.geom FROM streets s ORDER BY s.geom <-> p.p LIMIT 16) s
        JOIN geo_segments g ON g.street_id = s.id
        WHERE NOT g.alley AND (g.l_from <> 0 OR g.r_from <> 0 OR g.l_to <> 0 OR g.r_to <> 0)
          AND ST_DWithin(s.geom::geography, p.p::geography, max_m)
        ORDER BY distance_m LIMIT 1
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
