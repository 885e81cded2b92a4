-- Geocoder reference: street names normalised to USPS Publication 28 parts, keyed by the
-- normalised full name ('W NORTH AVE'), with pg_trgm indexes for typos; address points,
-- named intersections and street-network crossings keyed the same way. The derived tables are
-- rebuilt by statement triggers whenever streets, addresses or intersections change
-- (sql/definitions/40_geocode_reference.sql), so any loader keeps them current.
-- The word tables mirror geo/address.py (DIRS, TYPES, NAME_WORDS); tests/test_geocode.py checks
-- that both normalise every reference name the same way.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- The normaliser's vocabulary; its rows are kept with the functions that read them
-- (sql/definitions/40_geocode_reference.sql).
CREATE TABLE IF NOT EXISTS geocode_words (
    role  text NOT NULL CHECK (role IN ('dir', 'type', 'name')),
    word  text NOT NULL,
    norm  text NOT NULL,
    PRIMARY KEY (role, word)
);

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

-- Where two differently named streets meet in the network (geocode_refresh_crossings); both
-- orders kept.
CREATE TABLE IF NOT EXISTS geo_crossings (
    key_a       text NOT NULL,
    key_b       text NOT NULL,
    nodes       integer NOT NULL,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS geo_crossings_keys ON geo_crossings (key_a, key_b);

-- Fuzzy candidates by edit distance among names with the same first letter.
CREATE INDEX IF NOT EXISTS geo_street_names_initial ON geo_street_names (left(name, 1));
