-- Assets: cameras (agency, partner and private registry) and patrol units with their history.

CREATE TABLE IF NOT EXISTS cameras (
    id          text PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    kind        text NOT NULL DEFAULT 'cctv',  -- cctv, speed, alpr, ...
    owner       text NOT NULL DEFAULT 'agency' CHECK (owner IN ('agency', 'partner', 'private')),
    project     text,                          -- programme or owner name, e.g. 'BPD - Downtown'
    heading_deg real CHECK (heading_deg IS NULL OR (heading_deg >= 0 AND heading_deg < 360)),
    fov_deg     real CHECK (fov_deg IS NULL OR (fov_deg > 0 AND fov_deg <= 360)),
    range_m     real CHECK (range_m IS NULL OR range_m > 0),
    stream_url  text,
    contact     text,
    status      text NOT NULL DEFAULT 'online',
    attrs       jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX IF NOT EXISTS cameras_geom_gist ON cameras USING gist (geom);

CREATE TABLE IF NOT EXISTS units (
    id          text PRIMARY KEY,
    callsign    text NOT NULL,
    type        text NOT NULL DEFAULT 'patrol',
    status      text NOT NULL DEFAULT 'available'
                CHECK (status IN ('available', 'enroute', 'onscene', 'busy', 'offduty')),
    district    text,
    heading_deg real,
    speed_kmh   real,
    observed_at timestamptz,                   -- time of the last position
    updated_at  timestamptz NOT NULL DEFAULT now(),
    geom        geometry(Point, 4326)
);
CREATE INDEX IF NOT EXISTS units_geom_gist ON units USING gist (geom);

CREATE TABLE IF NOT EXISTS unit_positions (
    unit_id     text NOT NULL,
    observed_at timestamptz NOT NULL,
    status      text NOT NULL,
    heading_deg real,
    speed_kmh   real,
    batch_id    bigint,
    geom        geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (unit_id, observed_at)
);
CREATE INDEX IF NOT EXISTS unit_positions_time_brin ON unit_positions USING brin (observed_at);
