-- Extensions the server relies on: PostGIS for geometry, pg_trgm for fuzzy street names,
-- pgRouting for drive-time ETAs over the street network.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pgrouting;
