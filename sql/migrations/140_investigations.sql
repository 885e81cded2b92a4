-- Investigations (issue 15): plate search indexes, tips without a location, cases.

-- Plate search. Exact plates and prefixes ('7AB*') read (plate text_pattern_ops, observed_at):
-- the database collation is C.UTF-8, which PostgreSQL 15 does not treat as C, so a plain btree
-- cannot serve LIKE 'prefix%'; equality is served too, newest first by a backward scan. It
-- replaces the plain (plate) index of 003. Patterns with a leading wildcard ('*AB7*') read the
-- trigram index (pg_trgm, already installed for the geocoder); the API insists on 3 literal
-- characters in a row for them, so no pattern falls back to reading every read.
CREATE INDEX IF NOT EXISTS events_plate_pattern ON events (plate text_pattern_ops, observed_at)
    WHERE plate IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_plate_trgm ON events USING gin (plate gin_trgm_ops)
    WHERE plate IS NOT NULL;
DROP INDEX IF EXISTS events_plate;

-- A tip may come with neither a point nor an address ("a caller says the car is a blue Civic"):
-- it is kept unplaced with loc_method 'none' (not 'failed': nothing was tried).
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_loc_method_check;
ALTER TABLE events ADD CONSTRAINT events_loc_method_check
    CHECK (loc_method IN ('given', 'camera', 'geocoded', 'failed', 'none'));

-- Cases: a case number (the agency's RMS number, given by the analyst) gathers events, alerts,
-- tasks, tips, notes and plate searches. Items are links, never copies: an event stays in events.
CREATE TABLE IF NOT EXISTS cases (
    case_number text PRIMARY KEY CHECK (case_number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    title       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL
);

CREATE TABLE IF NOT EXISTS case_items (
    id          bigserial PRIMARY KEY,
    case_number text NOT NULL REFERENCES cases (case_number) ON DELETE CASCADE,
    item_type   text NOT NULL CHECK (item_type IN ('event', 'task', 'alert', 'search')),
    ref_id      bigint,                               -- events.id, tasks.id, alerts id; NULL for searches
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,   -- for a search: its parameters and result count
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_by    text NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS case_items_ref ON case_items (case_number, item_type, ref_id)
    WHERE ref_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS case_items_case ON case_items (case_number, added_at);

CREATE TABLE IF NOT EXISTS case_notes (
    id          bigserial PRIMARY KEY,
    case_number text NOT NULL REFERENCES cases (case_number) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    author      text NOT NULL,
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 20000)
);
CREATE INDEX IF NOT EXISTS case_notes_case ON case_notes (case_number, at);

-- Correlation around an incident lists the patrol units that were within R metres and T minutes
-- (AVL history): space and time in one GiST scan, as events_kind_geom_time does for events.
CREATE INDEX IF NOT EXISTS unit_positions_geom_time ON unit_positions USING gist (geom, observed_at);

-- Tips (and any event sent with a case number) name their case in attrs: found without a scan.
CREATE INDEX IF NOT EXISTS events_case_number ON events ((attrs->>'case_number'))
    WHERE attrs ? 'case_number';
