-- rtcc_hexbins: time bounds as COALESCE(..., ±infinity) instead of `lo IS NULL OR ...`, so the
-- monthly partitions of `events` outside the window are pruned when the plan starts.
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
