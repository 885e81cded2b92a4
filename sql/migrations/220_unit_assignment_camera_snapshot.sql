-- What the unit and camera cards show (issue 16): the incident a unit is assigned to, as the CAD or
-- AVL feed sends it with the unit's status, and a camera's snapshot image beside its stream.
ALTER TABLE units ADD COLUMN IF NOT EXISTS incident_id text;
ALTER TABLE cameras ADD COLUMN IF NOT EXISTS snapshot_url text;
