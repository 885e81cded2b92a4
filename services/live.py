"""GET /api/live: Server-Sent Events fed by PostgreSQL LISTEN/NOTIFY.

Each app process keeps one LISTEN connection and fans out to its own SSE clients, so any
number of processes behind a load balancer stay in sync without a broker. A NOTIFY carries a
small JSON payload ({"type": ..., "batch": ...}); a fetcher per type turns it into messages.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

import orjson
import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from services import audit, auth, db
from services.ingest.pipeline import LIVE_CHANNEL
from services.settings import database_url

log = logging.getLogger("rtcc.live")
router = APIRouter(prefix="/api", tags=["live"])

Fetcher = Callable[[psycopg.AsyncConnection, dict], Awaitable[list[dict]]]
FETCHERS: dict[str, Fetcher] = {}

EVENT_JSON = """
    json_build_object(
        'type', 'event', 'id', e.id, 'feed', e.feed, 'feed_id', e.feed_id, 'kind', e.kind,
        'observed_at', e.observed_at, 'received_at', e.received_at,
        'lon', ST_X(e.geom), 'lat', ST_Y(e.geom), 'loc_method', e.loc_method, 'loc_score', e.loc_score,
        'address', e.address, 'district', e.district, 'beat', e.beat, 'type_', e.type,
        'priority', e.priority, 'plate', e.plate, 'attrs', e.attrs)::text"""


def fetcher(kind: str):
    """Register how a NOTIFY of this type becomes SSE messages."""
    def deco(fn: Fetcher) -> Fetcher:
        FETCHERS[kind] = fn
        return fn
    return deco


@fetcher("events")
async def _events(conn: psycopg.AsyncConnection, p: dict) -> list[dict]:
    cur = await conn.execute(
        f"SELECT {EVENT_JSON} FROM events e WHERE e.batch_id = %s AND e.observed_at BETWEEN %s AND %s "
        "ORDER BY e.id", (p["batch"], p["lo"], p["hi"]))
    out = []
    for (txt,) in await cur.fetchall():
        d = orjson.loads(txt)
        d["event_type"] = d.pop("type_")
        out.append(d)
    return out


@fetcher("units")
async def _units(conn: psycopg.AsyncConnection, p: dict) -> list[dict]:
    cur = await conn.execute("""
        SELECT json_build_object('type', 'unit', 'id', u.id, 'callsign', u.callsign, 'status', u.status,
               'unit_type', u.type, 'district', u.district, 'lon', ST_X(u.geom), 'lat', ST_Y(u.geom),
               'heading_deg', u.heading_deg, 'speed_kmh', u.speed_kmh, 'observed_at', u.observed_at)::text
        FROM units u WHERE u.id IN (SELECT unit_id FROM unit_positions WHERE batch_id = %s)""", (p["batch"],))
    return [orjson.loads(t) for (t,) in await cur.fetchall()]


class Hub:
    """One LISTEN connection per process; each SSE client has a bounded queue."""

    def __init__(self) -> None:
        self.clients: set[asyncio.Queue] = set()
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(database_url(), autocommit=True) as listen, \
                        await psycopg.AsyncConnection.connect(database_url(), autocommit=True) as query:
                    await listen.execute(f"LISTEN {LIVE_CHANNEL}")
                    self.ready.set()
                    delay = 0.5
                    async for n in listen.notifies():
                        await self._dispatch(query, n.payload)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # database restart: reconnect with backoff
                self.ready.clear()
                log.warning("live listener lost its connection (%s); retrying in %.1fs", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _dispatch(self, conn: psycopg.AsyncConnection, payload: str) -> None:
        try:
            p = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        fn = FETCHERS.get(p.get("type"))
        if fn is not None:
            msgs = await fn(conn, p)
        elif "data" in p:
            msgs = [{"type": p["type"], **p["data"]}]
        else:
            return
        if not self.clients:
            return
        for m in msgs:
            for q in list(self.clients):
                try:
                    q.put_nowait(m)
                except asyncio.QueueFull:
                    # A client that cannot keep up is disconnected (it reconnects), never fed a gap silently.
                    self.clients.discard(q)
                    q.put_nowait_overflow = True  # type: ignore[attr-defined]

    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=10000)
        self.clients.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        self.clients.discard(q)


hub = Hub()


@router.get("/live", summary="Live stream of new events, unit moves and proximity results (SSE)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def live(request: Request,
               kinds: str | None = Query(None, description="Comma-separated event kinds to receive (default all)"),
               types: str | None = Query(None, description="Message types: event, unit, camera, proximity (default all)"),
               principal: auth.Principal = Depends(auth.require("events:read"))):
    want_kinds = {k.strip() for k in kinds.split(",")} if kinds else None
    want_types = {t.strip() for t in types.split(",")} if types else None
    # Plate data (ALPR events, hotlisted plates in proximity answers) reaches only a subscriber
    # allowed to read it who stated a purpose; asked for explicitly without one: 403.
    if want_kinds and want_kinds & audit.PERSONAL_KINDS and (want_types is None or "event" in want_types):
        auth.require_purpose(request)
    plates_ok = auth.may_read_plates(request)
    alpr_events = (want_types is None or "event" in want_types) and (want_kinds is None or want_kinds & audit.PERSONAL_KINDS)
    audited = plates_ok and (alpr_events or want_types is None or "proximity" in want_types)

    def _open():
        # A stream is only promised while the database answers; during an outage the subscriber gets
        # the 503 + Retry-After every route gives (a cached sign-in needs no database to get here).
        with db.pool().connection() as conn:
            if audited:
                audit.record(conn, request, "live.subscribe", "api/live",
                             {"kinds": sorted(want_kinds) if want_kinds else "all"})
            else:
                conn.execute("SELECT 1")
    await run_in_threadpool(_open)
    hub.start()
    q = hub.subscribe()

    async def stream():
        try:
            yield b"retry: 2000\n: connected\n\n"
            while True:
                if await request.is_disconnected():
                    break
                try:
                    m = await asyncio.wait_for(q.get(), timeout=15)
                except asyncio.TimeoutError:
                    if getattr(q, "put_nowait_overflow", False):
                        break
                    yield b": keepalive\n\n"
                    continue
                if want_types and m.get("type") not in want_types:
                    continue
                if want_kinds and m.get("type") == "event" and m.get("kind") not in want_kinds:
                    continue
                m = auth.live_view(principal, plates_ok, m)
                if m is None:
                    continue
                yield b"event: " + m["type"].encode() + b"\ndata: " + orjson.dumps(m) + b"\n\n"
        finally:
            hub.unsubscribe(q)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
