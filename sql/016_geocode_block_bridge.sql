-- Middle of a block face (replaces sql/011's geocode_block_point). As before: the segments of
-- the street numbered for the block or whose ranges overlap it, grouped where they lie within
-- 30 m of each other, the group with the most length wins (the data scatter a block number along
-- a street in places), and the answer is the point of the group nearest its centroid. New: the
-- street's own unnumbered pieces (no ranges, no block number) within 100 m of the block join the
-- grouping as links only, so a block face the data cut by an unnumbered piece (a short stretch
-- past a side street, a median opening) is one face and its middle the middle of the whole, not
-- the middle of its longer half. Lengths in metres (geography), grouping in EPSG:26985.
CREATE OR REPLACE FUNCTION geocode_block_point(k text, block int) RETURNS geometry
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE c geometry;
BEGIN
    WITH blk AS MATERIALIZED (
        SELECT s.geom, ST_Transform(s.geom, 26985) AS gm
        FROM geo_segments g JOIN streets s ON s.id = g.street_id
        WHERE g.key = k AND NOT g.alley
          AND (g.block_num = block
               OR greatest(g.l_from, g.l_to, g.r_from, g.r_to) >= block
                  AND least(nullif(least(g.l_from, g.l_to), 0), nullif(least(g.r_from, g.r_to), 0)) < block + 100)
    ), g0 AS MATERIALIZED (
        SELECT ST_ClusterDBSCAN(gm, 30, 1) OVER () AS grp FROM blk
    ), links AS (
        -- looked up only when the block falls apart; the box (2e-3 degrees, >= 170 m here) only
        -- lets the street index prefilter, the 100 m test is metric
        SELECT ST_Transform(s.geom, 26985) AS gm
        FROM geo_segments g JOIN streets s ON s.id = g.street_id
        WHERE (SELECT max(grp) FROM g0) > 0
          AND g.key = k AND NOT g.alley AND g.l_from = 0 AND g.l_to = 0 AND g.r_from = 0 AND g.r_to = 0
          AND coalesce(g.block_num, -1) <= 0
          AND s.geom && (SELECT ST_Expand(ST_Extent(geom), 2e-3) FROM blk)
    ), used AS (
        SELECT gm, true AS inblock FROM blk
        UNION ALL
        SELECT l.gm, false FROM links l WHERE EXISTS (SELECT 1 FROM blk b WHERE ST_DWithin(b.gm, l.gm, 100))
    ), grouped AS (
        SELECT gm, inblock, ST_Length(gm) AS len, ST_ClusterDBSCAN(gm, 30, 1) OVER () AS grp FROM used
    )
    SELECT ST_Collect(gm) INTO c FROM grouped
    WHERE inblock AND grp = (SELECT grp FROM grouped WHERE inblock GROUP BY grp ORDER BY sum(len) DESC LIMIT 1);
    RETURN CASE WHEN c IS NULL THEN NULL ELSE ST_Transform(ST_ClosestPoint(c, ST_Centroid(c)), 4326) END;
END $$;
