-- Routable street graph for drive-time ETAs (pgRouting).
-- One vertex per distinct segment end (grid key 1e-7 degree, ~1 cm: the city's centerlines share
-- exact end coordinates), one edge per street segment with its travel time in seconds each way.
-- Kept in step with `streets` by statement-level triggers (sql/definitions/60_routing.sql), so any
-- loader (COPY, INSERT, TRUNCATE + reload) leaves a routable graph behind without a build step.

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
