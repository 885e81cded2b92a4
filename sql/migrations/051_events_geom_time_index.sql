-- One spatial index on events, GiST over (kind, geom, observed_at) (btree_gist supplies the text
-- and timestamp operator classes). It answers every question the server asks of events in one
-- scan: "this kind in this box" (layers, tiles), "+ in this window" (datetime=), "any kind near
-- this point in the last minutes" (the proximity engine's recent context). It replaces the plain
-- geometry index of 003 and the four per-kind partial indexes of 050: one GiST insert per event
-- instead of two (bulk ingest 17-19k -> 20-21k events/s in bench/ingest.py), with OGC items and
-- tiles as fast as with the per-kind indexes (bench/features.py, bench/tiles.py).
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX IF NOT EXISTS events_kind_geom_time ON events USING gist (kind, geom, observed_at);
DROP INDEX IF EXISTS events_geom_gist;
DROP INDEX IF EXISTS events_geom_cad_incident;
DROP INDEX IF EXISTS events_geom_call;
DROP INDEX IF EXISTS events_geom_gunshot;
DROP INDEX IF EXISTS events_geom_alpr_read;
