-- Retention and legal hold (services/retention.py). A hold on a case number keeps the events it
-- cites (by id, or every read of a plate) whatever their age; purges are audited with counts.

CREATE TABLE IF NOT EXISTS legal_holds (
    case_number text PRIMARY KEY CHECK (case_number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    reason      text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz
);

CREATE TABLE IF NOT EXISTS legal_hold_items (
    case_number text NOT NULL REFERENCES legal_holds (case_number),
    event_id    bigint,          -- one cited event
    plate       text,            -- or every read of this plate
    CHECK ((event_id IS NULL) <> (plate IS NULL))
);
CREATE INDEX IF NOT EXISTS legal_hold_items_event ON legal_hold_items (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS legal_hold_items_plate ON legal_hold_items (plate) WHERE plate IS NOT NULL;
-- (functions: sql/definitions/96_retention.sql)
