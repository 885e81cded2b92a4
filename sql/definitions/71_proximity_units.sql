-- Proximity engine, units: which available units get to a location first, by drive time over the
-- street graph (pgRouting). Metres come from geography (WGS 84 spheroid).

-- Drive time in seconds from each origin to dest over route_edges (pgRouting, directed: one-way
-- edges carry -1 against their direction). Points are snapped onto their nearest edge at the
-- fraction where they lie, splitting it into virtual pieces (several points on one edge are
-- chained in order), so a one-way edge is only usable the way it runs. The off-street legs count
-- at access_kmh. Routing is restricted to the bounding box of all points widened by margin_m (at
-- least 25% of its diagonal: reading the graph is most of the cost, ~15 ms for 2.5 x 2 km downtown).
-- One Dijkstra from dest over the reversed graph reaches every origin.
-- idx is the 1-based position in origins; seconds NULL = not snappable within snap_max_m, or no path.
CREATE OR REPLACE FUNCTION rtcc_route_seconds(dest geometry, origins geometry[],
                                              snap_max_m double precision DEFAULT 250,
                                              margin_m double precision DEFAULT 500,
                                              access_kmh double precision DEFAULT 15)
RETURNS TABLE (idx integer, seconds double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    base constant bigint := 1000000000000;  -- virtual vertex ids: base + point number
    pts geometry[] := ARRAY[dest] || origins;
    no integer := COALESCE(array_length(origins, 1), 0);
    -- snapped points, one array per column (i = position in pts, 1 = dest)
    si integer[]; se integer[]; ss bigint[]; st bigint[]; sc float8[]; sr float8[]; sf float8[]; sd float8[];
    dest_snap double precision;
    env geometry;
    pad double precision;
    lat double precision;
    virt text;
    sql text;
BEGIN
    -- Snap: the nearest edge of each point (KNN per point), where along it, how far off it.
    SELECT array_agg(p.i ORDER BY p.i), array_agg(s.id ORDER BY p.i), array_agg(s.source ORDER BY p.i),
           array_agg(s.target ORDER BY p.i), array_agg(s.cost ORDER BY p.i),
           array_agg(s.reverse_cost ORDER BY p.i), array_agg(s.f ORDER BY p.i), array_agg(s.d ORDER BY p.i)
    INTO si, se, ss, st, sc, sr, sf, sd
    FROM unnest(pts) WITH ORDINALITY AS p(g, i)
    CROSS JOIN LATERAL (
        SELECT e.id, e.source, e.target, e.cost, e.reverse_cost, ST_LineLocatePoint(e.geom, p.g) AS f,
               ST_Distance(e.geom::geography, p.g::geography) AS d
        FROM route_edges e ORDER BY e.geom <-> p.g LIMIT 1) s
    WHERE p.g IS NOT NULL AND s.d <= snap_max_m;
    IF si IS NULL OR si[1] <> 1 OR array_length(si, 1) < 2 THEN
        -- destination or every origin off the network: nothing to route
        RETURN QUERY SELECT g::integer, NULL::double precision FROM generate_series(1, no) g;
        RETURN;
    END IF;
    dest_snap := sd[1];
    env := ST_Envelope(ST_Collect(pts));
    lat := greatest(abs(ST_YMin(env)), abs(ST_YMax(env)));
    pad := greatest(margin_m, 0.25 * ST_Distance(ST_SetSRID(ST_MakePoint(ST_XMin(env), ST_YMin(env)), 4326)::geography,
                                                 ST_SetSRID(ST_MakePoint(ST_XMax(env), ST_YMax(env)), 4326)::geography));
    env := ST_Expand(env, pad * 1.01 / (111320 * greatest(cos(radians(least(lat + 0.5, 89.9))), 0.001)),
                     pad * 1.01 / 110574);
    -- Virtual pieces: per snapped edge, source -> its points in order of fraction -> target.
    SELECT string_agg(format('(%s,%s,%s,%s::float8,%s::float8)', -pc.n, pc.a, pc.b,
                             CASE WHEN pc.cost < 0 THEN -1 ELSE (pc.fb - pc.fa) * pc.cost END,
                             CASE WHEN pc.reverse_cost < 0 THEN -1 ELSE (pc.fb - pc.fa) * pc.reverse_cost END), ',')
    INTO virt
    FROM (
        SELECT row_number() OVER () AS n, x.* FROM (
            SELECT v.vid AS a, lead(v.vid) OVER w AS b, v.f AS fa, lead(v.f) OVER w AS fb, v.cost, v.reverse_cost
            FROM (
                SELECT DISTINCT s.edge, s.source AS vid, 0::float8 AS f, 0 AS o, s.cost, s.reverse_cost
                FROM unnest(si, se, ss, st, sc, sr, sf) AS s(i, edge, source, target, cost, reverse_cost, f)
                UNION ALL
                SELECT DISTINCT s.edge, s.target, 1::float8, 2, s.cost, s.reverse_cost
                FROM unnest(si, se, ss, st, sc, sr, sf) AS s(i, edge, source, target, cost, reverse_cost, f)
                UNION ALL
                SELECT s.edge, base + s.i, s.f, 1, s.cost, s.reverse_cost
                FROM unnest(si, se, ss, st, sc, sr, sf) AS s(i, edge, source, target, cost, reverse_cost, f)
            ) v
            WINDOW w AS (PARTITION BY v.edge ORDER BY v.f, v.o, v.vid)
        ) x WHERE x.b IS NOT NULL
    ) pc;
    -- Reversed graph (costs swapped): the cost from X to dest becomes the cost from dest to X.
    sql := format(
        'SELECT id, source, target, reverse_cost AS cost, cost AS reverse_cost FROM ('
        'SELECT id::bigint, source, target, cost, reverse_cost FROM route_edges '
        'WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) '
        'UNION ALL SELECT * FROM (VALUES %s) v(id, source, target, cost, reverse_cost)) g',
        ST_XMin(env), ST_YMin(env), ST_XMax(env), ST_YMax(env), virt);
    RETURN QUERY
    SELECT o.i - 1, r.agg_cost + (s.d + dest_snap) / (access_kmh / 3.6)
    FROM generate_series(2, no + 1) AS o(i)
    LEFT JOIN unnest(si, sd) AS s(i, d) ON s.i = o.i
    LEFT JOIN pgr_dijkstraCost(sql, base + 1, ARRAY(SELECT base + x FROM unnest(si[2:]) x), true) r
           ON r.end_vid = base + o.i
    ORDER BY 1;
END $$;

-- The k best available units for pt by drive time: the `candidates` nearest available units within
-- radius_m (metres) whose last position is younger than max_age_s are routed; a unit that cannot be routed gets a
-- straight-line ETA (distance x detour at fallback_kmh) and eta_method 'straight_line'.
CREATE OR REPLACE FUNCTION rtcc_nearest_units(pt geometry, k integer, candidates integer,
                                              max_age_s double precision,
                                              radius_m double precision DEFAULT 20000,
                                              snap_max_m double precision DEFAULT 250,
                                              fallback_kmh double precision DEFAULT 30,
                                              detour double precision DEFAULT 1.4)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    ids text[];
    geoms geometry[];
    out json;
BEGIN
    IF k <= 0 THEN
        RETURN '[]'::json;
    END IF;
    SELECT array_agg(q.id ORDER BY q.dd), array_agg(q.geom ORDER BY q.dd) INTO ids, geoms
    FROM (SELECT u.id, u.geom, u.geom <-> pt AS dd FROM units u
          WHERE u.status = 'available' AND u.observed_at >= now() - make_interval(secs => max_age_s)
            AND u.geom && rtcc_box_m(pt, radius_m) AND ST_DWithin(u.geom::geography, pt::geography, radius_m)
          ORDER BY u.geom <-> pt LIMIT greatest(candidates, k)) q;
    IF ids IS NULL THEN
        RETURN '[]'::json;
    END IF;
    SELECT COALESCE(json_agg(json_build_object(
               'id', t.id, 'callsign', t.callsign, 'status', t.status, 'unit_type', t.type,
               'distance_m', round(t.dist::numeric, 1), 'eta_s', round(t.eta::numeric, 1),
               'eta_method', t.method, 'position_age_s', round(t.age::numeric, 1),
               'lon', ST_X(t.geom), 'lat', ST_Y(t.geom), 'observed_at', t.observed_at)
               ORDER BY t.eta, t.dist, t.id), '[]'::json)
    INTO out
    FROM (
        SELECT u.id, u.callsign, u.status, u.type, u.geom, u.observed_at, x.dist,
               greatest(extract(epoch FROM now() - u.observed_at), 0) AS age,
               COALESCE(r.seconds, x.dist * detour / (fallback_kmh / 3.6)) AS eta,
               CASE WHEN r.seconds IS NULL THEN 'straight_line' ELSE 'network' END AS method
        FROM unnest(ids) WITH ORDINALITY AS c(id, i)
        JOIN units u ON u.id = c.id
        CROSS JOIN LATERAL (SELECT ST_Distance(u.geom::geography, pt::geography) AS dist) x
        LEFT JOIN rtcc_route_seconds(pt, geoms, snap_max_m) r ON r.idx = c.i
        ORDER BY eta, x.dist, u.id
        LIMIT k
    ) t;
    RETURN out;
END $$;
