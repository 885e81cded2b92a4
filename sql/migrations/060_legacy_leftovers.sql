-- Databases migrated before some migrations were edited in place (the edits never reached them:
-- an applied file is not run again) are brought to the state the final versions give.
-- Functions those early versions created and later versions dropped:
DROP FUNCTION IF EXISTS geocode_norm_word(text);
DROP FUNCTION IF EXISTS rtcc_route_snap(geometry);
DROP FUNCTION IF EXISTS rtcc_nearest_units(geometry, integer, integer, double precision, double precision,
                                            double precision, double precision);
-- 010 before its GIN pending list was turned off and its first-letter index added:
ALTER INDEX geo_street_names_trgm SET (fastupdate = off);
CREATE INDEX IF NOT EXISTS geo_street_names_initial ON geo_street_names (left(name, 1));
-- 051 when it built a (geom, observed_at) index and left 050's per-kind indexes:
CREATE INDEX IF NOT EXISTS events_kind_geom_time ON events USING gist (kind, geom, observed_at);
DROP INDEX IF EXISTS events_geom_time;
DROP INDEX IF EXISTS events_geom_cad_incident;
DROP INDEX IF EXISTS events_geom_call;
DROP INDEX IF EXISTS events_geom_gunshot;
DROP INDEX IF EXISTS events_geom_alpr_read;
