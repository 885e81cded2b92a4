-- Reference layers of the city: streets (routable, with address ranges), address points,
-- intersections, districts, beats, neighbourhoods, stations, the service area and H3 cells.

CREATE TABLE IF NOT EXISTS streets (
    id          integer PRIMARY KEY,           -- city segment id
    fullname    text NOT NULL DEFAULT '',      -- e.g. 'W NORTH AVE'
    dirpre      text NOT NULL DEFAULT '',
    name        text NOT NULL DEFAULT '',      -- bare name, e.g. 'NORTH'
    type        text NOT NULL DEFAULT '',      -- street type as published: AVE, ST, ROAD, ...
    dirsuf      text NOT NULL DEFAULT '',
    subtype     text NOT NULL DEFAULT '',      -- Paved Road, Alley, Limited Access, Ramp, ...
    sha_class   text NOT NULL DEFAULT '',      -- functional class: LOC, COLL, MART, PART, INT, FWY
    l_from      integer NOT NULL DEFAULT 0,    -- left-side address range (0/0: no addresses)
    l_to        integer NOT NULL DEFAULT 0,
    r_from      integer NOT NULL DEFAULT 0,    -- right-side address range
    r_to        integer NOT NULL DEFAULT 0,
    block_num   integer,
    oneway      smallint NOT NULL DEFAULT 0,   -- 0 two-way, 1 along the digitised direction, -1 against
    speed_kmh   real,                          -- travel speed used for ETAs (derived from sha_class)
    geom        geometry(LineString, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS streets_geom_gist ON streets USING gist (geom);

CREATE TABLE IF NOT EXISTS addresses (
    id          text PRIMARY KEY,
    number      integer NOT NULL,
    street      text NOT NULL,                 -- full form as published, e.g. 'West Franklin Street'
    zip         text,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS addresses_geom_gist ON addresses USING gist (geom);

CREATE TABLE IF NOT EXISTS intersections (
    id          integer PRIMARY KEY,
    name        text NOT NULL,                 -- street names joined with ' & '
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS intersections_geom_gist ON intersections USING gist (geom);

CREATE TABLE IF NOT EXISTS districts (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    abbr        text,
    geom        geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS districts_geom_gist ON districts USING gist (geom);

-- Police posts (beats). The city publishes no post polygons; the demo derives them (see
-- services/demo.py) and a real deployment loads its own.
CREATE TABLE IF NOT EXISTS beats (
    id          text PRIMARY KEY,
    district    text,
    derived     boolean NOT NULL DEFAULT false,
    geom        geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS beats_geom_gist ON beats USING gist (geom);

CREATE TABLE IF NOT EXISTS neighborhoods (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    type        text,
    geom        geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS neighborhoods_geom_gist ON neighborhoods USING gist (geom);

CREATE TABLE IF NOT EXISTS stations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL,
    district    text,
    address     text,
    geom        geometry(Point, 4326) NOT NULL
);

-- The agency's jurisdiction (the city limit for the demo).
CREATE TABLE IF NOT EXISTS service_area (
    name        text PRIMARY KEY,
    geom        geometry(MultiPolygon, 4326) NOT NULL
);

-- H3 cell -> hexagon, filled as cells appear in events (h3-py v4 integer form).
CREATE TABLE IF NOT EXISTS h3_cells (
    cell        bigint PRIMARY KEY,
    res         smallint NOT NULL,
    geom        geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS h3_cells_geom_gist ON h3_cells USING gist (geom);
