"""Same id, different content: rows of a batch whose (feed, id) was already stored (earlier, or by
an earlier row of the same batch) with other values. The stored event is kept (ingest is idempotent
by id); the sender is told which fields differ, and the refused row is kept in ingest_rejects."""
from __future__ import annotations

import psycopg

# Compared: what the sender says. Not compared: what the server derived (H3 cells, district, the
# geocoder's metadata) or a geocoded position, which may change with the reference data.
CONFLICTS_SQL = """
WITH cmp AS (
    SELECT s.row_no, s.feed_id, to_jsonb(s) AS raw, array_remove(ARRAY[
        CASE WHEN s.observed_at IS DISTINCT FROM e.observed_at THEN 'observed_at' END,
        CASE WHEN (s.loc_method = 'given' OR e.loc_method = 'given')
                  AND (s.loc_method IS DISTINCT FROM e.loc_method
                       OR s.lon IS DISTINCT FROM ST_X(e.geom) OR s.lat IS DISTINCT FROM ST_Y(e.geom))
             THEN 'lon/lat' END,
        CASE WHEN s.address IS DISTINCT FROM e.address THEN 'address' END,
        CASE WHEN s.type IS DISTINCT FROM e.type THEN 'type' END,
        CASE WHEN s.priority IS DISTINCT FROM e.priority THEN 'priority' END,
        CASE WHEN s.plate IS DISTINCT FROM e.plate THEN 'plate' END,
        CASE WHEN (s.attrs - 'geocode') IS DISTINCT FROM (e.attrs - 'geocode') THEN 'attributes' END
    ], NULL) AS fields
    FROM events_stage s
    JOIN event_keys k ON k.feed = s.feed AND k.feed_id = s.feed_id
    JOIN events e ON e.id = k.id AND e.observed_at = k.observed_at
), found AS (
    SELECT row_no, feed_id, raw, fields FROM cmp WHERE cardinality(fields) > 0
), kept AS (
    INSERT INTO ingest_rejects (batch_id, row_no, reason, raw)
    SELECT %(batch)s, row_no, 'conflict: id already stored with different ' || array_to_string(fields, ', '),
           raw::text
    FROM found
)
SELECT row_no, feed_id, fields FROM found ORDER BY row_no
"""


def find(conn: psycopg.Connection, batch: int) -> list[dict]:
    """Conflicting rows of the staged batch (run after its insert, in its transaction)."""
    return [{"row": row, "id": fid, "fields": fields,
             "reason": f"id '{fid}' was already stored with a different {', '.join(fields)}: "
                       "the stored event is kept; send a new id for a new event"}
            for row, fid, fields in conn.execute(CONFLICTS_SQL, {"batch": batch})]
