-- Each camera's view cone is stored with it (kept by a trigger, sql/definitions/20_cameras.sql) so
-- the map draws cones and the proximity engine finds "cameras that may see this point" on an index.
ALTER TABLE cameras ADD COLUMN IF NOT EXISTS cone geometry(Polygon, 4326);
CREATE INDEX IF NOT EXISTS cameras_cone_gist ON cameras USING gist (cone);
