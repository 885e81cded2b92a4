-- Geocoder matching, in SQL next to the data: house numbers on centreline segments, block faces,
-- the candidate search of forward geocoding and reverse geocoding. Metric work in EPSG:26985
-- (NAD83 / Maryland, metres). All plpgsql: a SQL function that cannot be inlined is planned again
-- on every call, which cost ~0.7 ms per interpolated address; plpgsql keeps its plans.

-- Which side of a centreline segment a house number lies on: the city's left/right ranges are
-- relative to the digitised direction; the side whose range parity matches wins.
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

-- Whether a side whose range holds the number also has its parity (1101 on 1101-1199, not on
-- 1100-1198): a divided road or a street the data split lengthwise carries the same hundred on
-- two segments, one per side, and only the parity says which one the house faces.
CREATE OR REPLACE FUNCTION geocode_parity_fits(num int, l_from int, l_to int, r_from int, r_to int) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (l_from <> 0 OR l_to <> 0) AND num BETWEEN least(l_from, l_to) AND greatest(l_from, l_to)
               AND l_from % 2 = num % 2 AND l_to % 2 = num % 2
        OR (r_from <> 0 OR r_to <> 0) AND num BETWEEN least(r_from, r_to) AND greatest(r_from, r_to)
               AND r_from % 2 = num % 2 AND r_to % 2 = num % 2;
END $$;

-- The width of the narrowest side range holding the number (an empty side, 0-0, is no range).
CREATE OR REPLACE FUNCTION geocode_range_width(num int, l_from int, l_to int, r_from int, r_to int) RETURNS int
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN least(CASE WHEN (l_from <> 0 OR l_to <> 0) AND num BETWEEN least(l_from, l_to) AND greatest(l_from, l_to)
                      THEN abs(l_to - l_from) END,
                 CASE WHEN (r_from <> 0 OR r_to <> 0) AND num BETWEEN least(r_from, r_to) AND greatest(r_from, r_to)
                      THEN abs(r_to - r_from) END);
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

-- Whether a side's numbers rise along the digitised direction (side 0: the ranges together).
CREATE OR REPLACE FUNCTION geocode_rising(side int, l_from int, l_to int, r_from int, r_to int) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN CASE WHEN side = 1 THEN l_to >= l_from WHEN side = -1 THEN r_to >= r_from ELSE true END;
END $$;

-- Houses rarely fill a block's whole range (1500-1598 is printed, 1501-1547 is built) and stand
-- back from the corners, so the linear fraction of the range puts low numbers too near the block's
-- start and high ones too near its end. The fraction u (along the digitised direction) is mapped,
-- counted from the low-number end, to range_a + range_b * fraction, a least-squares fit of where
-- the city's own address points lie along their segments, but moved no more than max_shift_m
-- metres from the linear position on a segment len_m long (geocode_refresh_calibration).
-- Returns the position along the digitised direction (0..1).
CREATE OR REPLACE FUNCTION geocode_calibrated(u float8, rising boolean, len_m float8) RETURNS float8
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    c geocode_calibration;
    v float8 := CASE WHEN rising THEN u ELSE 1 - u END;
    shift float8;
BEGIN
    SELECT * INTO c FROM geocode_calibration;
    IF NOT FOUND OR len_m IS NULL OR len_m <= 0 THEN RETURN u; END IF;
    shift := greatest(-c.max_shift_m / len_m, least(c.max_shift_m / len_m, c.range_a + (c.range_b - 1) * v));
    v := greatest(0.0, least(1.0, v + shift));
    RETURN CASE WHEN rising THEN v ELSE 1 - v END;
END $$;

-- The inverse for reverse geocoding: the linear fraction u whose calibrated position is t.
CREATE OR REPLACE FUNCTION geocode_uncalibrated(t float8, rising boolean, len_m float8) RETURNS float8
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    c geocode_calibration;
    p float8 := CASE WHEN rising THEN t ELSE 1 - t END;
    m float8;
    v float8;
BEGIN
    SELECT * INTO c FROM geocode_calibration;
    IF NOT FOUND OR len_m IS NULL OR len_m <= 0 OR c.range_b <= 0 THEN RETURN t; END IF;
    m := c.max_shift_m / len_m;
    v := (p - c.range_a) / c.range_b;                      -- where the shift is not capped
    IF c.range_a + (c.range_b - 1) * v > m THEN v := p - m;
    ELSIF c.range_a + (c.range_b - 1) * v < -m THEN v := p + m;
    END IF;
    v := greatest(0.0, least(1.0, v));
    RETURN CASE WHEN rising THEN v ELSE 1 - v END;
END $$;

-- Point of house number num on segment street_id (range interpolation, calibrated unless
-- calibrated is false; side offset: offset_m metres, by default the calibrated median setback of
-- the city's address points).
CREATE OR REPLACE FUNCTION geocode_range_point(street_id int, num int, offset_m float8 DEFAULT NULL,
                                               calibrated boolean DEFAULT true)
RETURNS TABLE (geom geometry, side int, parity_ok boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT geocode_interpolate(s.geom,
               CASE WHEN calibrated THEN geocode_calibrated(geocode_fraction(num, x.sd, g.l_from, g.l_to, g.r_from, g.r_to),
                                                            geocode_rising(x.sd, g.l_from, g.l_to, g.r_from, g.r_to),
                                                            ST_Length(s.geom::geography))
                    ELSE geocode_fraction(num, x.sd, g.l_from, g.l_to, g.r_from, g.r_to) END,
                               x.sd, coalesce(offset_m, (SELECT c.offset_m FROM geocode_calibration c), 12)),
           x.sd, x.sd <> 0
    FROM geo_segments g JOIN streets s ON s.id = g.street_id,
         LATERAL (SELECT geocode_side(num, g.l_from, g.l_to, g.r_from, g.r_to) AS sd) x
    WHERE g.street_id = geocode_range_point.street_id;
END $$;

-- The calibration of range interpolation from the reference (called when streets or addresses
-- change): each address point against the nearest segment of its street whose range holds its
-- number on the side its parity gives (within 150 m); its position along that segment regressed
-- on the number's fraction of the range (both counted from the low-number end), the cap on the
-- shift chosen (10..150 m by 10, or none) for the least mean distance along the segment between
-- estimate and point, and the median distance of the points from the centreline. Fewer than 200
-- such points keep linear interpolation and 12 m; the fit is bounded to a sane shape (start within
-- the first 45%, positions within 0..1).
CREATE OR REPLACE FUNCTION geocode_refresh_calibration() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE a float8; b float8; o float8; m float8; n int;
BEGIN
    DROP TABLE IF EXISTS pg_temp.geocode_calib_points;
    CREATE TEMP TABLE geocode_calib_points ON COMMIT DROP AS
    WITH p AS (
        SELECT geocode_rising(g.sd, g.l_from, g.l_to, g.r_from, g.r_to) AS rising,
               geocode_fraction(x.number, g.sd, g.l_from, g.l_to, g.r_from, g.r_to) AS u,
               ST_LineLocatePoint(g.geom, x.geom) AS t, ST_Length(g.geom::geography) AS len,
               ST_Distance(g.geom::geography, x.geom::geography) AS d
        FROM geo_addresses x
        CROSS JOIN LATERAL (
            SELECT g.l_from, g.l_to, g.r_from, g.r_to, s.geom,
                   geocode_side(x.number, g.l_from, g.l_to, g.r_from, g.r_to) AS sd
            FROM geo_segments g JOIN streets s ON s.id = g.street_id
            WHERE g.key = x.key AND NOT g.alley
              AND ((g.l_from <> 0 OR g.l_to <> 0) AND x.number BETWEEN least(g.l_from, g.l_to) AND greatest(g.l_from, g.l_to)
                OR (g.r_from <> 0 OR g.r_to <> 0) AND x.number BETWEEN least(g.r_from, g.r_to) AND greatest(g.r_from, g.r_to))
              AND ST_DWithin(s.geom::geography, x.geom::geography, 150)
            ORDER BY s.geom <-> x.geom LIMIT 1) g
        WHERE g.sd <> 0
    )
    SELECT CASE WHEN rising THEN u ELSE 1 - u END AS v, CASE WHEN rising THEN t ELSE 1 - t END AS tl, len, d
    FROM p WHERE len > 0;
    SELECT regr_intercept(tl, v), regr_slope(tl, v), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), count(*)
    INTO a, b, o, n FROM geocode_calib_points;
    IF n < 200 OR a IS NULL OR b IS NULL THEN
        a := 0; b := 1; o := 12; m := 0;
    ELSE
        a := least(greatest(a, 0.0), 0.45);
        b := least(greatest(b, 0.1), 1 - a);
        o := least(greatest(o, 5.0), 30.0);
        SELECT cap INTO m FROM (
            SELECT cap, avg(abs(greatest(-cap, least(cap, (a + (b - 1) * v) * len)) + v * len - tl * len)) AS err
            FROM geocode_calib_points, (SELECT generate_series(10, 150, 10)::float8 AS cap UNION ALL SELECT 1e9) caps
            GROUP BY cap) e
        ORDER BY err, cap LIMIT 1;
    END IF;
    UPDATE geocode_calibration SET range_a = a, range_b = b, max_shift_m = m, offset_m = o, points = n;
    DROP TABLE pg_temp.geocode_calib_points;
END $$;

-- Middle of a block face: the segments of the street numbered for the block or whose ranges
-- overlap it, grouped where they lie within 30 m of each other; the group with the most length
-- wins (the data scatter a block number along a street in places), and the answer is the point of
-- the group nearest its centroid. The street's own unnumbered pieces (no ranges, no block number)
-- within 100 m of the block join the grouping as links only, so a block face the data cut by an
-- unnumbered piece (a short stretch past a side street, a median opening) is one face and its
-- middle the middle of the whole, not the middle of its longer half. Lengths in metres.
CREATE OR REPLACE FUNCTION geocode_block_point(k text, block int) RETURNS geometry
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE c geometry;
BEGIN
    WITH seg AS (
        SELECT s.geom, g.block_num,
               least(nullif(least(g.l_from, g.l_to), 0), nullif(least(g.r_from, g.r_to), 0)) AS lo,
               greatest(g.l_from, g.l_to, g.r_from, g.r_to) AS hi,
               CASE WHEN g.l_from <> 0 OR g.l_to <> 0 THEN g.l_to >= g.l_from ELSE g.r_to >= g.r_from END AS rising
        FROM geo_segments g JOIN streets s ON s.id = g.street_id
        WHERE g.key = k AND NOT g.alley
    ), blk AS MATERIALIZED (
        -- a segment numbered over several blocks (5100-6098) counts with the block's share only
        SELECT p.geom, ST_Transform(p.geom, 26985) AS gm
        FROM seg,
        LATERAL (SELECT greatest(0.0, least(1.0, (block - lo)::float8 / nullif(hi - lo, 0))) AS f0,
                        greatest(0.0, least(1.0, (block + 99 - lo)::float8 / nullif(hi - lo, 0))) AS f1) f,
        LATERAL (SELECT CASE WHEN lo IS NULL OR hi - lo <= 100 OR hi < block OR lo >= block + 100 THEN seg.geom
                             WHEN rising THEN ST_LineSubstring(seg.geom, f.f0, f.f1)
                             ELSE ST_LineSubstring(seg.geom, 1 - f.f1, 1 - f.f0) END AS geom) p
        WHERE block_num = block OR hi >= block AND lo < block + 100
    ), g0 AS MATERIALIZED (
        SELECT ST_ClusterDBSCAN(gm, 30, 1) OVER () AS grp FROM blk
    ), links AS (
        -- looked up only when the block falls apart; the box (2e-3 degrees, >= 170 m here) only
        -- lets the street index prefilter, the 100 m test is metric
        SELECT ST_Transform(s.geom, 26985) AS gm
        FROM geo_segments g JOIN streets s ON s.id = g.street_id
        WHERE (SELECT max(grp) FROM g0) > 0
          AND g.key = k AND NOT g.alley AND g.l_from = 0 AND g.l_to = 0 AND g.r_from = 0 AND g.r_to = 0
          AND coalesce(g.block_num, -1) <= 0
          AND s.geom && (SELECT ST_Expand(ST_Extent(geom), 2e-3) FROM blk)
    ), used AS (
        SELECT gm, true AS inblock FROM blk
        UNION ALL
        SELECT l.gm, false FROM links l WHERE EXISTS (SELECT 1 FROM blk b WHERE ST_DWithin(b.gm, l.gm, 100))
    ), grouped AS (
        SELECT gm, inblock, ST_Length(gm) AS len, ST_ClusterDBSCAN(gm, 30, 1) OVER () AS grp FROM used
    )
    SELECT ST_Collect(gm) INTO c FROM grouped
    WHERE inblock AND grp = (SELECT grp FROM grouped WHERE inblock GROUP BY grp ORDER BY sum(len) DESC LIMIT 1);
    RETURN CASE WHEN c IS NULL THEN NULL ELSE ST_Transform(ST_ClosestPoint(c, ST_Centroid(c)), 4326) END;
END $$;

-- The candidate search of forward geocoding (geo/geocode_match.py) as one plpgsql function: one
-- round trip per batch, and a plan kept across calls (plan_cache_mode = force_generic_plan:
-- re-planning this statement for every call cost 3-10 ms, its execution 1-2 ms). Inputs are
-- parallel arrays: one row per query (index, kind, house/block number, street-spec ids of the
-- street and the cross street) and one per distinct street spec (pre-directional, name, type,
-- post-directional, alternative name).
--
-- Scoring (0..1): a street candidate starts from its name similarity (1 exact; else the best of
-- trigram similarity and 1 - edit distance / length, scaled by 0.8; 0.8 for a name cut at the
-- front), minus 0.02..0.45 for directional and 0.04..0.12 for street-type disagreements; kept
-- from 0.45. Match types then multiply: address point 1.0, between address points 0.97, beyond
-- the last address points 0.96, centreline range 0.95 (0.85 when the parity fits neither side),
-- block face 0.92, named junction of exactly the two streets ('intersection') 0.98, named
-- junction of more streets ('junction') 0.93, network crossing ('crossing', geocode_refresh_crossings)
-- 0.95, or 0.85 across a gap (two streets that stop short of each other, nodes 0); geo.geocode
-- reconciles crossings with named intersections nearby. extent_m is a crossing's radius in metres
-- (how far its nodes lie from the point; 0 for every other match type). Interpolated house
-- numbers are placed by the calibrated range position and setback (geocode_calibrated,
-- geocode_calibration) on their side of the centreline.
CREATE OR REPLACE FUNCTION geocode_search_candidates(
    p_qi int[], p_kind text[], p_num int[], p_s0 int[], p_s1 int[],
    p_sid int[], p_pre text[], p_name text[], p_typ text[], p_suf text[], p_alt text[])
RETURNS TABLE (i int, key text, match_type text, lon float8, lat float8, score float8, extent_m float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH q AS (
        SELECT * FROM unnest(p_qi, p_kind, p_num, p_s0, p_s1)
            AS q(i, kind, num, s0, s1)
    ), spec0 AS (
        SELECT * FROM unnest(p_sid, p_pre, p_name, p_typ, p_suf,
                             p_alt) AS s0(sid, pre, name, typ, suf, alt)
    ), spec AS (
        -- fuzzy searches run only for names that exist nowhere as given
        SELECT s0.*, EXISTS (SELECT 1 FROM geo_street_names e WHERE e.name IN (s0.name, s0.alt)) AS known
        FROM spec0 s0
    ), cand AS (
        SELECT s.sid, n.key,
               1 - 0.8 * (1 - n.sim)
                 - CASE WHEN n.pre = n.predir AND s.suf = n.sufdir THEN 0
                        WHEN n.pre || s.suf = n.predir || n.sufdir THEN 0.02
                        WHEN n.pre || s.suf = '' THEN 0.06
                        WHEN n.predir || n.sufdir = '' THEN 0.12
                        ELSE 0.45 END
                 - CASE WHEN s.typ = n.stype THEN 0 WHEN s.typ = '' THEN 0.04
                        WHEN n.stype = '' THEN 0.06 ELSE 0.12 END AS score
        FROM spec s CROSS JOIN LATERAL (
            SELECT n.key, n.predir, n.stype, n.sufdir, 1.0::float8 AS sim, s.pre
            FROM geo_street_names n WHERE n.name = s.name
            UNION ALL
            -- 'NORTH BEND RD': the spelt-out directional was part of the name
            SELECT n.key, n.predir, n.stype, n.sufdir, 1.0::float8, ''
            FROM geo_street_names n WHERE s.alt <> '' AND n.name = s.alt
            UNION ALL
            SELECT f.key, f.predir, f.stype, f.sufdir,
                   greatest(similarity(f.name, s.name),
                            1 - levenshtein(f.name, s.name)::float8 / greatest(length(f.name), length(s.name), 1)),
                   s.pre
            FROM (SELECT n.* FROM geo_street_names n WHERE NOT s.known AND n.name % s.name
                  UNION
                  SELECT n.* FROM geo_street_names n
                  WHERE NOT s.known AND left(n.name, 1) = left(s.name, 1)
                    AND levenshtein_less_equal(n.name, s.name, 2) <= 2) f
            WHERE NOT s.known AND f.name <> s.name
            UNION ALL
            -- a name cut at the front ('HEIGHTS AV' of LIBERTY HEIGHTS AVE, as BPD records truncate)
            SELECT n.key, n.predir, n.stype, n.sufdir, 0.8, s.pre
            FROM geo_street_names n
            WHERE NOT s.known AND length(s.name) >= 4 AND n.name LIKE '% ' || s.name
        ) n
    ), c AS (
        SELECT * FROM cand WHERE score >= 0.45
    ), pt AS (
        SELECT q.i, c.key, 'address_point' AS mt, a.geom, c.score * 1.0 AS score, 0::float8 AS extent_m
        FROM q JOIN c ON c.sid = q.s0 JOIN geo_addresses a ON a.key = c.key AND a.number = q.num
        WHERE q.kind = 'address'
    ), nbr AS (
        -- Between the nearest address points of the same street below and above the number (same
        -- parity first, at most 200 numbers away each, and 250 m apart): the city's own points anchor
        -- the estimate.
        SELECT q.i, c.key, 'address_interpolated' AS mt,
               ST_LineInterpolatePoint(ST_MakeLine(lo.geom, hi.geom),
                                       (q.num - lo.number)::float8 / (hi.number - lo.number)) AS geom,
               c.score * 0.97 AS score, 0::float8 AS extent_m
        FROM q JOIN c ON c.sid = q.s0
        CROSS JOIN LATERAL (SELECT a.number, a.geom FROM geo_addresses a
                            WHERE a.key = c.key AND a.number < q.num AND a.number >= q.num - 200
                            ORDER BY (a.number % 2 = q.num % 2) DESC, a.number DESC LIMIT 1) lo
        CROSS JOIN LATERAL (SELECT a.number, a.geom FROM geo_addresses a
                            WHERE a.key = c.key AND a.number > q.num AND a.number <= q.num + 200
                            ORDER BY (a.number % 2 = q.num % 2) DESC, a.number LIMIT 1) hi
        WHERE q.kind = 'address' AND ST_DWithin(lo.geom::geography, hi.geom::geography, 250)
    ), ext AS (
        -- Points on one side of the number only: extrapolate from the nearest same-parity point
        -- (at most 50 numbers away) through the next one beyond it, by at most 100 m
        SELECT q.i, c.key, 'address_interpolated' AS mt,
               ST_SetSRID(ST_MakePoint(ST_X(p1.geom) + (ST_X(p1.geom) - ST_X(p2.geom)) * f.f,
                                       ST_Y(p1.geom) + (ST_Y(p1.geom) - ST_Y(p2.geom)) * f.f), 4326) AS geom,
               c.score * 0.96 AS score, 0::float8 AS extent_m
        FROM q JOIN c ON c.sid = q.s0
        -- (a hundred number stays the block face unless a point is very close: police block form)
        CROSS JOIN LATERAL (SELECT CASE WHEN q.num % 100 = 0 THEN 20 ELSE 50 END AS w) w
        CROSS JOIN LATERAL (SELECT a.number, a.geom FROM geo_addresses a
                            WHERE a.key = c.key AND a.number BETWEEN q.num - w.w AND q.num + w.w
                              AND a.number <> q.num AND a.number % 2 = q.num % 2
                            ORDER BY abs(a.number - q.num), a.number LIMIT 1) p1
        CROSS JOIN LATERAL (SELECT a.number, a.geom FROM geo_addresses a
                            WHERE a.key = c.key AND a.number % 2 = q.num % 2
                              AND sign(a.number - p1.number) = sign(p1.number - q.num)
                              AND abs(a.number - p1.number) <= 100
                            ORDER BY abs(a.number - p1.number) LIMIT 1) p2
        CROSS JOIN LATERAL (SELECT (q.num - p1.number)::float8 / (p1.number - p2.number) AS f) f
        WHERE q.kind = 'address'
          AND ST_Distance(p1.geom::geography, p2.geom::geography) * f.f <= 100
    ), rng AS (
        SELECT q.i, c.key, 'range' AS mt, r.geom,
               c.score * CASE WHEN r.parity_ok THEN 0.95 ELSE 0.85 END AS score, 0::float8 AS extent_m
        FROM q JOIN c ON c.sid = q.s0
        CROSS JOIN LATERAL (
            -- the data repeat a range on a stub a few metres long in places: the longer segment of
            -- equal ranges is the block face
            SELECT g.street_id FROM geo_segments g JOIN streets s ON s.id = g.street_id
            WHERE g.key = c.key
              AND ((g.l_from <> 0 OR g.l_to <> 0) AND q.num BETWEEN least(g.l_from, g.l_to) AND greatest(g.l_from, g.l_to)
                OR (g.r_from <> 0 OR g.r_to <> 0) AND q.num BETWEEN least(g.r_from, g.r_to) AND greatest(g.r_from, g.r_to))
            ORDER BY geocode_parity_fits(q.num, g.l_from, g.l_to, g.r_from, g.r_to) DESC,
                     geocode_side(q.num, g.l_from, g.l_to, g.r_from, g.r_to) <> 0 DESC, g.alley,
                     geocode_range_width(q.num, g.l_from, g.l_to, g.r_from, g.r_to), ST_Length(s.geom) DESC, g.street_id
            LIMIT 1) g
        -- a hundred number is also the police block form, whose published points sit at the number's
        -- linear place on the range (BPD's geocoder) or mid-block: geo.geocode blends that reading
        CROSS JOIN LATERAL geocode_range_point(g.street_id, q.num, NULL, q.num % 100 <> 0) r
        WHERE q.kind = 'address'
    ), blk AS (
        SELECT q.i, c.key, 'block' AS mt, geocode_block_point(c.key, q.num) AS geom, c.score * 0.92 AS score, 0::float8 AS extent_m
        FROM q JOIN c ON c.sid = q.s0
        WHERE q.kind = 'block' OR (q.kind = 'address' AND q.num % 100 = 0)
    ), ix AS (
        -- a named junction of more streets than these two is a nearby, bigger junction more often
        -- than this crossing: the network's crossing is preferred then
        SELECT q.i, c0.key || ' & ' || c1.key AS key,
               CASE WHEN x.parts <= 2 THEN 'intersection' ELSE 'junction' END AS mt, x.geom,
               (c0.score + c1.score - 1) * CASE WHEN x.parts <= 2 THEN 0.98 ELSE 0.93 END AS score,
               0::float8 AS extent_m
        FROM q JOIN c c0 ON c0.sid = q.s0 JOIN c c1 ON c1.sid = q.s1
        -- OFFSET 0 keeps these lookups per candidate pair, on the indexes (the kept generic plan
        -- would otherwise hash whole tables for a single query)
        CROSS JOIN LATERAL (SELECT x.id, x.geom,
                                   (SELECT count(*) FROM geo_intersection_parts o WHERE o.intersection_id = x.id) AS parts
                            FROM geo_intersection_parts p0
                            JOIN geo_intersection_parts p1 ON p1.intersection_id = p0.intersection_id
                            JOIN intersections x ON x.id = p0.intersection_id
                            WHERE p0.key = c0.key AND p1.key = c1.key OFFSET 0) x
        WHERE q.kind = 'intersection'
        UNION ALL
        SELECT q.i, c0.key || ' & ' || c1.key, 'crossing', x.geom,
               (c0.score + c1.score - 1) * CASE WHEN x.nodes = 0 THEN 0.85 ELSE 0.95 END, x.radius_m::float8
        FROM q JOIN c c0 ON c0.sid = q.s0 JOIN c c1 ON c1.sid = q.s1
        CROSS JOIN LATERAL (SELECT x.geom, x.radius_m, x.nodes FROM geo_crossings x
                            WHERE x.key_a = c0.key AND x.key_b = c1.key OFFSET 0) x
        WHERE q.kind = 'intersection'
    ), anchored AS (
        -- Estimates from address points must agree with the centreline: within 150 m of a segment
        -- whose range holds the number, when one exists (the two sources disagree in places).
        SELECT e.* FROM (SELECT * FROM nbr UNION ALL SELECT * FROM ext) e JOIN q ON q.i = e.i
        WHERE NOT EXISTS (SELECT 1 FROM geo_segments g WHERE g.key = e.key
                            AND ((g.l_from <> 0 OR g.l_to <> 0) AND q.num BETWEEN least(g.l_from, g.l_to) AND greatest(g.l_from, g.l_to)
                              OR (g.r_from <> 0 OR g.r_to <> 0) AND q.num BETWEEN least(g.r_from, g.r_to) AND greatest(g.r_from, g.r_to)))
           OR EXISTS (SELECT 1 FROM geo_segments g JOIN streets s ON s.id = g.street_id WHERE g.key = e.key
                        AND ((g.l_from <> 0 OR g.l_to <> 0) AND q.num BETWEEN least(g.l_from, g.l_to) AND greatest(g.l_from, g.l_to)
                          OR (g.r_from <> 0 OR g.r_to <> 0) AND q.num BETWEEN least(g.r_from, g.r_to) AND greatest(g.r_from, g.r_to))
                        AND ST_DWithin(s.geom::geography, e.geom::geography, 150))
    ), found AS (
        SELECT * FROM pt UNION ALL SELECT * FROM anchored UNION ALL SELECT * FROM rng
        UNION ALL SELECT * FROM blk WHERE geom IS NOT NULL UNION ALL SELECT * FROM ix
    )
    SELECT i, key, mt, ST_X(geom), ST_Y(geom), score, extent_m FROM found
    UNION ALL
    (SELECT DISTINCT ON (q.i) q.i, c.key, 'street', NULL::float8, NULL::float8, c.score, 0::float8
     FROM q JOIN cand c ON c.sid = q.s0 ORDER BY q.i, c.score DESC);
END $fn$;

-- Nearest address for a point: an address point within point_m metres answers; else the house
-- number interpolated on the nearest named, addressed segment within max_m (side by cross
-- product; the calibration of geocode_calibrated inverted). A point beside a main road is often a few metres nearer a side street's centreline
-- than its own road's (Pulaski Hwy, Holabird Ave): when the nearest address point (within hint_m
-- metres) is on a street whose segment is no more than slack_m farther than the nearest one, that
-- street's segment is taken, since the city's own points say which street the houses here face.
-- bench/geocode.py measures it on held-out points.
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
                              CASE WHEN s2.sd = 1 THEN seg.l_to ELSE seg.r_to END AS e,
                              geocode_uncalibrated(seg.t, geocode_rising(s2.sd, seg.l_from, seg.l_to, seg.r_from, seg.r_to),
                                                   ST_Length(seg.geom::geography)) AS t) r) x,
        LATERAL (SELECT (2 * round((x.x - x.f) / 2.0) + x.f)::int AS num) nn,
        LATERAL (SELECT geocode_interpolate(seg.geom, geocode_calibrated(
                            geocode_fraction(nn.num, s2.sd, seg.l_from, seg.l_to, seg.r_from, seg.r_to),
                            geocode_rising(s2.sd, seg.l_from, seg.l_to, seg.r_from, seg.r_to),
                            ST_Length(seg.geom::geography)), s2.sd,
                                            coalesce((SELECT c.offset_m FROM geocode_calibration c), 12)) AS geom) n
    )
    SELECT * FROM ap WHERE ap.distance_m <= point_m
    UNION ALL
    SELECT * FROM rng WHERE NOT EXISTS (SELECT 1 FROM ap WHERE ap.distance_m <= point_m);
END $$;

-- The calibration from the reference as it stands (the functions it reads may just have changed).
SELECT geocode_refresh_calibration();
