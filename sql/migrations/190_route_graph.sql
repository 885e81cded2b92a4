-- The version of the street graph: bumped by every statement that changes route_edges (triggers in
-- definitions/60_routing.sql), so each process's in-memory graph (services/proximity/graph.py)
-- knows when to reload.
CREATE TABLE IF NOT EXISTS route_graph (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),   -- a single row
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO route_graph (one, version) VALUES (true, 0) ON CONFLICT (one) DO NOTHING;

-- Unit ETAs moved from pgRouting to the in-memory graph (definitions/71_proximity_units.sql).
DROP FUNCTION IF EXISTS rtcc_nearest_units(geometry, integer, integer, double precision, double precision,
                                            double precision, double precision, double precision);
DROP FUNCTION IF EXISTS rtcc_route_seconds(geometry, geometry[], double precision, double precision,
                                            double precision);
