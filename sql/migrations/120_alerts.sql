-- Alerts (issue 14): hotlists by name, geofences, sites, rules, alerts with their lifecycle, and the
-- durable outbox of deliveries to the channels (DESIGN.md, "Outbox for everything that leaves").

-- Hotlists become named lists (NCIC-style: stolen vehicle, stolen plate, wanted person, AMBER, BOLO).
-- plate_key folds the common ALPR misreads (O->0, I->1, B->8) for tolerant ("possible") matches.
ALTER TABLE hotlists ADD COLUMN IF NOT EXISTS list text NOT NULL DEFAULT 'default';
ALTER TABLE hotlists ADD COLUMN IF NOT EXISTS expires timestamptz;
ALTER TABLE hotlists ADD COLUMN IF NOT EXISTS source text;
ALTER TABLE hotlists ADD COLUMN IF NOT EXISTS notes text;
ALTER TABLE hotlists ADD COLUMN IF NOT EXISTS plate_key text
    GENERATED ALWAYS AS (translate(plate, 'OIB', '018')) STORED;
ALTER TABLE hotlists DROP CONSTRAINT IF EXISTS hotlists_pkey;
ALTER TABLE hotlists ADD PRIMARY KEY (list, plate, state);
CREATE INDEX IF NOT EXISTS hotlists_plate ON hotlists (plate);
CREATE INDEX IF NOT EXISTS hotlists_plate_key ON hotlists (plate_key);

-- Polygons drawn on the map or uploaded; `zone` is the polygon grown by buffer_m (what rules test).
-- Active hours are local times of the agency (RTCC_TIMEZONE); NULL = always; from > to wraps midnight.
CREATE TABLE IF NOT EXISTS geofences (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    owner       text NOT NULL DEFAULT '',
    active_from time,
    active_to   time,
    buffer_m    real NOT NULL DEFAULT 0 CHECK (buffer_m >= 0 AND buffer_m <= 5000),
    active      boolean NOT NULL DEFAULT true,
    created_by  text NOT NULL DEFAULT 'anonymous',
    created_at  timestamptz NOT NULL DEFAULT now(),
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    zone        geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS geofences_zone_gist ON geofences USING gist (zone);

-- Places the agency cares about (schools, stations, hospitals...): "within N m of" a rule targets.
CREATE TABLE IF NOT EXISTS sites (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'school',
    address     text,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS sites_geom_gist ON sites USING gist (geom);

-- A rule: which kinds, an optional CQL2 filter (validated when saved), an optional zone (one
-- geofence or any active one) or "within near_m of" a layer's features, a priority (1 = highest)
-- and a throttle window. kind 'hotlist' matches ALPR reads against the active hotlists.
CREATE TABLE IF NOT EXISTS alert_rules (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    kind         text NOT NULL DEFAULT 'event' CHECK (kind IN ('event', 'hotlist')),
    kinds        text[] NOT NULL DEFAULT '{}',
    filter       text,
    hotlists     text[],                  -- hotlist rules: these lists only (NULL = all)
    tolerant     boolean NOT NULL DEFAULT true,
    geofence_id  bigint REFERENCES geofences(id) ON DELETE CASCADE,
    any_geofence boolean NOT NULL DEFAULT false,
    near_layer   text,
    near_filter  text,
    near_m       real CHECK (near_m IS NULL OR (near_m > 0 AND near_m <= 10000)),
    priority     smallint NOT NULL DEFAULT 2 CHECK (priority BETWEEN 1 AND 3),
    throttle_s   integer NOT NULL DEFAULT 600 CHECK (throttle_s >= 0),
    active       boolean NOT NULL DEFAULT true,
    builtin      boolean NOT NULL DEFAULT false,
    created_by   text NOT NULL DEFAULT 'system',
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row bumped on every rule change (trigger alert_rules_bump, sql/definitions/90_alerts.sql):
-- each process recompiles its rules when it moves.
CREATE TABLE IF NOT EXISTS alert_rules_version (one boolean PRIMARY KEY DEFAULT true CHECK (one), v bigint NOT NULL);
INSERT INTO alert_rules_version VALUES (true, 1) ON CONFLICT DO NOTHING;

INSERT INTO alert_rules (name, kind, kinds, filter, any_geofence, near_layer, near_filter, near_m, priority,
                         throttle_s, builtin, active) VALUES
    ('Hotlist hit', 'hotlist', '{alpr_read}', NULL, false, NULL, NULL, NULL, 1, 900, true, true),
    ('Hotlisted plate inside a geofence', 'hotlist', '{alpr_read}', NULL, true, NULL, NULL, NULL, 1, 900, true, true),
    ('Gunshot near a school', 'event', '{gunshot}', NULL, false, 'sites', 'kind = ''school''', 300, 1, 600, true, true),
    ('P1 CAD incident in a zone', 'event', '{cad_incident}', 'priority = 1', true, NULL, NULL, NULL, 1, 0, true, true)
ON CONFLICT (name) DO NOTHING;

-- Throttle: one alert per (rule, subject) per window, taken with an upsert so concurrent batches agree.
CREATE TABLE IF NOT EXISTS alert_throttle (
    rule_id     bigint NOT NULL,
    key         text NOT NULL,
    until       timestamptz NOT NULL,
    PRIMARY KEY (rule_id, key)
);

CREATE TABLE IF NOT EXISTS alerts (
    id            bigserial PRIMARY KEY,
    rule_id       bigint REFERENCES alert_rules(id) ON DELETE SET NULL,
    rule_name     text NOT NULL,
    priority      smallint NOT NULL,
    status        text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'acknowledged', 'dispatched', 'closed')),
    title         text NOT NULL,
    match         text NOT NULL DEFAULT 'certain' CHECK (match IN ('certain', 'possible')),
    kind          text NOT NULL,                 -- kind of the triggering event
    event_ids     bigint[] NOT NULL,
    event         jsonb NOT NULL,                -- the triggering event as it was
    hotlist       jsonb,                         -- the hotlist entry hit (list, plate, state, reason)
    zone          text,                          -- geofence or site that placed it
    observed_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    address       text,
    district      text,
    beat          text,
    proximity     jsonb,                         -- cameras and units at that moment (rtcc_proximity)
    ack_by        text, ack_at timestamptz,
    dispatched_by text, dispatched_at timestamptz,
    closed_by     text, closed_at timestamptz,
    notes         jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{at, by, action, text}]
    geom          geometry(Point, 4326)
);
CREATE INDEX IF NOT EXISTS alerts_created ON alerts (created_at DESC);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status) WHERE status <> 'closed';

-- Channels an administrator configured (kind slack, teams, tak, cap, webhook, email).
CREATE TABLE IF NOT EXISTS alert_channels (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('slack', 'teams', 'tak', 'cap', 'webhook', 'email')),
    url          text NOT NULL,
    secret       text,                            -- webhook HMAC key
    rule_ids     bigint[],                        -- only these rules (NULL = all)
    max_priority smallint CHECK (max_priority BETWEEN 1 AND 3),  -- only priority <= this
    districts    text[],                          -- only alerts in these districts
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per (alert, channel), written in the alert's transaction.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id           bigserial PRIMARY KEY,
    alert_id     bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel_id   bigint NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    idem_key     uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL DEFAULT now(),
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (alert_id, channel_id)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (next_at) WHERE status = 'pending';
