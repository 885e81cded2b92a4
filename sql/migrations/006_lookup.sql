-- Point-in-polygon lookups at ingest run against subdivided copies of the district and beat
-- polygons (a few hundred vertices each), so each test touches a small geometry.
-- Refreshed by services.demo after loading reference data (and by any reference reload).

CREATE MATERIALIZED VIEW IF NOT EXISTS district_parts AS
    SELECT name, ST_Subdivide(geom, 128) AS geom FROM districts;
CREATE INDEX IF NOT EXISTS district_parts_gist ON district_parts USING gist (geom);

CREATE MATERIALIZED VIEW IF NOT EXISTS beat_parts AS
    SELECT id, ST_Subdivide(geom, 128) AS geom FROM beats;
CREATE INDEX IF NOT EXISTS beat_parts_gist ON beat_parts USING gist (geom);

CREATE INDEX IF NOT EXISTS unit_positions_batch ON unit_positions (batch_id);

-- Staging table shape for COPY (temp tables are made LIKE this one).
CREATE TABLE IF NOT EXISTS events_stage_template (
    row_no      integer,
    feed        text,
    feed_id     text,
    kind        text,
    observed_at timestamptz,
    lon         double precision,
    lat         double precision,
    loc_method  text,
    loc_score   real,
    address     text,
    h3_r7       bigint,
    h3_r8       bigint,
    h3_r9       bigint,
    h3_r10      bigint,
    type        text,
    priority    smallint,
    plate       text,
    attrs       jsonb
);
