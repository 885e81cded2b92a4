-- Geocoder reference: street names normalised to USPS Publication 28 parts, keyed by the
-- normalised full name ('W NORTH AVE'), with pg_trgm indexes for typos; address points,
-- named intersections and street-network crossings keyed the same way. The derived tables are
-- rebuilt by statement triggers whenever streets, addresses or intersections change, so any
-- loader (demo, bench, a city's own import) keeps them current without a refresh call.
-- The word tables mirror geo/address.py (DIRS, TYPES, NAME_WORDS); tests/test_geocode.py checks
-- that both normalise every reference name the same way.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

CREATE TABLE IF NOT EXISTS geocode_words (
    role  text NOT NULL CHECK (role IN ('dir', 'type', 'name')),
    word  text NOT NULL,
    norm  text NOT NULL,
    PRIMARY KEY (role, word)
);
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
    ('name', 'MLK', 'MARTIN LUTHER KING')

ON CONFLICT (role, word) DO UPDATE SET norm = EXCLUDED.norm;

-- Upper case, apostrophes dropped, punctuation as spaces, single spaces (geo.address.clean).
CREATE OR REPLACE FUNCTION geocode_clean(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(regexp_replace(
        replace(replace(upper(coalesce(t, '')), '''', ''), '’', ''), '[.,;:"()]', ' ', 'g'), '\s+', ' ', 'g'))
$$;

CREATE OR REPLACE FUNCTION geocode_ordinal(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT n::text || CASE WHEN n % 100 BETWEEN 10 AND 20 THEN 'TH'
                           WHEN n % 10 = 1 THEN 'ST' WHEN n % 10 = 2 THEN 'ND'
                           WHEN n % 10 = 3 THEN 'RD' ELSE 'TH' END
$$;

-- The helpers below are plpgsql so their plans are cached across calls (a non-inlined SQL
-- function is planned again on every call: ~2 ms per street name instead of microseconds).
DROP FUNCTION IF EXISTS geocode_norm_word(text);

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

CREATE TABLE IF NOT EXISTS geo_street_names (
    key         text PRIMARY KEY,              -- normalised full name, e.g. 'W NORTH AVE'
    predir      text NOT NULL,
    name        text NOT NULL,                 -- e.g. 'NORTH'
    stype       text NOT NULL,                 -- Pub 28 suffix: AVE, ST, RD, LN, TER, HWY, ALY, ...
    sufdir      text NOT NULL,
    segments    integer NOT NULL
);
CREATE INDEX IF NOT EXISTS geo_street_names_name ON geo_street_names (name);
-- fastupdate off: the table is rebuilt in bulk, and a GIN pending list left behind makes every
-- similarity search scan it (13 ms instead of 0.4 ms per name).
CREATE INDEX IF NOT EXISTS geo_street_names_trgm ON geo_street_names USING gin (name gin_trgm_ops)
    WITH (fastupdate = off);
ALTER INDEX geo_street_names_trgm SET (fastupdate = off);

CREATE TABLE IF NOT EXISTS geo_segments (
    street_id   integer PRIMARY KEY,           -- streets.id
    key         text NOT NULL,
    l_from      integer NOT NULL, l_to integer NOT NULL,
    r_from      integer NOT NULL, r_to integer NOT NULL,
    block_num   integer,
    alley       boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS geo_segments_key ON geo_segments (key);

CREATE TABLE IF NOT EXISTS geo_addresses (
    id          text PRIMARY KEY,              -- addresses.id
    number      integer NOT NULL,
    key         text NOT NULL,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS geo_addresses_key ON geo_addresses (key, number);

CREATE TABLE IF NOT EXISTS geo_intersection_parts (
    key             text NOT NULL,
    intersection_id integer NOT NULL,          -- intersections.id
    PRIMARY KEY (key, intersection_id)
);
CREATE INDEX IF NOT EXISTS geo_intersection_parts_id ON geo_intersection_parts (intersection_id);

-- Where two differently named streets meet in the network: segment end points shared by both
-- (snapped to ~1 m), clustered within 100 m so a divided road gives one crossing (the node nearest
-- the cluster centroid stands for it); both orders kept.
CREATE TABLE IF NOT EXISTS geo_crossings (
    key_a       text NOT NULL,
    key_b       text NOT NULL,
    nodes       integer NOT NULL,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS geo_crossings_keys ON geo_crossings (key_a, key_b);

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
    INSERT INTO geo_crossings (key_a, key_b, nodes, geom)
    WITH ends AS (
        SELECT DISTINCT g.key, round(ST_X(e.p) * 1e5)::bigint AS gx, round(ST_Y(e.p) * 1e5)::bigint AS gy, e.p
        FROM geo_segments g JOIN streets s ON s.id = g.street_id
        CROSS JOIN LATERAL (VALUES (ST_StartPoint(s.geom)), (ST_EndPoint(s.geom))) AS e(p)
    ), pairs AS (
        SELECT a.key AS key_a, b.key AS key_b, a.p
        FROM ends a JOIN ends b ON a.gx = b.gx AND a.gy = b.gy AND a.key < b.key
    ), clustered AS (
        SELECT key_a, key_b, p,
               ST_ClusterDBSCAN(ST_Transform(p, 26985), 100, 1) OVER (PARTITION BY key_a, key_b) AS c
        FROM pairs
    )
    SELECT key_a, key_b, count(*), ST_ClosestPoint(ST_Collect(p), ST_Centroid(ST_Collect(p))) FROM clustered GROUP BY key_a, key_b, c;
    INSERT INTO geo_crossings (key_a, key_b, nodes, geom) SELECT key_b, key_a, nodes, geom FROM geo_crossings;
    ANALYZE geo_segments; ANALYZE geo_street_names; ANALYZE geo_crossings;
END $$;

CREATE OR REPLACE FUNCTION geocode_refresh_addresses() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE geo_addresses;
    INSERT INTO geo_addresses (id, number, key, geom)
    SELECT a.id, a.number, geocode_key(p.predir, p.name, p.stype, p.sufdir), a.geom
    FROM addresses a CROSS JOIN LATERAL geocode_split(a.street) p WHERE p.name <> '';
    ANALYZE geo_addresses;
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

DROP TRIGGER IF EXISTS geocode_refresh ON streets;
CREATE TRIGGER geocode_refresh AFTER INSERT OR DELETE OR TRUNCATE
    OR UPDATE OF dirpre, name, type, dirsuf, l_from, l_to, r_from, r_to, block_num, subtype, geom
    ON streets FOR EACH STATEMENT EXECUTE FUNCTION geocode_refresh_trigger();
DROP TRIGGER IF EXISTS geocode_refresh ON addresses;
CREATE TRIGGER geocode_refresh AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON addresses FOR EACH STATEMENT EXECUTE FUNCTION geocode_refresh_trigger();
DROP TRIGGER IF EXISTS geocode_refresh ON intersections;
CREATE TRIGGER geocode_refresh AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON intersections FOR EACH STATEMENT EXECUTE FUNCTION geocode_refresh_trigger();

-- Databases migrated after the reference data was loaded.
SELECT geocode_refresh_streets();
SELECT geocode_refresh_addresses();
SELECT geocode_refresh_intersections();

-- Fuzzy candidates by edit distance among names with the same first letter.
CREATE INDEX IF NOT EXISTS geo_street_names_initial ON geo_street_names (left(name, 1));
