-- How wide a street-network crossing is (metres: the radius of the smallest circle holding its
-- nodes; for a crossing across a gap, the gap), so the geocoder can tell a tight junction from a
-- spread one (geocode_refresh_crossings).
ALTER TABLE geo_crossings ADD COLUMN IF NOT EXISTS radius_m real NOT NULL DEFAULT 0;
