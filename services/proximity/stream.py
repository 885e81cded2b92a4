"""The "proximity" message on /api/live: the stored answer for an incident, read when its notice arrives."""
from __future__ import annotations

import psycopg

from services import live


@live.fetcher("proximity")
def proximity_messages(conn: psycopg.Connection, p: dict) -> list[live.Message]:
    cur = conn.execute("""
        SELECT r.kind, (jsonb_build_object('type', 'proximity', 'event_id', r.event_id, 'kind', r.kind,
                                   'observed_at', r.observed_at, 'computed_at', r.computed_at) || r.result)::text
        FROM proximity_results r WHERE r.event_id = %s""", (p.get("event_id"),))
    return [("proximity", kind, t) for kind, t in cur.fetchall()]
