-- The geocoder's reference: street names normalised to USPS Publication 28 parts and keyed by
-- the normalised full name ('W NORTH AVE'), and the tables derived from streets, addresses and
-- intersections with those keys (geo_segments, geo_street_names, geo_crossings, geo_addresses,
-- geo_intersection_parts). The word list and the functions mirror geo/address.py (DIRS, TYPES,
-- NAME_WORDS, clean, split_street); tests/test_geocode.py checks that both normalise every
-- reference name the same way. Whenever this file changes, `rtcc db migrate` re-applies it and the
-- derived tables are rebuilt at its end, so a new word or rule reaches every database.

-- The vocabulary, replaced whole: a word taken out of this list leaves the table too.
DELETE FROM geocode_words;
INSERT INTO geocode_words (role, word, norm) VALUES
    ('dir', 'N', 'N'),
    ('dir', 'NORTH', 'N'),
    ('dir', 'S', 'S'),
    ('dir', 'SOUTH', 'S'),
    ('dir', 'E', 'E'),
    ('dir', 'EAST', 'E'),
    ('dir', 'W', 'W'),
    ('dir', 'WEST', 'W'),
    ('dir', 'NE', 'NE'),
    ('dir', 'NORTHEAST', 'NE'),
    ('dir', 'NW', 'NW'),
    ('dir', 'NORTHWEST', 'NW'),
    ('dir', 'SE', 'SE'),
    ('dir', 'SOUTHEAST', 'SE'),
    ('dir', 'SW', 'SW'),
    ('dir', 'SOUTHWEST', 'SW'),
    ('type', 'AVE', 'AVE'),
    ('type', 'AV', 'AVE'),
    ('type', 'AVENUE', 'AVE'),
    ('type', 'AVEN', 'AVE'),
    ('type', 'AVN', 'AVE'),
    ('type', 'AVNUE', 'AVE'),
    ('type', 'ST', 'ST'),
    ('type', 'STREET', 'ST'),
    ('type', 'STR', 'ST'),
    ('type', 'STRT', 'ST'),
    ('type', 'RD', 'RD'),
    ('type', 'ROAD', 'RD'),
    ('type', 'LN', 'LN'),
    ('type', 'LANE', 'LN'),
    ('type', 'TER', 'TER'),
    ('type', 'TERR', 'TER'),
    ('type', 'TERRACE', 'TER'),
    ('type', 'HWY', 'HWY'),
    ('type', 'HW', 'HWY'),
    ('type', 'HIGHWAY', 'HWY'),
    ('type', 'HIWAY', 'HWY'),
    ('type', 'ALY', 'ALY'),
    ('type', 'AL', 'ALY'),
    ('type', 'ALLEY', 'ALY'),
    ('type', 'ALLY', 'ALY'),
    ('type', 'DR', 'DR'),
    ('type', 'DRIVE', 'DR'),
    ('type', 'DRV', 'DR'),
    ('type', 'CT', 'CT'),
    ('type', 'COURT', 'CT'),
    ('type', 'CRT', 'CT'),
    ('type', 'BLVD', 'BLVD'),
    ('type', 'BOULEVARD', 'BLVD'),
    ('type', 'BOUL', 'BLVD'),
    ('type', 'BLV', 'BLVD'),
    ('type', 'BD', 'BLVD'),
    ('type', 'PL', 'PL'),
    ('type', 'PLACE', 'PL'),
    ('type', 'PKWY', 'PKWY'),
    ('type', 'PARKWAY', 'PKWY'),
    ('type', 'PKY', 'PKWY'),
    ('type', 'PKWAY', 'PKWY'),
    ('type', 'PW', 'PKWY'),
    ('type', 'PY', 'PKWY'),
    ('type', 'LA', 'LN'),
    ('type', 'WAY', 'WAY'),
    ('type', 'WY', 'WAY'),
    ('type', 'CIR', 'CIR'),
    ('type', 'CIRCLE', 'CIR'),
    ('type', 'CIRC', 'CIR'),
    ('type', 'SQ', 'SQ'),
    ('type', 'SQUARE', 'SQ'),
    ('type', 'TUNL', 'TUNL'),
    ('type', 'TUN', 'TUNL'),
    ('type', 'TUNNEL', 'TUNL'),
    ('type', 'DRWY', 'DRWY'),
    ('type', 'DWY', 'DRWY'),
    ('type', 'DRIVEWAY', 'DRWY'),
    ('type', 'PIKE', 'PIKE'),
    ('type', 'PIKES', 'PIKE'),
    ('type', 'WALK', 'WALK'),
    ('type', 'PASS', 'PASS'),
    ('type', 'PATH', 'PATH'),
    ('type', 'GTH', 'GTH'),
    ('type', 'GRTH', 'GTH'),
    ('type', 'GARTH', 'GTH'),
    ('type', 'MALL', 'MALL'),
    ('type', 'MEWS', 'MEWS'),
    ('type', 'HL', 'HL'),
    ('type', 'HILL', 'HL'),
    ('type', 'PLZ', 'PLZ'),
    ('type', 'PLZA', 'PLZ'),
    ('type', 'PLAZA', 'PLZ'),
    ('type', 'PT', 'PT'),
    ('type', 'POINT', 'PT'),
    ('type', 'TRL', 'TRL'),
    ('type', 'TRAIL', 'TRL'),
    ('type', 'GRN', 'GRN'),
    ('type', 'GREEN', 'GRN'),
    ('type', 'ROW', 'ROW'),
    ('type', 'RUN', 'RUN'),
    ('type', 'EXPY', 'EXPY'),
    ('type', 'EXPRESSWAY', 'EXPY'),
    ('name', 'SAINT', 'ST'),
    ('name', 'MT', 'MOUNT'),
    ('name', 'FT', 'FORT'),
    ('name', 'DOCTOR', 'DR'),
    ('name', 'JUNIOR', 'JR'),
    ('name', 'MLK', 'MARTIN LUTHER KING');

-- Upper case, apostrophes dropped, punctuation as spaces, single spaces, and 'MC' joined to the
-- word it prefixes (the city writes MC HENRY ST and MCHENRY ST; typed text mixes both)
-- (geo.address.clean).
CREATE OR REPLACE FUNCTION geocode_clean(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(btrim(regexp_replace(regexp_replace(
        replace(replace(upper(coalesce(t, '')), '''', ''), '’', ''), '[.,;:"()]', ' ', 'g'), '\s+', ' ', 'g')),
        '\mMC (?=[A-Z]{3})', 'MC', 'g')
$$;

CREATE OR REPLACE FUNCTION geocode_ordinal(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT n::text || CASE WHEN n % 100 BETWEEN 10 AND 20 THEN 'TH'
                           WHEN n % 10 = 1 THEN 'ST' WHEN n % 10 = 2 THEN 'ND'
                           WHEN n % 10 = 3 THEN 'RD' ELSE 'TH' END
$$;

-- The helpers below are plpgsql so their plans are cached across calls (a non-inlined SQL
-- function is planned again on every call: ~2 ms per street name instead of microseconds).

-- A bare street name ('SAINT PAUL' -> 'ST PAUL', '25' -> '25TH').
CREATE OR REPLACE FUNCTION geocode_norm_name(t text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE r text;
BEGIN
    SELECT coalesce(string_agg(coalesce(gw.norm,
               CASE WHEN u.w ~ '^\d{1,9}$' THEN geocode_ordinal(u.w::bigint)
                    WHEN u.w ~ '^\d{1,9}(ST|ND|RD|TH)$' THEN geocode_ordinal(substring(u.w FROM '^\d+')::bigint)
                    ELSE u.w END), ' ' ORDER BY u.i), '')
    INTO r
    FROM unnest(string_to_array(nullif(geocode_clean(t), 'NAN'), ' ')) WITH ORDINALITY AS u(w, i)
    LEFT JOIN geocode_words gw ON gw.role = 'name' AND gw.word = u.w
    WHERE u.w <> '';
    RETURN r;
END $$;

CREATE OR REPLACE FUNCTION geocode_norm_dir(t text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE r text;
BEGIN
    SELECT norm INTO r FROM geocode_words WHERE role = 'dir' AND word = geocode_clean(t);
    RETURN coalesce(r, '');
END $$;

CREATE OR REPLACE FUNCTION geocode_norm_type(t text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE r text;
BEGIN
    SELECT norm INTO r FROM geocode_words WHERE role = 'type' AND word = geocode_clean(t);
    RETURN coalesce(r, nullif(nullif(geocode_clean(t), 'NAN'), ''), '');
END $$;

CREATE OR REPLACE FUNCTION geocode_key(predir text, name text, stype text, sufdir text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT concat_ws(' ', nullif(predir, ''), nullif(name, ''), nullif(stype, ''), nullif(sufdir, ''))
$$;

-- A full street name split into Pub 28 parts (mirrors geo.address.split_street).
CREATE OR REPLACE FUNCTION geocode_split(full_name text,
    OUT predir text, OUT name text, OUT stype text, OUT sufdir text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    toks text[] := string_to_array(nullif(geocode_clean(full_name), ''), ' ');
    n int := coalesce(array_length(toks, 1), 0);
    d text;
BEGIN
    predir := ''; stype := ''; sufdir := '';
    IF n >= 2 AND NOT (n = 2 AND EXISTS (SELECT 1 FROM geocode_words WHERE role = 'type' AND word = toks[2])) THEN
        SELECT norm INTO d FROM geocode_words WHERE role = 'dir' AND word = toks[1];
        IF d IS NOT NULL THEN predir := d; toks := toks[2:n]; n := n - 1; END IF;
    END IF;
    IF n >= 2 THEN
        SELECT norm INTO d FROM geocode_words WHERE role = 'dir' AND word = toks[n];
        IF d IS NOT NULL THEN sufdir := d; toks := toks[1:n - 1]; n := n - 1; END IF;
    END IF;
    IF n >= 2 THEN
        SELECT norm INTO d FROM geocode_words WHERE role = 'type' AND word = toks[n];
        IF d IS NOT NULL THEN stype := d; toks := toks[1:n - 1]; n := n - 1; END IF;
    END IF;
    name := geocode_norm_name(array_to_string(toks, ' '));
END $$;

-- Where two differently named streets meet: every end point of a segment of one that lies on a
-- segment of the other (within 3 m: shared nodes, and T-junctions the data did not node), snapped
-- to 1 m. Points of one pair within 60 m of each other (DBSCAN) are one junction: offset
-- T-junctions and divided roads give two or more nodes that far apart, and the city names either
-- of them. The junction's point is the centre of the smallest circle holding its nodes (radius_m,
-- metres, kept), so each node of a junction up to 60 m wide is within 30 m of the answer. Nodes
-- farther apart stay separate crossings (a street meeting another twice, ramps of one name); the
-- geocoder calls such a pair ambiguous unless the scores decide. A pair that never meets but where
-- a dead end of one stops within 30 m of the other gets that gap as its crossing (nodes 0).
-- Metric work in EPSG:26985 (NAD83 / Maryland, metres).
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
    -- range interpolation is calibrated against the address points (41_geocode_match.sql; not yet
    -- defined while this file is first applied to a fresh database)
    IF to_regprocedure('geocode_refresh_calibration()') IS NOT NULL THEN PERFORM geocode_refresh_calibration(); END IF;
END $$;

CREATE OR REPLACE FUNCTION geocode_refresh_addresses() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE geo_addresses;
    INSERT INTO geo_addresses (id, number, key, geom)
    SELECT a.id, a.number, geocode_key(p.predir, p.name, p.stype, p.sufdir), a.geom
    FROM addresses a CROSS JOIN LATERAL geocode_split(a.street) p WHERE p.name <> '';
    ANALYZE geo_addresses;
    -- range interpolation is calibrated against the address points (41_geocode_match.sql; not yet
    -- defined while this file is first applied to a fresh database)
    IF to_regprocedure('geocode_refresh_calibration()') IS NOT NULL THEN PERFORM geocode_refresh_calibration(); END IF;
END $$;

CREATE OR REPLACE FUNCTION geocode_refresh_intersections() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE geo_intersection_parts;
    INSERT INTO geo_intersection_parts (key, intersection_id)
    WITH parts AS MATERIALIZED (
        SELECT DISTINCT i.id, btrim(part) AS part
        FROM intersections i CROSS JOIN LATERAL unnest(string_to_array(i.name, ' & ')) AS part
    ), keys AS MATERIALIZED (
        SELECT d.part, geocode_key(p.predir, p.name, p.stype, p.sufdir) AS key, p.name <> '' AS named
        FROM (SELECT DISTINCT part FROM parts) d CROSS JOIN LATERAL geocode_split(d.part) p
    )
    SELECT DISTINCT k.key, parts.id FROM parts JOIN keys k USING (part) WHERE k.named;
    ANALYZE geo_intersection_parts;
END $$;

CREATE OR REPLACE FUNCTION geocode_refresh_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'streets' THEN PERFORM geocode_refresh_streets();
    ELSIF TG_TABLE_NAME = 'addresses' THEN PERFORM geocode_refresh_addresses();
    ELSIF TG_TABLE_NAME = 'intersections' THEN PERFORM geocode_refresh_intersections();
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER geocode_refresh AFTER INSERT OR DELETE OR TRUNCATE
    OR UPDATE OF dirpre, name, type, dirsuf, l_from, l_to, r_from, r_to, block_num, subtype, geom
    ON streets FOR EACH STATEMENT EXECUTE FUNCTION geocode_refresh_trigger();
CREATE OR REPLACE TRIGGER geocode_refresh AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON addresses FOR EACH STATEMENT EXECUTE FUNCTION geocode_refresh_trigger();
CREATE OR REPLACE TRIGGER geocode_refresh AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON intersections FOR EACH STATEMENT EXECUTE FUNCTION geocode_refresh_trigger();

-- Rebuild the derived tables with the definitions above (a no-op on an empty database).
SELECT geocode_refresh_streets();
SELECT geocode_refresh_addresses();
SELECT geocode_refresh_intersections();
