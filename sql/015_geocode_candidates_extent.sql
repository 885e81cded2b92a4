-- The geocoder's candidate search (sql/012's geocode_candidates) with what the intersection
-- ranking needs to know: a named junction of exactly the two streets ('intersection') apart from
-- a named junction of more streets ('junction'), and for a network crossing (sql/014) the radius
-- of the junction in metres (extent_m: how far its nodes lie from the point; 0 for every other
-- match type). A crossing across a gap (two streets that stop short of each other, nodes 0)
-- scores 0.85, not 0.95. Scoring and the rest are as in sql/012. The result type differs, so
-- this is a function of its own name (a replaced return type would break re-running 012), and
-- the old one goes.
DROP FUNCTION IF EXISTS geocode_candidates(int[], text[], int[], int[], int[], int[], text[], text[], text[], text[], text[]);
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
            SELECT g.street_id FROM geo_segments g
            WHERE g.key = c.key
              AND ((g.l_from <> 0 OR g.l_to <> 0) AND q.num BETWEEN least(g.l_from, g.l_to) AND greatest(g.l_from, g.l_to)
                OR (g.r_from <> 0 OR g.r_to <> 0) AND q.num BETWEEN least(g.r_from, g.r_to) AND greatest(g.r_from, g.r_to))
            ORDER BY geocode_side(q.num, g.l_from, g.l_to, g.r_from, g.r_to) <> 0 DESC, g.alley,
                     greatest(g.l_from, g.l_to, g.r_from, g.r_to) - least(g.l_from, g.l_to, g.r_from, g.r_to), g.street_id
            LIMIT 1) g
        CROSS JOIN LATERAL geocode_range_point(g.street_id, q.num, 12.0) r
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
