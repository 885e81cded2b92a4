"""The "proximity" message on /api/live: the stored answer for an incident, read when its NOTIFY arrives."""
from __future__ import annotations

import orjson
import psycopg

from services import live


@live.fetcher("proximity")
async def proximity_messages(conn: psycopg.AsyncConnection, p: dict) -> list[dict]:
    cur = await conn.execute("""
        SELECT (jsonb_build_object('type', 'proximity', 'event_id', r.event_id, 'kind', r.kind,
                                   'observed_at', r.observed_at, 'computed_at', r.computed_at) || r.result)::text
        FROM proximity_results r WHERE r.event_id = %s""", (p.get("event_id"),))
    return [orjson.loads(t) for (t,) in await cur.fetchall()]
