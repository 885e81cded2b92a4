-- The bus's durable log (services/bus.py). Every notice on the live channel is a row here, written
-- in the same transaction as the change it announces; NOTIFY only wakes the listeners. Readers ask
-- for "every row after id N", so a reconnecting listener or a resuming SSE client misses nothing.
CREATE TABLE IF NOT EXISTS live_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    type    text NOT NULL,                 -- events, units, cameras, task, proximity, layers, ...
    payload jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS live_log_at ON live_log (at);

-- Rows below `below` may have been pruned: a reader asking for older ids is told to resync.
CREATE TABLE IF NOT EXISTS live_log_pruned (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    below bigint NOT NULL
);
INSERT INTO live_log_pruned (one, below) VALUES (true, 0) ON CONFLICT DO NOTHING;

-- Durable consumers of the log (the proximity worker): the last id each has handled, shared by
-- every app process (the row lock lets exactly one process advance it at a time).
CREATE TABLE IF NOT EXISTS bus_cursors (
    name    text PRIMARY KEY,
    last_id bigint NOT NULL
);
INSERT INTO bus_cursors (name, last_id) VALUES ('proximity', 0) ON CONFLICT DO NOTHING;

-- Live incidents before backfill: 0 = live (answered first), 1 = bulk; newest first within each.
ALTER TABLE proximity_jobs ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS proximity_jobs_next ON proximity_jobs (priority, observed_at DESC);

-- Jobs are now queued by the proximity worker from the log (services/proximity/jobs.py), after the
-- batch commits, not inside the ingest transaction.
DROP FUNCTION IF EXISTS rtcc_proximity_enqueue(bigint);
