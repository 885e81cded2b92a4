-- The basemap's water, drawn from our own reference layers (no tile server on the internet): the city
-- limit (TIGER's, which includes the harbour) less every neighbourhood area, opened by 15 m so the slivers between
-- neighbourhood polygons do not show as canals (land simplified to 2 m and buffers with few segments:
-- 1 s instead of 14 s, for a basemap fill). The demo loader refreshes it after loading.
CREATE MATERIALIZED VIEW IF NOT EXISTS water AS
    WITH land AS (SELECT ST_Union(ST_SimplifyPreserveTopology(ST_Transform(geom, 26985), 2)) AS g FROM neighborhoods),
         city AS (SELECT ST_Transform(ST_Union(geom), 26985) AS g FROM service_area),
         wet AS (SELECT ST_Buffer(ST_Buffer(ST_Difference(city.g, land.g), -15, 'quad_segs=2'), 15, 'quad_segs=2') AS g
                 FROM city, land)
    SELECT row_number() OVER ()::int AS id, ST_Multi(ST_Transform(part, 4326))::geometry(MultiPolygon, 4326) AS geom
    FROM wet, ST_Subdivide(wet.g, 256) AS part
    WHERE NOT ST_IsEmpty(part)
WITH DATA;
CREATE UNIQUE INDEX IF NOT EXISTS water_id ON water (id);
CREATE INDEX IF NOT EXISTS water_geom_gist ON water USING gist (geom);
