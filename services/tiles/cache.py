"""Per-process tile cache that stays correct when data changes.

The cache subscribes to the process's bus (services/bus.py) and drops exactly the cached tiles a
committed batch touched: same layer (event kind), and an event of the batch inside the tile's
buffered bounds and time window (the batch's positions are read back by batch id; very large
batches fall back to the batch's bbox and time range from the notice). Nothing is cached while the
bus is not connected, and the whole cache is dropped when it reconnects. A tile rendered while an invalidation of its layer arrived is not
stored (it may predate the write). Entries also expire (`Layer.cache_s`, else the setting
`tile_cache_max_age_s`); the size is the setting `tile_cache_mb`.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import numpy as np
import psycopg
from starlette.concurrency import run_in_threadpool

from layers.catalog import CATALOG, Layer
from services.bus import Notice, bus
from services.settings import get_settings
from services.query.times import Window, parse_instant

log = logging.getLogger("rtcc.tiles")

# NOTIFY types that change whole layers (no bbox in the payload): type -> layer sources.
WHOLE_LAYER_TYPES = {"units": {"units_current"}, "cameras": {"cameras", "camera_cones"},
                     "task": {"task_locations"}}
MAX_POINTS = 20_000             # batches with more events are invalidated by their bbox alone
_LAYER_KINDS = {l.id: l.event_kind for l in CATALOG if l.event_kind}


@dataclass
class Entry:
    body: bytes
    etag: str
    layer: str
    bounds: tuple[float, float, float, float]   # lon/lat degrees the tile's content depends on
    window: Window
    kinds: tuple[str, ...] | None               # hexbins: the kinds counted (None: all)
    expires: float                              # time.monotonic() seconds


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'


def _meets(a: tuple[float, float, float, float], b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


class TileCache:
    def __init__(self, max_bytes: int | None = None) -> None:
        self._max_bytes = max_bytes             # None: the setting tile_cache_mb
        self.size = 0
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.generation: dict[str, int] = {}    # per layer id: bumped by every invalidation
        self.epoch = 0                          # bumped when the whole cache is dropped
        self.lock = threading.Lock()
        self.ready = threading.Event()          # the bus is connected: notices reach us
        self.last_batch: int | None = None      # id of the last batch notice handled
        self.handled = 0                        # notices handled (tests wait on it)

    @property
    def max_bytes(self) -> int:
        """Cache size per process (bytes)."""
        return self._max_bytes if self._max_bytes is not None else get_settings().tile_cache_mb * 2 ** 20

    # -- the routes' interface ---------------------------------------------------------------
    async def serve(self, key: tuple, layer: Layer, render: Callable[[], bytes], bounds: Callable[[], tuple],
                    window: Window, kinds: tuple[str, ...] | None = None) -> tuple[Entry, bool]:
        """(entry, hit): the cached answer for `key`, or `render()` (run on a worker thread) stored as an
        entry whose content depends on `bounds()` (lon/lat degrees; computed on a miss only: it costs
        a projection), `window` and `kinds`."""
        self.start()
        hit = self.get(key)
        if hit is not None:
            return hit, True  # answered on the event loop: no worker-thread hop
        generation = self.generation_of(layer.id)
        body = await run_in_threadpool(render)
        return self._store(key, layer, body, generation, bounds, window, kinds), False

    def serve_here(self, key: tuple, layer: Layer, render: Callable[[], bytes], bounds: Callable[[], tuple],
                   window: Window, kinds: tuple[str, ...] | None = None) -> tuple[Entry, bool]:
        """serve() for a caller already on a worker thread (the OGC API - Tiles provider)."""
        self.start()
        hit = self.get(key)
        if hit is not None:
            return hit, True
        generation = self.generation_of(layer.id)
        return self._store(key, layer, render(), generation, bounds, window, kinds), False

    def _store(self, key: tuple, layer: Layer, body: bytes, generation: tuple[int, int],
               bounds: Callable[[], tuple], window: Window, kinds: tuple[str, ...] | None) -> Entry:
        entry = entry_for(layer, body, bounds(), window, kinds)
        self.put(key, entry, generation)
        return entry

    # -- lookups ---------------------------------------------------------------------------
    def get(self, key: tuple) -> Entry | None:
        if not self.ready.is_set():
            return None
        with self.lock:
            e = self.entries.get(key)
            if e is None:
                return None
            if e.expires < time.monotonic():
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return e

    def generation_of(self, layer: str) -> tuple[int, int]:
        return self.epoch, self.generation.get(layer, 0)

    def put(self, key: tuple, entry: Entry, generation: tuple[int, int]) -> bool:
        """Store unless the layer was invalidated since `generation` was read (render raced a write)."""
        if not self.ready.is_set() or len(entry.body) > self.max_bytes // 16:
            return False
        with self.lock:
            if (self.epoch, self.generation.get(entry.layer, 0)) != generation:
                return False
            if key in self.entries:
                self._drop(key)
            self.entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.max_bytes and self.entries:
                self._drop(next(iter(self.entries)))
            return True

    def _drop(self, key: tuple) -> None:
        e = self.entries.pop(key)
        self.size -= len(e.body)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0
            self.epoch += 1

    # -- invalidation ----------------------------------------------------------------------
    def invalidate(self, layers: set[str], bbox=None, lo: datetime | None = None, hi: datetime | None = None,
                   kinds: set[str] | None = None, points: Points | None = None) -> int:
        """Drop the entries of `layers` that meet bbox (None: all) and [lo, hi] and, when the batch's
        points are known, hold one of them; returns how many."""
        dropped = 0
        with self.lock:
            for layer in layers:
                self.generation[layer] = self.generation.get(layer, 0) + 1
            for key in [k for k, e in self.entries.items() if e.layer in layers]:
                e = self.entries[key]
                if bbox is not None and not _meets(e.bounds, bbox):
                    continue
                if not e.window.overlaps(lo, hi):
                    continue
                if kinds is not None and e.kinds is not None and not kinds.intersection(e.kinds):
                    continue
                if points is not None and not points.any_in(e, _LAYER_KINDS.get(e.layer)):
                    continue
                self._drop(key)
                dropped += 1
        return dropped

    def handle(self, payload: dict, points: Points | None = None) -> int:
        """Apply one live-channel notice (with the batch's event positions when they were read)."""
        typ = payload.get("type")
        dropped = 0
        if typ == "events":
            kinds = set(payload.get("kinds") or ())
            layers = {l.id for l in CATALOG if (l.event_kind and (not kinds or l.event_kind in kinds))
                      or l.aggregate == "h3"}
            bbox = payload.get("bbox")
            if bbox:  # no bbox: no event of the batch has a position, so no tile changed
                lo = parse_instant(payload["lo"]) if payload.get("lo") else None
                hi = parse_instant(payload["hi"]) if payload.get("hi") else None
                dropped = self.invalidate(layers, tuple(bbox), lo, hi, kinds or None, points)
        elif typ in WHOLE_LAYER_TYPES:
            dropped = self.invalidate({l.id for l in CATALOG if l.source in WHOLE_LAYER_TYPES[typ]})
        elif typ == "layers":  # {"type": "layers", "layers": [...]}: any writer can ask for a flush
            dropped = self.invalidate(set(payload.get("layers") or ()), payload.get("bbox"))
        if isinstance(payload.get("batch"), int):
            self.last_batch = payload["batch"]
        self.handled += 1
        return dropped

    # -- the bus subscription ---------------------------------------------------------------
    def start(self) -> None:
        """Make sure the process's bus runs; caching begins once it is connected."""
        bus.start()

    def on_notices(self, conn: psycopg.Connection, notices: list[Notice]) -> None:
        for n in notices:
            p = {**n.payload, "type": n.type}
            try:
                self.handle(p, batch_points(conn, p) if self.entries else None)
            except (ValueError, TypeError, KeyError) as e:
                log.warning("tile cache: bad notice %s %r (%s)", n.id, str(n.payload)[:200], e)

    def on_bus_state(self, connected: bool) -> None:
        """Anything cached may be stale across a disconnection: drop it all, both ways."""
        self.clear()
        if connected:
            self.ready.set()
        else:
            self.ready.clear()


class Points:
    """Positions (degrees), times (epoch seconds) and kinds of the events of one batch."""

    def __init__(self, rows: list[tuple[float, float, float, str]]):
        self.lon = np.array([r[0] for r in rows], float)
        self.lat = np.array([r[1] for r in rows], float)
        self.t = np.array([r[2] for r in rows], float)
        self.kind = np.array([r[3] for r in rows], object)

    def any_in(self, e: Entry, layer_kinds: str | None) -> bool:
        w, s, east, n = e.bounds
        m = (self.lon >= w) & (self.lon <= east) & (self.lat >= s) & (self.lat <= n)
        if e.window.lo is not None:
            m &= self.t >= e.window.lo.timestamp()
        if e.window.hi is not None:
            m &= self.t <= e.window.hi.timestamp()
        if layer_kinds is not None:
            m &= self.kind == layer_kinds
        elif e.kinds is not None:
            m &= np.isin(self.kind, list(e.kinds))
        return bool(m.any())


def batch_points(conn: psycopg.Connection, payload: dict) -> Points | None:
    """The positions of an events batch, so only tiles holding one of them are dropped; None (use the
    bbox) for other notices, batches over MAX_POINTS, or when the read fails."""
    if payload.get("type") != "events" or not payload.get("bbox") or not isinstance(payload.get("batch"), int):
        return None
    try:
        rows = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom), extract(epoch FROM observed_at), kind FROM events "
            "WHERE batch_id = %s AND observed_at BETWEEN %s AND %s AND geom IS NOT NULL LIMIT %s",
            (payload["batch"], payload["lo"], payload["hi"], MAX_POINTS + 1)).fetchall()
    except psycopg.Error as e:
        log.warning("tile cache: could not read batch %s (%s); invalidating by its bbox", payload["batch"], e)
        return None
    return Points(rows) if 0 < len(rows) <= MAX_POINTS else None


def entry_for(layer: Layer, body: bytes, bounds, window: Window, kinds) -> Entry:
    ttl = layer.cache_s if layer.cache_s is not None else get_settings().tile_cache_max_age_s
    return Entry(body, etag_of(body), layer.id, bounds, window, kinds, time.monotonic() + ttl)


cache = TileCache()
bus.subscribe("tiles", cache.on_notices, cache.on_bus_state)
