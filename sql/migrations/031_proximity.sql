-- The proximity engine's stored answers and its queue (the functions are in
-- sql/definitions/70_proximity*.sql).

-- Stored answers for incidents (reproducible later), and the queue that feeds them.
CREATE TABLE IF NOT EXISTS proximity_results (
    event_id    bigint PRIMARY KEY,            -- events.id
    observed_at timestamptz NOT NULL,          -- of the event (locates its partition)
    kind        text NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    params      jsonb NOT NULL,                -- the parameters the answer was computed with
    result      jsonb NOT NULL                 -- {location, cameras, units, recent}
);
CREATE INDEX IF NOT EXISTS proximity_results_time ON proximity_results (observed_at);

CREATE TABLE IF NOT EXISTS proximity_jobs (
    event_id    bigint PRIMARY KEY,
    observed_at timestamptz NOT NULL,
    batch_id    bigint NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text
);
