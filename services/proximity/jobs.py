"""Proximity for every new incident, call and gunshot, computed after its batch commits.

The worker of each app process subscribes to the bus (services/bus.py): an "events" notice wakes it.
It reads the bus log from the shared cursor `bus_cursors['proximity']` (one process at a time
advances it, under its row lock, so a batch is queued exactly once even with no process running
when it committed) and queues the batch's located incidents with a priority: 0 for live ones
(origin api or simulate, observed at most `proximity_live_minutes` before they arrived), 1 for bulk
loads and backfills; bulk origins 'demo' and 'synth' are not queued. Answers are computed live
first, newest first, each in its own transaction that stores it and publishes a "proximity"
notice; between two answers the worker queues what arrived meanwhile, so a live incident waits at
most for one answer in progress, never behind a backlog. Processes share the queue (SKIP LOCKED).

The worker outlives the database: on a lost connection it reconnects with backoff and resumes by
itself (it also wakes every WAKE_S seconds), without waiting for the next incident.
"""
from __future__ import annotations

import logging
import threading

import psycopg

from services import bus as bus_log
from services import db
from services.bus import Notice, bus
from services.proximity import engine
from services.settings import get_settings

log = logging.getLogger("rtcc.proximity")

CURSOR = "proximity"            # bus_cursors.name
MAX_ATTEMPTS = 3                # a job failing this often is left in the queue with its last error
WAKE_S = 5.0                    # the worker looks at the queue at least this often (seconds)
LIVE_ORIGINS = ["api", "simulate"]
SKIP_ORIGINS = ["demo", "synth"]
INCIDENT_KINDS = ["cad_incident", "call", "gunshot"]

ENQUEUE = """
    INSERT INTO proximity_jobs (event_id, observed_at, batch_id, priority)
    SELECT e.id, e.observed_at, e.batch_id,
           CASE WHEN b.origin = ANY(%(live)s)
                 AND e.observed_at >= e.received_at - %(mins)s * interval '1 minute' THEN 0 ELSE 1 END
    FROM ingest_batches b JOIN events e ON e.batch_id = b.id
    WHERE b.id = %(batch)s AND b.origin <> ALL(%(skip)s)
      AND e.observed_at BETWEEN %(lo)s AND %(hi)s
      AND e.kind = ANY(%(kinds)s) AND e.geom IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM proximity_results r WHERE r.event_id = e.id)
    ON CONFLICT (event_id) DO NOTHING"""


def queue_new(conn: psycopg.Connection, page: int = 1000) -> int:
    """Queue the incidents of the batches committed since the shared cursor; returns notices read
    (0 when another process is at it or nothing is new)."""
    mins = get_settings().proximity_live_minutes
    with conn.transaction():
        row = conn.execute("SELECT last_id FROM bus_cursors WHERE name = %s FOR UPDATE SKIP LOCKED",
                           (CURSOR,)).fetchone()
        if row is None:  # another process holds it (or it was never created: start at the head)
            conn.execute("INSERT INTO bus_cursors (name, last_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (CURSOR, bus_log.head(conn)))
            return 0
        notices = bus_log.read(conn, row[0], page)
        for n in notices:
            if n.type == "events" and isinstance(n.payload.get("batch"), int):
                conn.execute(ENQUEUE, {"live": LIVE_ORIGINS, "mins": mins, "batch": n.payload["batch"],
                                       "skip": SKIP_ORIGINS, "lo": n.payload["lo"], "hi": n.payload["hi"],
                                       "kinds": INCIDENT_KINDS})
        if notices:
            conn.execute("UPDATE bus_cursors SET last_id = %s WHERE name = %s", (notices[-1].id, CURSOR))
    return len(notices)


def run_one(conn: psycopg.Connection, p: dict) -> bool | None:
    """Compute the most urgent queued answer; None when the queue is empty."""
    ev = None
    try:
        with conn.transaction():
            row = conn.execute(
                "SELECT event_id FROM proximity_jobs WHERE attempts < %s ORDER BY priority, observed_at DESC "
                "FOR UPDATE SKIP LOCKED LIMIT 1", (MAX_ATTEMPTS,)).fetchone()
            if row is None:
                return None
            ev = row[0]
            engine.run_job(conn, ev, p)  # stores the answer, publishes "proximity"
        return True
    except psycopg.OperationalError:
        raise
    except psycopg.Error as e:
        if ev is None:
            raise
        log.error("proximity for event %s failed: %s", ev, e)
        conn.execute("UPDATE proximity_jobs SET attempts = attempts + 1, last_error = %s WHERE event_id = %s",
                     (str(e)[:500], ev))
        return False


class Worker:
    """One worker thread per process, started with the app."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.connects = 0           # (re)connections made (tests)
        self.done = 0               # answers computed by this process

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="rtcc-proximity", daemon=True)
                self._thread.start()
        bus.start()

    def stop(self) -> None:
        """Finish the answer in progress and exit; queued jobs wait in the table for the next worker."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is not None:
            t.join(timeout=10)
        self._thread = None

    def kick(self) -> None:
        self._wake.set()

    def on_notices(self, conn: psycopg.Connection, notices: list[Notice]) -> None:
        if any(n.type == "events" for n in notices):
            self.kick()

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        delay = 0.5
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = db.connect(autocommit=True, application_name="rtcc-proximity")
                    self.connects += 1
                self._wake.clear()
                self._drain(conn)
                delay = 0.5
                self._wake.wait(WAKE_S)
            except psycopg.OperationalError as e:  # database restart: reconnect with backoff, resume
                log.warning("proximity worker lost its connection (%s); retrying in %.1fs",
                            str(e).strip()[:200], delay)
                if conn is not None:
                    conn.close()
                conn = None
                self._stop.wait(delay)
                delay = min(delay * 2, 10)
            except Exception:
                log.exception("proximity worker failed; retrying in %.1fs", delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10)
        if conn is not None:
            conn.close()

    def _drain(self, conn: psycopg.Connection) -> None:
        while queue_new(conn) == 1000:
            pass
        p = engine.params()
        while not self._stop.is_set():
            if self._wake.is_set():  # a batch committed meanwhile: queue it before the next answer
                self._wake.clear()
                queue_new(conn)
            got = run_one(conn, p)
            if got is None:
                return
            if got:
                self.done += 1


worker = Worker()
bus.subscribe("proximity", worker.on_notices)
