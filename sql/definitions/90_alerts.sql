-- Alerts: rule changes bump alert_rules_version, whether a geofence is open at an instant (in the
-- agency's local time), and the geofences map layer.

-- Each process recompiles its rules when the version moves.
CREATE OR REPLACE FUNCTION rtcc_rules_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE alert_rules_version SET v = v + 1;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER alert_rules_bump AFTER INSERT OR UPDATE OR DELETE ON alert_rules
    FOR EACH STATEMENT EXECUTE FUNCTION rtcc_rules_bump();

-- Active hours [from, to) in local time of zone `tz`; NULL bounds = always; from > to wraps midnight
-- (22:00-06:00 is a night shift).
CREATE OR REPLACE FUNCTION rtcc_geofence_open(t_from time, t_to time, at timestamptz, tz text)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN t_from IS NULL OR t_to IS NULL OR t_from = t_to THEN true
        WHEN t_from < t_to THEN (at AT TIME ZONE tz)::time >= t_from AND (at AT TIME ZONE tz)::time < t_to
        ELSE (at AT TIME ZONE tz)::time >= t_from OR (at AT TIME ZONE tz)::time < t_to
    END
$$;

-- The geofences map layer (layers/catalog.py): active hours as text, the drawn polygon.
CREATE OR REPLACE VIEW geofence_areas AS
    SELECT id, name, owner,
           CASE WHEN active_from IS NULL OR active_to IS NULL THEN 'always'
                ELSE to_char(active_from, 'HH24:MI') || '-' || to_char(active_to, 'HH24:MI') END AS active_hours,
           buffer_m, active, created_by, created_at, geom
    FROM geofences;
