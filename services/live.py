"""GET /api/live: Server-Sent Events of the bus's notices, resumable by id.

Every message carries an SSE `id:` derived from the durable bus log (services/bus.py): message k of
the messages built from notice N is "N.k", and the last one is plain "N" ("everything of N"). A
client that reconnects with `Last-Event-ID` (EventSource does it by itself) or `?since_id=` gets
what it missed read back from the database, then the live messages. A client that falls too far
behind gets `event: resync` (its id is where to resume) and the stream ends; a client asking for
ids that were pruned gets `event: resync` with reason "expired" (reload the view) and continues
from the newest.

Fan-out is one shared ring of encoded messages per process: the bus thread builds each message's
bytes once and appends them; each client keeps a position in the ring and writes everything after
it in one chunk, so the cost per client is a slice and a write, not a queue put per message.
Each subscriber gets only the layers its role may read and plate data only with alpr:read and a
stated purpose (services/auth); the plate-free form of a message is also built once, in the ring.
"""
from __future__ import annotations

import asyncio
import bisect
import logging
import threading
from typing import Callable, NamedTuple

import orjson
import psycopg
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from services import audit, auth, db
from services.bus import Notice, bus
from services import bus as bus_log
from services.errors import BadRequest, Unavailable
from services.settings import get_settings

log = logging.getLogger("rtcc.live")
router = APIRouter(prefix="/api", tags=["live"])

KEY_BITS = 24                  # a message key is notice id << 24 | index within the notice
LAST = (1 << KEY_BITS) - 1     # the index of a notice's last message (its id is the notice id alone)
CHUNK = 2000                   # messages written to a client at once at most
KEEPALIVE_S = 15.0
BUS_WAIT_S = 5.0               # a subscriber waits this long for the bus to (re)connect, then 503
REPLAY_NOTICES = 200           # notices read back from the database per page

Message = tuple[str, "str | None", str]           # (type, event kind or None, JSON text)
Fetcher = Callable[[psycopg.Connection, dict], list[Message]]
FETCHERS: dict[str, Fetcher] = {}

EVENT_JSON = """
    json_build_object(
        'type', 'event', 'id', e.id, 'feed', e.feed, 'feed_id', e.feed_id, 'kind', e.kind,
        'observed_at', e.observed_at, 'received_at', e.received_at,
        'lon', ST_X(e.geom), 'lat', ST_Y(e.geom), 'loc_method', e.loc_method, 'loc_score', e.loc_score,
        'address', e.address, 'district', e.district, 'beat', e.beat, 'event_type', e.type,
        'priority', e.priority, 'plate', e.plate, 'attrs', e.attrs)::text"""


def fetcher(kind: str):
    """Register how a notice of this type becomes messages (deterministic: a replay builds the same list)."""
    def deco(fn: Fetcher) -> Fetcher:
        FETCHERS[kind] = fn
        return fn
    return deco


@fetcher("events")
def _events(conn: psycopg.Connection, p: dict) -> list[Message]:
    cur = conn.execute(
        f"SELECT e.kind, {EVENT_JSON} FROM events e WHERE e.batch_id = %s AND e.observed_at BETWEEN %s AND %s "
        "ORDER BY e.id", (p["batch"], p["lo"], p["hi"]))
    return [("event", kind, txt) for kind, txt in cur.fetchall()]


@fetcher("units")
def _units(conn: psycopg.Connection, p: dict) -> list[Message]:
    cur = conn.execute("""
        SELECT json_build_object('type', 'unit', 'id', u.id, 'callsign', u.callsign, 'status', u.status,
               'unit_type', u.type, 'district', u.district, 'lon', ST_X(u.geom), 'lat', ST_Y(u.geom),
               'heading_deg', u.heading_deg, 'speed_kmh', u.speed_kmh, 'observed_at', u.observed_at)::text
        FROM units u WHERE u.id IN (SELECT unit_id FROM unit_positions WHERE batch_id = %s)
        ORDER BY u.id""", (p["batch"],))
    return [("unit", None, t) for (t,) in cur.fetchall()]


def messages_of(conn: psycopg.Connection, n: Notice) -> list[Message]:
    fn = FETCHERS.get(n.type)
    if fn is not None:
        return fn(conn, n.payload)
    if "data" in n.payload:  # a notice that carries its message ({"data": {...}}): passed through
        return [(n.type, None, orjson.dumps({"type": n.type, **n.payload["data"]}).decode())]
    return []


def id_text(key: int) -> bytes:
    n, k = key >> KEY_BITS, key & LAST
    return str(n).encode() if k == LAST else f"{n}.{k}".encode()


def parse_id(text: str) -> int:
    """The key after which to resume: "N" (all of notice N seen) or "N.k" (its message k seen)."""
    try:
        n, _, k = text.strip().partition(".")
        nid, idx = int(n), (int(k) if k else LAST)
    except ValueError:
        raise BadRequest(f"event id {text[:40]!r} is not N or N.k (numbers from a previous message's id)")
    if nid < 0 or not 0 <= idx <= LAST or nid >= 2 ** 38:
        raise BadRequest(f"event id {text[:40]!r} is out of range")
    return nid << KEY_BITS | idx


class Frame(NamedTuple):
    """One message as written to clients, built once for all of them."""
    type: str
    kind: str | None
    data: bytes                 # the SSE frame (id, event, data)
    public: bytes | None        # the frame for a subscriber without plate rights (None: not for them)


def _frame(key: int, typ: str, txt: bytes) -> bytes:
    return b"id: " + id_text(key) + b"\nevent: " + typ.encode() + b"\ndata: " + txt + b"\n\n"


def frames_of(conn: psycopg.Connection, n: Notice) -> list[tuple[int, Frame]]:
    """(key, frame) for each message of a notice. Plate data is taken out once here for the
    subscribers who may not read it (auth.live_without_plates), not once per subscriber."""
    msgs = messages_of(conn, n)
    out = []
    for k, (typ, kind, txt) in enumerate(msgs):
        key = n.id << KEY_BITS | (LAST if k == len(msgs) - 1 else k)
        raw = txt.encode()
        data = _frame(key, typ, raw)
        m = orjson.loads(raw)
        view = auth.live_without_plates(m)
        public = data if view is m else None if view is None else _frame(key, typ, orjson.dumps(view))
        out.append((key, Frame(typ, kind, data, public)))
    return out


class Hub:
    """The ring of this process's recent messages and the clients reading it.

    Every message with key > `floor` and <= `head` is in the ring; older ones are read back from the
    database. The bus thread appends; clients (on any event loop) read under the lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: list[int] = []
        self.items: list[Frame] = []
        self.floor = 0                      # key: everything after it is in the ring
        self.head = 0                       # key of the last notice handled (LAST index)
        self.clients: dict[asyncio.AbstractEventLoop, set[asyncio.Event]] = {}
        self.synced = threading.Event()     # head and floor are positions in the log (the bus connected)

    @property
    def capacity(self) -> int:
        return max(get_settings().live_buffer, 100)

    def start(self) -> None:
        bus.start()

    def on_notices(self, conn: psycopg.Connection, notices: list[Notice]) -> None:
        notices = [n for n in notices if (n.id << KEY_BITS | LAST) > self.head]  # after a reconnect: no repeats
        if not notices:
            return
        if not self.clients:  # nobody reads: skip building messages; a later resume reads the database
            with self.lock:
                self.keys.clear()
                self.items.clear()
                self.head = self.floor = notices[-1].id << KEY_BITS | LAST
            return
        frames = [f for n in notices for f in frames_of(conn, n)]
        with self.lock:
            for key, frame in frames:
                self.keys.append(key)
                self.items.append(frame)
            self.head = notices[-1].id << KEY_BITS | LAST
            over = len(self.keys) - self.capacity
            if over > 0:
                over += self.capacity // 10   # trim in steps, not per message
                self.floor = self.keys[over - 1]
                del self.keys[:over]
                del self.items[:over]
            loops = [(loop, list(evs)) for loop, evs in self.clients.items()]
        for loop, evs in loops:
            try:
                loop.call_soon_threadsafe(_wake, evs)
            except RuntimeError:  # that loop has closed
                pass

    def on_bus_state(self, connected: bool) -> None:
        """On the first connection the ring starts at the log's head; after a reconnect the bus hands
        us every notice committed meanwhile, so nothing else is needed."""
        if connected and not self.synced.is_set():
            with self.lock:
                self.head = max(self.head, (bus.last_id or 0) << KEY_BITS | LAST)
                self.floor = max(self.floor, self.head)
            self.synced.set()

    def register(self, ev: asyncio.Event) -> None:
        with self.lock:
            self.clients.setdefault(asyncio.get_running_loop(), set()).add(ev)

    def unregister(self, ev: asyncio.Event) -> None:
        with self.lock:
            loop = asyncio.get_running_loop()
            evs = self.clients.get(loop)
            if evs is not None:
                evs.discard(ev)
                if not evs:
                    del self.clients[loop]

    def read(self, pos: int) -> tuple[list[Frame], int] | None:
        """Messages after key `pos` (at most CHUNK) and the key reached; None when `pos` has left the ring."""
        with self.lock:
            if pos < self.floor:
                return None
            i = bisect.bisect_right(self.keys, pos)
            items = self.items[i:i + CHUNK]
            reached = self.keys[i + len(items) - 1] if items else max(pos, self.head)
            if i + len(items) == len(self.keys):
                reached = max(reached, self.head)
            return items, reached


def _wake(evs: list[asyncio.Event]) -> None:
    for ev in evs:
        ev.set()


hub = Hub()
bus.subscribe("live", hub.on_notices, hub.on_bus_state)


def replay(after: int, upto: int) -> tuple[list[Frame], int]:
    """Messages with after < key <= upto read back from the database (one page) and the key reached."""
    with db.pool().connection() as conn:
        first = after >> KEY_BITS
        if after & LAST == LAST:
            first += 1
        notices = bus_log.read(conn, first - 1, REPLAY_NOTICES, upto >> KEY_BITS)
        items = [f for n in notices for key, f in frames_of(conn, n) if after < key <= upto]
    if len(notices) < REPLAY_NOTICES:
        return items, upto
    return items, min(notices[-1].id << KEY_BITS | LAST, upto)


def _expired(conn: psycopg.Connection, after: int | None) -> bool:
    """Some notice after `after` may have been pruned from the log."""
    below = bus_log.pruned_below(conn)
    return after is not None and (after >> KEY_BITS) + (1 if after & LAST == LAST else 0) < below


def _resync(key: int, reason: str) -> bytes:
    data = orjson.dumps({"reason": reason, "since_id": id_text(key).decode()})
    return b"id: " + id_text(key) + b"\nevent: resync\ndata: " + data + b"\n\n"


class _Filter:
    """What one subscriber receives: the types and kinds it asked for, of the layers its role may
    read (decided once per type and kind), with plate data only when it may read plates."""

    def __init__(self, principal: auth.Principal, plates_ok: bool, types: set[str] | None,
                 kinds: set[str] | None) -> None:
        self.principal, self.plates_ok, self.types, self.kinds = principal, plates_ok, types, kinds
        self.allowed: dict[tuple[str, str | None], bool] = {}
        self.everything = types is None and kinds is None and plates_ok and auth.reads_every_layer(principal)

    def _allowed(self, f: Frame) -> bool:
        k = (f.type, f.kind if f.type == "event" else None)
        ok = self.allowed.get(k)
        if ok is None:
            ok = self.allowed[k] = ((self.types is None or f.type in self.types)
                                    and (self.kinds is None or f.type != "event" or f.kind in self.kinds)
                                    and auth.live_readable(self.principal, f.type, f.kind))
        return ok

    def chunk(self, items: list[Frame], reached: int) -> bytes:
        if self.everything:
            return b"".join(f.data for f in items)
        keep = [d for f in items if self._allowed(f) and (d := f.data if self.plates_ok else f.public) is not None]
        if len(keep) < len(items):  # the resume point moves past what this client skipped
            keep.append(b"id: " + id_text(reached) + b"\n\n")
        return b"".join(keep)


@router.get("/live", summary="Live stream of new events, unit moves and proximity results (SSE, resumable)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}},
                       400: {"description": "Last-Event-ID or since_id is not an id of this stream"},
                       503: {"description": "the database (or the bus's connection to it) is unavailable"}})
async def live(request: Request,
               principal: auth.Principal = Depends(auth.require("events:read")),
               kinds: str | None = Query(None, description="Comma-separated event kinds to receive (default all)"),
               types: str | None = Query(None, description="Message types: event, unit, task, proximity "
                                                           "(default all)"),
               since_id: str | None = Query(None, max_length=40,
                                            description="Resume after this message id (as Last-Event-ID)"),
               last_event_id: str | None = Header(None, max_length=40, include_in_schema=False)):
    want_kinds = {k.strip() for k in kinds.split(",")} if kinds else None
    want_types = {t.strip() for t in types.split(",")} if types else None
    resume = last_event_id or since_id   # EventSource's own header is newer than the URL it reconnects to
    after = parse_id(resume) if resume else None
    # Plate data (ALPR events, hotlisted plates in proximity answers) reaches only a subscriber
    # allowed to read it who stated a purpose; asked for explicitly without one: 403.
    if want_kinds and want_kinds & audit.PERSONAL_KINDS and (want_types is None or "event" in want_types):
        auth.require_purpose(request)
    plates_ok = auth.may_read_plates(request)
    alpr_events = (want_types is None or "event" in want_types) and (want_kinds is None or want_kinds & audit.PERSONAL_KINDS)
    audited = plates_ok and (alpr_events or want_types is None or "proximity" in want_types)

    def _open() -> bool:
        # A stream is only promised while the database answers; during an outage the subscriber gets
        # the 503 + Retry-After every route gives (a cached sign-in needs no database to get here).
        with db.pool().connection() as conn:
            if audited:
                audit.record(conn, request, "live.subscribe", "api/live",
                             {"kinds": sorted(want_kinds) if want_kinds else "all",
                              **({"since_id": resume} if resume else {})})
            return _expired(conn, after)
    expired = await run_in_threadpool(_open)
    hub.start()
    for _ in range(int(BUS_WAIT_S / 0.05)):  # positions mean nothing until the bus has read the log's head
        if hub.synced.is_set() and bus.ready.is_set():
            break
        await asyncio.sleep(0.05)
    else:
        raise Unavailable("the live stream is reconnecting to the database, retry shortly")
    filt = _Filter(principal, plates_ok, want_types, want_kinds)
    # Where this client starts is fixed before its response starts (the browser's `open`): every
    # message the bus reads after that reaches it, however late the stream below first runs.
    start = hub.head if expired or after is None else after

    async def stream():
        wake = asyncio.Event()
        hub.register(wake)
        try:
            pos = start
            yield b"retry: 2000\n: connected\n\n"
            if expired:
                yield _resync(pos, "expired")
            while pos < hub.floor:  # behind the ring: read back from the database
                items, pos = await run_in_threadpool(replay, pos, hub.floor)
                if items:
                    yield filt.chunk(items, pos)
            while True:
                wake.clear()
                got = hub.read(pos)
                if got is None:  # fell out of the ring while writing: say so, the client resumes
                    yield _resync(pos, "slow")
                    return
                items, pos = got
                if items:
                    yield filt.chunk(items, pos)
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    yield b": keepalive\n\n"
        finally:
            hub.unregister(wake)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
