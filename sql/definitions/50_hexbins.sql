-- H3 hexbins: event counts per H3 cell (resolution 7..10) over a time window and optional kinds,
-- with the hexagons from h3_cells (filled at ingest). Used by the vector tiles (services/tiles),
-- GET /api/hexbins and the event_hexbins layer of the catalog.

-- Degrees of longitude that span one H3 cell of a resolution at a latitude: the largest cell is
-- under 2.9 km across at r7, 1.1 km at r8, 0.42 km at r9, 0.16 km at r10; 111.32 km per degree
-- of latitude, times cos(latitude) for longitude.
CREATE OR REPLACE FUNCTION rtcc_h3_margin_deg(res int, lat float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE res WHEN 7 THEN 2.9 WHEN 8 THEN 1.1 WHEN 9 THEN 0.42 ELSE 0.16 END)
           / (111.32 * greatest(cos(radians(least(abs(lat), 85))), 0.05))
$$;

-- Counts per cell of the cells whose hexagon meets `area` (EPSG:4326). Events are looked up with
-- the GiST index in `area` grown by one cell across, so the counts of cells that straddle the edge
-- of the area are complete. lo and hi inclusive (OGC intervals), NULL = open; kinds NULL = every
-- kind. The bounds are COALESCE(..., ±infinity), not `lo IS NULL OR ...`, so the monthly
-- partitions of events outside the window are pruned when the plan starts.
CREATE OR REPLACE FUNCTION rtcc_hexbins(res int, area geometry,
                                        lo timestamptz DEFAULT NULL, hi timestamptz DEFAULT NULL,
                                        kinds text[] DEFAULT NULL)
RETURNS TABLE (cell bigint, res smallint, count bigint, geom geometry)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH n AS (
        SELECT CASE res WHEN 7 THEN e.h3_r7 WHEN 8 THEN e.h3_r8 WHEN 9 THEN e.h3_r9 ELSE e.h3_r10 END AS cell,
               count(*) AS count
        FROM events e
        WHERE e.geom && ST_Expand(area, rtcc_h3_margin_deg(res, greatest(abs(ST_YMin(area)), abs(ST_YMax(area)))))
          AND e.observed_at >= COALESCE(lo, '-infinity'::timestamptz)
          AND e.observed_at <= COALESCE(hi, 'infinity'::timestamptz)
          AND (kinds IS NULL OR e.kind = ANY (kinds))
        GROUP BY 1
    )
    SELECT c.cell, c.res, n.count, c.geom
    FROM n JOIN h3_cells c ON c.cell = n.cell
    WHERE c.geom && area
$$;

-- One vector tile (Mapbox Vector Tile 2.1) of hexbins: layer `name`, properties h3 (string index),
-- res and count; geometry clipped to the tile grown by `buffer` (tile units of a 4096 extent).
CREATE OR REPLACE FUNCTION rtcc_hexbin_tile(z int, x int, y int, res int,
                                            lo timestamptz DEFAULT NULL, hi timestamptz DEFAULT NULL,
                                            kinds text[] DEFAULT NULL, name text DEFAULT 'event_hexbins',
                                            extent int DEFAULT 4096, buffer int DEFAULT 64)
RETURNS bytea LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    env geometry := ST_TileEnvelope(z, x, y);                                      -- EPSG:3857
    area geometry := ST_Transform(ST_TileEnvelope(z, x, y, margin => buffer::float8 / extent), 4326);
    mvt bytea;
BEGIN
    SELECT ST_AsMVT(q, name, extent, 'geom') INTO mvt FROM (
        SELECT to_hex(h.cell) AS h3, h.res::int AS res, h.count::int AS count,
               ST_AsMVTGeom(ST_Transform(h.geom, 3857), env, extent, buffer, true) AS geom
        FROM rtcc_hexbins(res, area, lo, hi, kinds) h
    ) q WHERE q.geom IS NOT NULL;
    RETURN COALESCE(mvt, ''::bytea);
END $$;

-- The catalog's event_hexbins layer as a relation (for OGC clients): all-time counts at resolution 8.
CREATE OR REPLACE VIEW event_hexbins AS
    SELECT c.cell, to_hex(c.cell) AS h3, c.res::int AS res, n.count::int AS count, c.geom
    FROM (SELECT h3_r8 AS cell, count(*) AS count FROM events WHERE h3_r8 IS NOT NULL GROUP BY 1) n
    JOIN h3_cells c ON c.cell = n.cell;
