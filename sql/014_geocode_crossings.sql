-- Street-network crossings, second version (replaces the crossing part of 010's
-- geocode_refresh_streets). Where two differently named streets meet: every end point of a
-- segment of one that lies on a segment of the other (within 3 m: shared nodes, and T-junctions
-- the data did not node), snapped to 1 m. Points of one pair within 60 m of each other (DBSCAN)
-- are one junction: offset T-junctions and divided roads give two or more nodes that far apart,
-- and the city names either of them. The junction's point is the centre of the smallest circle
-- holding its nodes (radius_m, metres, kept), so each node of a junction up to 60 m wide is
-- within 30 m of the answer. Nodes farther apart stay separate crossings (a street meeting
-- another twice, ramps of one name); the geocoder calls such a pair ambiguous unless the scores
-- decide. A pair that never meets but where a dead end of one stops within 30 m of the other
-- gets that gap as its crossing (nodes 0). Metric work in EPSG:26985 (NAD83 / Maryland, metres).
ALTER TABLE geo_crossings ADD COLUMN IF NOT EXISTS radius_m real NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION geocode_refresh_crossings() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE geo_crossings;
    -- Every street segment in metres, indexed, for the distance tests below (all streets: an
    -- unnamed one still makes another's end a junction, not a dead end).
    DROP TABLE IF EXISTS pg_temp.geocode_seg_m;
    CREATE TEMP TABLE geocode_seg_m ON COMMIT DROP AS
        SELECT s.id, g.key, ST_Transform(s.geom, 26985) AS g
        FROM streets s LEFT JOIN geo_segments g ON g.street_id = s.id;
    CREATE INDEX ON geocode_seg_m USING gist (g);
    ANALYZE geocode_seg_m;
    INSERT INTO geo_crossings (key_a, key_b, nodes, radius_m, geom)
    WITH ends AS MATERIALIZED (
        SELECT m.id, m.key, e.p FROM geocode_seg_m m
        CROSS JOIN LATERAL (VALUES (ST_StartPoint(m.g)), (ST_EndPoint(m.g))) AS e(p)
        WHERE m.key IS NOT NULL
    ), meet AS (
        SELECT DISTINCT least(e.key, m.key) AS key_a, greatest(e.key, m.key) AS key_b,
               ST_SnapToGrid(e.p, 1.0) AS p
        FROM ends e JOIN geocode_seg_m m ON ST_DWithin(m.g, e.p, 3) AND m.key <> e.key
    ), clustered AS (
        SELECT key_a, key_b, p, ST_ClusterDBSCAN(p, 60, 1) OVER (PARTITION BY key_a, key_b) AS c
        FROM meet
    ), junction AS (
        SELECT key_a, key_b, count(*) AS n, ST_Collect(p) AS ps FROM clustered GROUP BY key_a, key_b, c
    )
    SELECT j.key_a, j.key_b, j.n, round(m.radius::numeric, 1), ST_Transform(ST_SetSRID(m.center, 26985), 4326)
    FROM junction j CROSS JOIN LATERAL ST_MinimumBoundingRadius(j.ps) AS m;
    -- Pairs that never meet within 3 m but where a dead end of one stops short of the other
    -- (within 30 m; the data leave such gaps at some junctions): the point on the other street
    -- nearest that end, nodes 0 and radius_m the gap in metres (scored lower by the search).
    INSERT INTO geo_crossings (key_a, key_b, nodes, radius_m, geom)
    WITH ends AS MATERIALIZED (
        SELECT m.id, m.key, e.p FROM geocode_seg_m m
        CROSS JOIN LATERAL (VALUES (ST_StartPoint(m.g)), (ST_EndPoint(m.g))) AS e(p)
        WHERE m.key IS NOT NULL
    ), dead AS (
        SELECT e.* FROM ends e
        WHERE NOT EXISTS (SELECT 1 FROM geocode_seg_m o WHERE o.id <> e.id AND ST_DWithin(o.g, e.p, 3))
    ), gap AS (
        SELECT DISTINCT ON (1, 2) least(d.key, m.key) AS key_a, greatest(d.key, m.key) AS key_b,
               ST_ClosestPoint(m.g, d.p) AS p, ST_Distance(m.g, d.p) AS gap
        FROM dead d JOIN geocode_seg_m m ON ST_DWithin(m.g, d.p, 30) AND m.key <> d.key
        ORDER BY 1, 2, gap
    )
    SELECT key_a, key_b, 0, round(gap::numeric, 1), ST_Transform(ST_SetSRID(p, 26985), 4326) FROM gap
    WHERE NOT EXISTS (SELECT 1 FROM geo_crossings x WHERE x.key_a = gap.key_a AND x.key_b = gap.key_b);
    INSERT INTO geo_crossings (key_a, key_b, nodes, radius_m, geom)
    SELECT key_b, key_a, nodes, radius_m, geom FROM geo_crossings;
    DROP TABLE pg_temp.geocode_seg_m;
    ANALYZE geo_crossings;
END $$;

CREATE OR REPLACE FUNCTION geocode_refresh_streets() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE geo_segments, geo_street_names, geo_crossings;
    -- Normalise each distinct name once (7.9k), not each segment (48k).
    INSERT INTO geo_segments (street_id, key, l_from, l_to, r_from, r_to, block_num, alley)
    WITH k AS MATERIALIZED (
        SELECT dirpre, name, type, dirsuf,
               geocode_key(geocode_norm_dir(dirpre), geocode_norm_name(name),
                           geocode_norm_type(type), geocode_norm_dir(dirsuf)) AS key,
               geocode_norm_name(name) <> '' AS named
        FROM (SELECT DISTINCT dirpre, name, type, dirsuf FROM streets) d
    )
    SELECT s.id, k.key, s.l_from, s.l_to, s.r_from, s.r_to, s.block_num, s.subtype = 'Alley'
    FROM streets s
    JOIN k ON k.dirpre = s.dirpre AND k.name = s.name AND k.type = s.type AND k.dirsuf = s.dirsuf
    WHERE k.named;
    INSERT INTO geo_street_names (key, predir, name, stype, sufdir, segments)
    SELECT k.key, geocode_norm_dir(k.dirpre), geocode_norm_name(k.name), geocode_norm_type(k.type),
           geocode_norm_dir(k.dirsuf), k.n
    FROM (SELECT DISTINCT ON (g.key) g.key, s.dirpre, s.name, s.type, s.dirsuf,
                 count(*) OVER (PARTITION BY g.key) AS n
          FROM geo_segments g JOIN streets s ON s.id = g.street_id ORDER BY g.key, s.id) k;
    ANALYZE geo_segments; ANALYZE geo_street_names;
    PERFORM geocode_refresh_crossings();
END $$;

SELECT geocode_refresh_crossings();
