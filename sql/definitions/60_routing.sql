-- The routable street graph (route_nodes, route_edges: sql/migrations/030_routing.sql) for
-- drive-time ETAs, kept in step with `streets` by statement-level triggers, so any loader (COPY,
-- INSERT, TRUNCATE + reload) leaves a routable graph behind without a separate build step.

-- Speed when a segment carries none (km/h): a slow urban street.
CREATE OR REPLACE FUNCTION rtcc_route_default_speed() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 30.0::double precision $$;

-- Grid key of a vertex (1e-7 degree).
CREATE OR REPLACE FUNCTION rtcc_route_key(p geometry) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[round(ST_X(p) * 1e7)::bigint, round(ST_Y(p) * 1e7)::bigint]
$$;

-- Add (or replace) the edges of the given street ids, creating their end vertices as needed.
CREATE OR REPLACE FUNCTION rtcc_route_add(ids integer[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    INSERT INTO route_nodes (kx, ky, geom)
    SELECT DISTINCT ON (k[1], k[2]) k[1], k[2], p
    FROM (SELECT rtcc_route_key(v.p) AS k, v.p
          FROM streets s, LATERAL (VALUES (ST_StartPoint(s.geom)), (ST_EndPoint(s.geom))) v(p)
          WHERE s.id = ANY(ids)) q
    ORDER BY k[1], k[2]
    ON CONFLICT (kx, ky) DO NOTHING;

    INSERT INTO route_edges AS e (id, source, target, length_m, cost, reverse_cost, geom)
    SELECT s.id, a.id, b.id, l.m,
           CASE WHEN s.oneway = -1 THEN -1 ELSE l.m / l.v END,
           CASE WHEN s.oneway = 1 THEN -1 ELSE l.m / l.v END,
           s.geom
    FROM streets s
    CROSS JOIN LATERAL (SELECT ST_Length(s.geom::geography) AS m,
                               greatest(COALESCE(s.speed_kmh, rtcc_route_default_speed()), 1) / 3.6 AS v) l
    JOIN route_nodes a ON (a.kx, a.ky) = ((rtcc_route_key(ST_StartPoint(s.geom)))[1],
                                          (rtcc_route_key(ST_StartPoint(s.geom)))[2])
    JOIN route_nodes b ON (b.kx, b.ky) = ((rtcc_route_key(ST_EndPoint(s.geom)))[1],
                                          (rtcc_route_key(ST_EndPoint(s.geom)))[2])
    WHERE s.id = ANY(ids)
    ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, target = EXCLUDED.target,
        length_m = EXCLUDED.length_m, cost = EXCLUDED.cost, reverse_cost = EXCLUDED.reverse_cost,
        geom = EXCLUDED.geom;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Rebuild the whole graph from streets (after a bulk change made with triggers disabled).
CREATE OR REPLACE FUNCTION rtcc_route_rebuild() RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE route_edges, route_nodes RESTART IDENTITY;
    RETURN rtcc_route_add(ARRAY(SELECT id FROM streets));
END $$;

CREATE OR REPLACE FUNCTION rtcc_route_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE route_edges, route_nodes RESTART IDENTITY;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM rtcc_route_add(ARRAY(SELECT id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM route_edges e USING old_rows o WHERE e.id = o.id;
    ELSE  -- UPDATE: only rows whose geometry, direction or speed changed
        DELETE FROM route_edges e USING old_rows o
        WHERE e.id = o.id AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
        PERFORM rtcc_route_add(ARRAY(
            SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
            WHERE o.id IS NULL OR (n.geom, n.oneway, n.speed_kmh) IS DISTINCT FROM (o.geom, o.oneway, o.speed_kmh)));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER streets_route_ins AFTER INSERT ON streets REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();
CREATE OR REPLACE TRIGGER streets_route_upd AFTER UPDATE ON streets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();
CREATE OR REPLACE TRIGGER streets_route_del AFTER DELETE ON streets REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();
CREATE OR REPLACE TRIGGER streets_route_trunc AFTER TRUNCATE ON streets
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();

-- route_graph.version moves with every statement that changes route_edges.
CREATE OR REPLACE FUNCTION rtcc_route_graph_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN  -- a statement that changed no row leaves the graph as it was
        UPDATE route_graph SET version = version + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rtcc_route_graph_bump_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE route_graph SET version = version + 1;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER route_edges_version_ins AFTER INSERT ON route_edges REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_graph_bump();
CREATE OR REPLACE TRIGGER route_edges_version_upd AFTER UPDATE ON route_edges REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_graph_bump();
CREATE OR REPLACE TRIGGER route_edges_version_del AFTER DELETE ON route_edges REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_graph_bump();
CREATE OR REPLACE TRIGGER route_edges_version_trunc AFTER TRUNCATE ON route_edges
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_graph_bump_truncate();

-- A point on the graph: its nearest edge (KNN), the fraction along it where the point
-- lies (0 = the edge's source end), and how far off it (metres). No row beyond snap_max_m.
CREATE OR REPLACE FUNCTION rtcc_route_snap(p geometry, snap_max_m double precision)
RETURNS TABLE (edge integer, frac double precision, off_m double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.id, s.f, s.d FROM (
        SELECT e.id, ST_LineLocatePoint(e.geom, p) AS f, ST_Distance(e.geom::geography, p::geography) AS d
        FROM route_edges e ORDER BY e.geom <-> p LIMIT 1) s
    WHERE s.d <= snap_max_m
$$;

-- A database whose streets were loaded before the graph existed gets its graph now.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM route_edges) AND EXISTS (SELECT 1 FROM streets) THEN
        PERFORM rtcc_route_rebuild();
    END IF;
END $$;
