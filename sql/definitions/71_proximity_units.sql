-- Proximity engine, units: which available units get to a location first, by drive time over the
-- street graph. SQL picks the candidates and snaps them, services/proximity/eta.py routes them all
-- with one bounded search over its in-memory graph (graph.py), SQL ranks and renders. (pgRouting
-- rebuilt its graph from route_edges on every call: 65-75 ms per answer for a fleet spread over
-- the city.) Metres come from geography (WGS 84 spheroid).

-- The units to route for pt (keys of p as in rtcc_proximity): the `candidates` nearest available
-- units within unit_radius_m whose position is younger than max_age_s, each snapped; the first row
-- (id NULL) is pt itself and carries the graph version the snaps refer to.
CREATE OR REPLACE FUNCTION rtcc_unit_candidates(pt geometry, p jsonb)
RETURNS TABLE (id text, dist_m double precision, edge integer, frac double precision, off_m double precision,
               graph_version bigint)
LANGUAGE sql STABLE AS $$
    SELECT NULL::text, 0::float8, s.edge, s.frac, s.off_m, (SELECT g.version FROM route_graph g)
    FROM (SELECT 1) one LEFT JOIN rtcc_route_snap(pt, COALESCE((p->>'snap_max_m')::float8, 250)) s ON true
    UNION ALL
    SELECT q.id, ST_Distance(q.geom::geography, pt::geography), s.edge, s.frac, s.off_m, NULL
    FROM (SELECT u.id, u.geom FROM units u
          WHERE u.status = 'available'
            AND u.observed_at >= now() - make_interval(secs => (p->>'max_age_s')::float8)
            AND u.geom && rtcc_box_m(pt, COALESCE((p->>'unit_radius_m')::float8, 20000))
            AND ST_DWithin(u.geom::geography, pt::geography, COALESCE((p->>'unit_radius_m')::float8, 20000))
          ORDER BY u.geom <-> pt, u.id
          LIMIT greatest((p->>'candidates')::integer, (p->>'units')::integer)) q
    LEFT JOIN LATERAL rtcc_route_snap(q.geom, COALESCE((p->>'snap_max_m')::float8, 250)) s ON true
$$;

-- The k best of the routed candidates for pt by drive time. routed: {"unit id": seconds or null},
-- the network ETAs services/proximity/eta.py found (null: off the network or no path, so a
-- straight-line ETA: distance x detour at fallback_kmh, eta_method 'straight_line').
CREATE OR REPLACE FUNCTION rtcc_rank_units(pt geometry, k integer, routed jsonb,
                                           fallback_kmh double precision DEFAULT 30,
                                           detour double precision DEFAULT 1.4)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT COALESCE(json_agg(json_build_object(
               'id', t.id, 'callsign', t.callsign, 'status', t.status, 'unit_type', t.type,
               'distance_m', round(t.dist::numeric, 1), 'eta_s', round(t.eta::numeric, 1),
               'eta_method', t.method, 'position_age_s', round(t.age::numeric, 1),
               'lon', ST_X(t.geom), 'lat', ST_Y(t.geom), 'observed_at', t.observed_at)
               ORDER BY t.eta, t.dist, t.id), '[]'::json)
    FROM (
        SELECT u.id, u.callsign, u.status, u.type, u.geom, u.observed_at, x.dist,
               greatest(extract(epoch FROM now() - u.observed_at), 0) AS age,
               COALESCE(r.seconds, x.dist * detour / (fallback_kmh / 3.6)) AS eta,
               CASE WHEN r.seconds IS NULL THEN 'straight_line' ELSE 'network' END AS method
        FROM jsonb_each_text(COALESCE(routed, '{}')) AS r0(id, s)
        CROSS JOIN LATERAL (SELECT r0.s::float8 AS seconds) r
        JOIN units u ON u.id = r0.id
        CROSS JOIN LATERAL (SELECT ST_Distance(u.geom::geography, pt::geography) AS dist) x
        ORDER BY eta, x.dist, u.id
        LIMIT greatest(k, 0)
    ) t
$$;
