-- Each event layer (cad_incidents, calls, gunshots, alpr_reads) asks "this kind in this box":
-- a spatial index per kind answers it without visiting every other kind's rows in the box.
-- (The general events_geom_gist stays for questions across kinds, e.g. proximity context.)
CREATE INDEX IF NOT EXISTS events_geom_cad_incident ON events USING gist (geom) WHERE kind = 'cad_incident';
CREATE INDEX IF NOT EXISTS events_geom_call ON events USING gist (geom) WHERE kind = 'call';
CREATE INDEX IF NOT EXISTS events_geom_gunshot ON events USING gist (geom) WHERE kind = 'gunshot';
CREATE INDEX IF NOT EXISTS events_geom_alpr_read ON events USING gist (geom) WHERE kind = 'alpr_read';
