-- The map layer (layers/catalog.py "tasks"): tasks that have a location. Arrays become text,
-- since vector tiles and most OGC clients carry no array properties.
CREATE OR REPLACE VIEW task_locations AS
    SELECT t.id, t.created_at, t.closed_at, t.status, t.title, t.analyst, t.requested_by,
           array_to_string(t.incident_ids, ',') AS incident_ids,
           array_to_string(t.activity_types, ',') AS activity_types,
           t.crime_type, t.outcome, t.minutes_spent, t.geom
    FROM tasks t WHERE t.geom IS NOT NULL;
