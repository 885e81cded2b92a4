-- Every observation from every feed, partitioned by month of observed_at.
-- Idempotency lives in event_keys: one row per (feed, feed_id), whatever the partition.

CREATE TABLE IF NOT EXISTS ingest_batches (
    id          bigserial PRIMARY KEY,
    feed        text NOT NULL,
    origin      text NOT NULL DEFAULT 'api',   -- api, cli, demo, simulate, synth
    received_at timestamptz NOT NULL DEFAULT now(),
    accepted    integer NOT NULL DEFAULT 0,
    duplicates  integer NOT NULL DEFAULT 0,
    rejected    integer NOT NULL DEFAULT 0
);

-- Rejected rows are kept with their reason: nothing sent to the server is lost.
CREATE TABLE IF NOT EXISTS ingest_rejects (
    batch_id    bigint NOT NULL REFERENCES ingest_batches(id) ON DELETE CASCADE,
    row_no      integer NOT NULL,
    reason      text NOT NULL,
    raw         text
);
CREATE INDEX IF NOT EXISTS ingest_rejects_batch ON ingest_rejects (batch_id);

CREATE TABLE IF NOT EXISTS event_keys (
    id          bigserial PRIMARY KEY,
    feed        text NOT NULL,
    feed_id     text NOT NULL,
    observed_at timestamptz NOT NULL,
    UNIQUE (feed, feed_id)
);

CREATE TABLE IF NOT EXISTS events (
    id          bigint NOT NULL,               -- = event_keys.id
    feed        text NOT NULL,                 -- alpr, gunshot, cad, call
    feed_id     text NOT NULL,                 -- the feed's own id
    kind        text NOT NULL,                 -- alpr_read, gunshot, cad_incident, call
    observed_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    batch_id    bigint,
    geom        geometry(Point, 4326),         -- NULL only when loc_method = 'failed'
    loc_method  text NOT NULL CHECK (loc_method IN ('given', 'camera', 'geocoded', 'failed')),
    loc_score   real,                          -- 0..1 (1 for given coordinates)
    address     text,                          -- original address text, as sent
    h3_r7       bigint,
    h3_r8       bigint,
    h3_r9       bigint,
    h3_r10      bigint,
    district    text,
    beat        text,
    type        text,                          -- incident/call type
    priority    smallint,
    plate       text,                          -- normalised plate (ALPR)
    attrs       jsonb NOT NULL DEFAULT '{}'::jsonb,  -- remaining kind-specific attributes
    PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);

CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT;

CREATE INDEX IF NOT EXISTS events_kind_time ON events (kind, observed_at);
CREATE INDEX IF NOT EXISTS events_time_brin ON events USING brin (observed_at);
CREATE INDEX IF NOT EXISTS events_batch ON events (batch_id);
CREATE INDEX IF NOT EXISTS events_plate ON events (plate) WHERE plate IS NOT NULL;
