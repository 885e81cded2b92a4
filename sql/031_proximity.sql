-- Proximity engine: which cameras can see a location, which units get there first, what happened
-- around it. Every function returns JSON built here, so the API only wraps bytes.
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
        SELECT c.id, c.name, c.kind, c.owner, c.stream_url, c.contact, c.heading_deg, c.fov_deg, c.range_m,
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
               'owner', t.owner, 'stream_url', t.stream_url, 'contact', t.contact, 'kind', t.kind,
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

-- The k cameras for pt: every camera whose view cone may contain pt (cone GiST index, then the
-- cone polygon within its slack), plus the nearest by KNN. The KNN over-fetch is exact when the
-- metre bound proves it; otherwise all cameras within radius_m are ranked.
CREATE OR REPLACE FUNCTION rtcc_nearest_cameras(pt geometry, k integer, radius_m double precision,
                                                default_range_m double precision DEFAULT 150)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    n integer := k + 10;
    knn text[];
    dn double precision;
    cnt integer;
    bound double precision;
    seeing text[];
    r record;
BEGIN
    IF k <= 0 THEN
        RETURN '[]'::json;
    END IF;
    SELECT array_agg(q.id), max(q.dd), count(*) INTO knn, dn, cnt
    FROM (SELECT c.id, c.geom <-> pt AS dd FROM cameras c ORDER BY c.geom <-> pt LIMIT n) q;
    -- 0.001 degree covers the slack of cones up to ~2.5 km range
    seeing := ARRAY(SELECT c.id FROM cameras c
                    WHERE c.cone && ST_Expand(pt, 0.001)
                      AND ST_DWithin(c.cone, pt, rtcc_cone_slack_deg(c.heading_deg, c.fov_deg, c.range_m, ST_Y(pt))));
    IF default_range_m > 150 THEN  -- stored cones of cameras without a range are 150 m: look farther
        seeing := seeing || ARRAY(SELECT c.id FROM cameras c
                                  WHERE c.geom && rtcc_box_m(pt, default_range_m) AND c.range_m IS NULL);
    END IF;
    SELECT * INTO r FROM rtcc_rank_cameras(pt, COALESCE(knn, '{}') || seeing, k, radius_m, default_range_m);
    bound := COALESCE(dn, 0) * rtcc_min_m_per_deg(pt);  -- every camera not fetched is at least this far
    IF cnt < n OR (COALESCE(r.far_unseen, 0) <= bound AND (r.n >= k OR radius_m <= bound)) THEN
        RETURN r.body;
    END IF;
    SELECT * INTO r FROM rtcc_rank_cameras(pt, ARRAY(
        SELECT c.id FROM cameras c
        WHERE c.geom && rtcc_box_m(pt, radius_m) AND ST_DWithin(c.geom::geography, pt::geography, radius_m)
        ) || seeing, k, radius_m, default_range_m);
    RETURN r.body;
END $$;

DROP FUNCTION IF EXISTS rtcc_route_snap(geometry);

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
DROP FUNCTION IF EXISTS rtcc_nearest_units(geometry, integer, integer, double precision, double precision,
                                            double precision, double precision);
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

-- What happened around pt in the minutes before t_end: gunshots, calls, CAD incidents, and ALPR
-- reads of hotlisted plates, newest first.
CREATE OR REPLACE FUNCTION rtcc_recent_events(pt geometry, t_end timestamptz, radius_m double precision,
                                              minutes double precision, exclude_id bigint DEFAULT NULL,
                                              lim integer DEFAULT 50)
RETURNS json LANGUAGE plpgsql STABLE
SET max_parallel_workers_per_gather = 0  -- a few thousand rows: starting workers costs more than it saves
AS $fn$
DECLARE
    out json;
    box geometry;
    spatial text;
BEGIN
    IF radius_m <= 0 OR minutes <= 0 OR lim <= 0 THEN
        RETURN '[]'::json;
    END IF;
    box := rtcc_box_m(pt, radius_m);
    -- A window of hours: the (kind, observed_at) index is the selective one, and the box test is
    -- written so that it cannot pull in the geometry index (a BitmapAnd over a dense downtown box
    -- cost ~2 ms where the time index alone needs ~0.3 ms). Longer windows: let the planner choose.
    spatial := CASE WHEN minutes <= 360
        THEN 'ST_X(e.geom) BETWEEN $3 AND $4 AND ST_Y(e.geom) BETWEEN $5 AND $6'
        ELSE 'e.geom && ST_MakeEnvelope($3, $5, $4, $6, 4326)' END;
    -- One-shot plan with the values known: only the partitions of the window are planned and locked.
    EXECUTE format($q$
        SELECT COALESCE(json_agg(json_build_object(
                   'id', e.id, 'kind', e.kind, 'observed_at', e.observed_at,
                   'distance_m', round(ST_Distance(e.geom::geography, $7::geography)::numeric, 1),
                   'type', e.type, 'priority', e.priority, 'address', e.address, 'plate', e.plate,
                   'hotlist', e.reason, 'lon', ST_X(e.geom), 'lat', ST_Y(e.geom))
                   ORDER BY e.observed_at DESC, e.id DESC), '[]'::json)
        FROM (
            SELECT e.* FROM (
                SELECT e.id, e.kind, e.observed_at, e.geom, e.type, e.priority, e.address, e.plate,
                       NULL::text AS reason
                FROM events e
                WHERE e.kind IN ('gunshot', 'call', 'cad_incident') AND e.observed_at BETWEEN $1 AND $2 AND %1$s
                UNION ALL
                SELECT e.id, e.kind, e.observed_at, e.geom, e.type, e.priority, e.address, e.plate, h.reason
                FROM events e
                JOIN LATERAL (SELECT hl.reason FROM hotlists hl
                              WHERE hl.plate = e.plate AND (hl.state = '' OR hl.state = COALESCE(e.attrs->>'state', ''))
                              LIMIT 1) h ON true
                WHERE e.kind = 'alpr_read' AND e.observed_at BETWEEN $1 AND $2 AND %1$s
            ) e
            WHERE ST_DWithin(e.geom::geography, $7::geography, $8) AND ($9::bigint IS NULL OR e.id <> $9)
            ORDER BY e.observed_at DESC, e.id DESC
            LIMIT $10
        ) e $q$, spatial)
    INTO out
    USING t_end - make_interval(secs => minutes * 60), t_end, ST_XMin(box), ST_XMax(box), ST_YMin(box),
          ST_YMax(box), pt, radius_m, exclude_id, lim;
    RETURN out;
END $fn$;

-- The whole answer for a point, parameters as a JSON object (keys: cameras, radius_m,
-- default_range_m, units, candidates, max_age_s, unit_radius_m, snap_max_m, recent_m, recent_min, at,
-- exclude_id).
CREATE OR REPLACE FUNCTION rtcc_proximity(pt geometry, p jsonb) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
        'cameras', rtcc_nearest_cameras(pt, (p->>'cameras')::integer, (p->>'radius_m')::float8,
                                        (p->>'default_range_m')::float8),
        'units', rtcc_nearest_units(pt, (p->>'units')::integer, (p->>'candidates')::integer,
                                    (p->>'max_age_s')::float8, COALESCE((p->>'unit_radius_m')::float8, 20000),
                                    COALESCE((p->>'snap_max_m')::float8, 250)),
        'recent', rtcc_recent_events(pt, COALESCE((p->>'at')::timestamptz, now()), (p->>'recent_m')::float8,
                                     (p->>'recent_min')::float8, (p->>'exclude_id')::bigint));
END $$;

-- Stored answers for incidents (reproducible later), and the queue that feeds them.
CREATE TABLE IF NOT EXISTS proximity_results (
    event_id    bigint PRIMARY KEY,            -- events.id
    observed_at timestamptz NOT NULL,          -- of the event (locates its partition)
    kind        text NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    params      jsonb NOT NULL,                -- the parameters the answer was computed with
    result      jsonb NOT NULL                 -- {location, cameras, units, recent}
);
CREATE INDEX IF NOT EXISTS proximity_results_time ON proximity_results (observed_at);

CREATE TABLE IF NOT EXISTS proximity_jobs (
    event_id    bigint PRIMARY KEY,
    observed_at timestamptz NOT NULL,
    batch_id    bigint NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text
);

-- Inside an ingest batch's transaction: queue its incidents, calls and gunshots that have a
-- location (bulk origins 'demo' and 'synth' are skipped) and hold a transaction lock the worker
-- waits on, so it starts the moment the batch commits. Returns the number queued.
CREATE OR REPLACE FUNCTION rtcc_proximity_enqueue(batch bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    IF (SELECT b.origin IN ('demo', 'synth') FROM ingest_batches b WHERE b.id = batch) IS NOT FALSE THEN
        RETURN 0;
    END IF;
    INSERT INTO proximity_jobs (event_id, observed_at, batch_id)
    SELECT e.id, e.observed_at, e.batch_id
    FROM events e
    WHERE e.batch_id = batch AND e.kind IN ('cad_incident', 'call', 'gunshot') AND e.geom IS NOT NULL
    ON CONFLICT (event_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_advisory_xact_lock(74195, (batch % 2147483647)::integer);
    END IF;
    RETURN n;
END $$;

-- Compute, store and announce the answer for one event (the caller's transaction): removes its job
-- and NOTIFYs rtcc_live with {"type": "proximity", "event_id": ...}. Returns false when the event
-- no longer exists or has no location.
CREATE OR REPLACE FUNCTION rtcc_proximity_run(ev bigint, p jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    q jsonb;
    res json;
BEGIN
    SELECT x.id, x.kind, x.observed_at, x.geom, x.loc_method, x.loc_score, x.address INTO e
    FROM events x WHERE x.id = ev
      AND x.observed_at = COALESCE((SELECT j.observed_at FROM proximity_jobs j WHERE j.event_id = ev), x.observed_at);
    DELETE FROM proximity_jobs WHERE event_id = ev;
    IF e.id IS NULL OR e.geom IS NULL THEN
        RETURN false;
    END IF;
    q := p || jsonb_build_object('at', e.observed_at, 'exclude_id', e.id);
    res := rtcc_proximity(e.geom, q);
    INSERT INTO proximity_results (event_id, observed_at, kind, computed_at, params, result)
    VALUES (e.id, e.observed_at, e.kind, now(), q,
            jsonb_build_object('location', jsonb_build_object(
                'lon', ST_X(e.geom), 'lat', ST_Y(e.geom),
                'source', CASE WHEN e.loc_method = 'geocoded' THEN 'geocoded' ELSE 'given' END,
                'loc_method', e.loc_method, 'loc_score', e.loc_score, 'address', e.address))
            || res::jsonb)
    ON CONFLICT (event_id) DO UPDATE SET observed_at = EXCLUDED.observed_at, kind = EXCLUDED.kind,
        computed_at = EXCLUDED.computed_at, params = EXCLUDED.params, result = EXCLUDED.result;
    PERFORM pg_notify('rtcc_live', json_build_object('type', 'proximity', 'event_id', e.id,
                                                     'kind', e.kind)::text);
    RETURN true;
END $$;
