-- The RTCC task tracker: every request the centre works is a task, so the centre can measure
-- what it does (time spent, activity mix, outcomes, solve rate). Lookups are tables, not CHECKs,
-- so an agency can add an activity type or an outcome without a migration.

CREATE TABLE IF NOT EXISTS task_activity_types (
    code        text PRIMARY KEY,
    label       text NOT NULL,
    sort        smallint NOT NULL DEFAULT 0
);
INSERT INTO task_activity_types (code, label, sort) VALUES
    ('video_review', 'Video review', 1),
    ('live_camera', 'Live camera monitoring', 2),
    ('lpr_search', 'LPR search', 3),
    ('social_media', 'Social media', 4),
    ('records_check', 'Records check', 5),
    ('phone_analysis', 'Phone / cell analysis', 6),
    ('bulletin', 'Bulletin / flyer', 7),
    ('other', 'Other', 9)
ON CONFLICT (code) DO NOTHING;

-- solved: the outcome counts towards the solve rate (everything but "no result").
CREATE TABLE IF NOT EXISTS task_outcomes (
    code        text PRIMARY KEY,
    label       text NOT NULL,
    solved      boolean NOT NULL,
    sort        smallint NOT NULL DEFAULT 0
);
INSERT INTO task_outcomes (code, label, solved, sort) VALUES
    ('suspect_identified', 'Suspect identified', true, 1),
    ('vehicle_located', 'Vehicle located', true, 2),
    ('arrest', 'Arrest', true, 3),
    ('case_cleared', 'Case cleared', true, 4),
    ('no_result', 'No result', false, 5)
ON CONFLICT (code) DO NOTHING;

CREATE TABLE IF NOT EXISTS tasks (
    id              bigserial PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    status          text GENERATED ALWAYS AS (CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END) STORED,
    title           text NOT NULL DEFAULT '',
    analyst         text NOT NULL,
    requested_by    text,                                  -- requesting unit or detective
    incident_ids    bigint[] NOT NULL DEFAULT '{}',        -- events.id of the linked incidents
    activity_types  text[] NOT NULL DEFAULT '{}',          -- codes from task_activity_types
    crime_type      text,
    outcome         text REFERENCES task_outcomes (code),
    minutes_spent   integer NOT NULL DEFAULT 0 CHECK (minutes_spent >= 0),  -- minutes
    notes           text,
    geom            geometry(Point, 4326),
    CHECK (closed_at IS NULL OR closed_at >= created_at),
    CHECK (closed_at IS NULL OR outcome IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at);
CREATE INDEX IF NOT EXISTS tasks_activity_gin ON tasks USING gin (activity_types);
CREATE INDEX IF NOT EXISTS tasks_incidents_gin ON tasks USING gin (incident_ids);
CREATE INDEX IF NOT EXISTS tasks_crime_type ON tasks (crime_type);
CREATE INDEX IF NOT EXISTS tasks_geom_gist ON tasks USING gist (geom);
