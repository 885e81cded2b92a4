"""The bus of the process: one channel, `publish` inside the writer's transaction, and ONE LISTEN
connection per process that hands every committed notice, in id order, to its subscribers (the
live hub, the tile cache, the proximity worker, the alert worker).

A notice is a row of `live_log` (sql/160), written by `rtcc_live_publish` in the same transaction as
the change it announces; NOTIFY only wakes the listener. The bus reads "every row after the last id
it handled", on each wake-up, every `POLL_S` seconds, and right after a reconnect, so a notice
committed while the connection was down is still delivered, in order, exactly once per process
(a subscriber that raises a connection error gets the rows again after the reconnect).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import orjson
import psycopg

from services.settings import database_url, get_settings

log = logging.getLogger("rtcc.bus")

CHANNEL = "rtcc_live"
POLL_S = 1.0         # read the log at least this often (seconds), even without a wake-up
PAGE = 500           # rows read per query
PRUNE_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Notice:
    id: int          # live_log.id: durable, visible in increasing order
    type: str        # events, units, cameras, task, proximity, layers, ...
    payload: dict


Handler = Callable[[psycopg.Connection, list[Notice]], None]
StateHandler = Callable[[bool], None]


def publish(conn: psycopg.Connection, type_: str, payload: dict) -> int:
    """Append a notice; listeners see it when the transaction commits. Call it last in the
    transaction: it holds the bus lock until commit (that keeps ids visible in order)."""
    return conn.execute("SELECT rtcc_live_publish(%s, %s::jsonb)",
                        (type_, orjson.dumps(payload, default=str).decode())).fetchone()[0]


def read(conn: psycopg.Connection, after: int, limit: int = PAGE, upto: int | None = None) -> list[Notice]:
    """Notices with id > after (and <= upto), oldest first."""
    cur = conn.execute("SELECT id, type, payload::text FROM live_log WHERE id > %s AND id <= %s "
                       "ORDER BY id LIMIT %s", (after, upto if upto is not None else 2 ** 62, limit))
    return [Notice(i, t, orjson.loads(p)) for i, t, p in cur.fetchall()]


def head(conn: psycopg.Connection) -> int:
    """The newest notice id (0 when the log is empty)."""
    row = conn.execute("SELECT COALESCE(max(id), (SELECT below - 1 FROM live_log_pruned), 0) FROM live_log")
    return max(row.fetchone()[0] or 0, 0)


def pruned_below(conn: psycopg.Connection) -> int:
    """Ids below this may have been pruned: asking for them cannot be answered in full."""
    return conn.execute("SELECT below FROM live_log_pruned").fetchone()[0]


def prune(conn: psycopg.Connection) -> int:
    s = get_settings()
    return conn.execute("SELECT rtcc_live_prune(%s * interval '1 hour', %s)",
                        (s.live_log_keep_hours, s.live_log_keep_rows)).fetchone()[0]


@dataclass
class _Subscriber:
    name: str
    handler: Handler
    on_state: StateHandler | None


class Bus:
    """One LISTEN connection (and one query connection) in a daemon thread of this process."""

    def __init__(self) -> None:
        self.subscribers: list[_Subscriber] = []
        self.ready = threading.Event()      # connected, LISTENing and caught up
        self.last_id: int | None = None     # id of the last notice handed to the subscribers
        self.connects = 0                   # successful (re)connections (tests, benchmarks)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def subscribe(self, name: str, handler: Handler, on_state: StateHandler | None = None) -> None:
        """handler(conn, notices) runs in the bus thread with the bus's query connection; keep it quick
        (hand long work to your own thread). on_state(connected) is called when the bus connects
        (after catching up) and when it loses the connection."""
        with self._lock:
            self.subscribers = [s for s in self.subscribers if s.name != name]
            self.subscribers.append(_Subscriber(name, handler, on_state))
        if on_state is not None and self.ready.is_set():
            on_state(True)

    def start(self) -> None:
        """Start this process's listener (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="rtcc-bus", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None:
            t.join(timeout=5)
        self._thread = None
        self._set_state(False)

    def _set_state(self, up: bool) -> None:
        if up:
            self.ready.set()
        else:
            self.ready.clear()
        for s in list(self.subscribers):
            if s.on_state is not None:
                try:
                    s.on_state(up)
                except Exception:
                    log.exception("bus subscriber %s failed on state change", s.name)

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(database_url(), autocommit=True, application_name="rtcc-bus") as listen, \
                        psycopg.connect(database_url(), autocommit=True, application_name="rtcc-bus") as query:
                    listen.execute(f"LISTEN {CHANNEL}")
                    if self.last_id is None:
                        self.last_id = head(query)   # a new process starts at the head
                    self._catch_up(query)            # everything committed while we were away
                    self.connects += 1
                    self._set_state(True)
                    delay = 0.5
                    while not self._stop.is_set():
                        for _ in listen.notifies(timeout=POLL_S, stop_after=1):
                            pass
                        self._catch_up(query)
                        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
                            self._pruned_at = time.monotonic()
                            prune(query)
            except Exception as e:  # database restart: reconnect with backoff, then catch up
                was_up = self.ready.is_set()
                self._set_state(False)
                (log.warning if was_up or delay == 0.5 else log.debug)(
                    "bus lost its connection (%s); retrying in %.1fs", str(e).strip()[:200], delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10)
        self._set_state(False)

    def _catch_up(self, conn: psycopg.Connection) -> None:
        while not self._stop.is_set():
            notices = read(conn, self.last_id or 0)
            if not notices:
                return
            self.dispatch(conn, notices)
            self.last_id = notices[-1].id
            if len(notices) < PAGE:
                return

    def dispatch(self, conn: psycopg.Connection, notices: list[Notice]) -> None:
        for s in list(self.subscribers):
            try:
                s.handler(conn, notices)
            except psycopg.OperationalError:
                raise                       # the connection is gone: reconnect, re-read these rows
            except Exception:
                log.exception("bus subscriber %s failed on notices %s..%s", s.name, notices[0].id,
                              notices[-1].id)


bus = Bus()
