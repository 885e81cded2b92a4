-- Routable street graph for drive-time ETAs (pgRouting).
-- One vertex per distinct segment end (grid key 1e-7 degree, ~1 cm: the city's centerlines share
-- exact end coordinates), one edge per street segment with its travel time in seconds each way.
-- Kept in step with `streets` by statement-level triggers, so any loader (COPY, INSERT, TRUNCATE +
-- reload) leaves a routable graph behind without a separate build step.

CREATE TABLE IF NOT EXISTS route_nodes (
    id          bigserial PRIMARY KEY,
    kx          bigint NOT NULL,               -- round(lon * 1e7)
    ky          bigint NOT NULL,               -- round(lat * 1e7)
    geom        geometry(Point, 4326) NOT NULL,
    UNIQUE (kx, ky)
);
CREATE INDEX IF NOT EXISTS route_nodes_geom_gist ON route_nodes USING gist (geom);

CREATE TABLE IF NOT EXISTS route_edges (
    id           integer PRIMARY KEY,          -- = streets.id
    source       bigint NOT NULL,              -- route_nodes.id at the first vertex
    target       bigint NOT NULL,              -- route_nodes.id at the last vertex
    length_m     double precision NOT NULL,    -- geodesic length (metres)
    cost         double precision NOT NULL,    -- seconds source -> target; -1 = closed (one-way against)
    reverse_cost double precision NOT NULL,    -- seconds target -> source; -1 = closed (one-way along)
    geom         geometry(LineString, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS route_edges_geom_gist ON route_edges USING gist (geom);

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

DROP TRIGGER IF EXISTS streets_route_ins ON streets;
CREATE TRIGGER streets_route_ins AFTER INSERT ON streets REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();
DROP TRIGGER IF EXISTS streets_route_upd ON streets;
CREATE TRIGGER streets_route_upd AFTER UPDATE ON streets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();
DROP TRIGGER IF EXISTS streets_route_del ON streets;
CREATE TRIGGER streets_route_del AFTER DELETE ON streets REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();
DROP TRIGGER IF EXISTS streets_route_trunc ON streets;
CREATE TRIGGER streets_route_trunc AFTER TRUNCATE ON streets
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_route_sync();

-- A database migrated after its streets were loaded gets its graph now.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM route_edges) AND EXISTS (SELECT 1 FROM streets) THEN
        PERFORM rtcc_route_rebuild();
    END IF;
END $$;
