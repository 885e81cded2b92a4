-- "What happened within R metres and T minutes of this point" (the proximity engine's recent
-- context, time-windowed tiles and features) asks for a box and a time range at once. One GiST
-- index over (geom, observed_at) (btree_gist supplies the timestamp operator class) answers both
-- in one scan; the geometry-only index it replaces is served by the same index's first column.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX IF NOT EXISTS events_geom_time ON events USING gist (geom, observed_at);
DROP INDEX IF EXISTS events_geom_gist;
