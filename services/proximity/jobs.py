"""Proximity for every new incident, call and gunshot at ingest, without slowing the ingest down.

Inside the batch's transaction the events are only queued (proximity_jobs, one cheap INSERT) and a
transaction lock is taken. A worker thread of this process waits on that lock, so it starts the
moment the batch commits (and finds nothing if it rolled back); it computes each answer in its own
transaction, which stores it in proximity_results and NOTIFYs a "proximity" message. A queued job
is never lost: jobs left by a process that died are drained by the next worker of any process
(SKIP LOCKED lets several processes share the queue). Bulk loads (origin 'demo', 'synth') are not
queued.
"""
from __future__ import annotations

import logging
import queue
import threading

import psycopg

from services import db
from services.proximity import engine

log = logging.getLogger("rtcc.proximity")

LOCK_CLASS = 74195          # advisory lock (LOCK_CLASS, batch id) held by the ingest transaction
MAX_ATTEMPTS = 3            # a job failing this often is left in the queue with its last error
IDLE_EXIT_S = 2.0           # the worker thread ends after this long without work

_batches: queue.SimpleQueue[int] = queue.SimpleQueue()
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stopping = threading.Event()  # set at server shutdown: queued jobs stay in the table for the next worker


def resume() -> None:
    """Allow workers again (the app's start-up calls this; stop() may have run in this process before)."""
    _stopping.clear()


def stop() -> None:
    """Let the worker finish its current job and exit (the app's shutdown calls this)."""
    _stopping.set()
    _batches.put(-1)


def on_events_stored(conn: psycopg.Connection, batch: int) -> None:
    """Called by the ingest pipeline inside the batch transaction: queue, then wake the worker."""
    n = conn.execute("SELECT rtcc_proximity_enqueue(%s)", (batch,)).fetchone()[0]
    if n:
        kick(batch)


def kick(batch: int | None = None) -> None:
    """Make sure a worker runs; it waits for `batch` to commit before draining the queue."""
    global _thread
    with _lock:
        _batches.put(batch if batch is not None else -1)
        if _thread is None or not _thread.is_alive():
            # Not a daemon: a CLI ingest finishes the answers for its incidents before exiting.
            _thread = threading.Thread(target=_work, name="rtcc-proximity", daemon=False)
            _thread.start()


def _work() -> None:
    global _thread
    conn: psycopg.Connection | None = None
    try:
        while True:
            if _stopping.is_set():
                with _lock:
                    _thread = None
                return
            try:
                batch = _batches.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with _lock:
                    if _batches.empty():
                        _thread = None
                        return
                continue
            try:
                if conn is None or conn.closed:
                    conn = db.connect(autocommit=True)
                if batch >= 0:
                    key = (LOCK_CLASS, batch % 2147483647)
                    conn.execute("SELECT pg_advisory_lock(%s, %s)", key)   # returns when the batch commits
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)
                drain(conn)
            except psycopg.OperationalError as e:  # database restart: the jobs wait in the queue
                log.warning("proximity worker lost its connection (%s)", e)
                conn = None
    finally:
        if conn is not None:
            conn.close()


def drain(conn: psycopg.Connection, limit: int | None = None) -> int:
    """Compute every queued answer (oldest first); returns how many were stored."""
    p = engine.params()
    done = 0
    while (limit is None or done < limit) and not _stopping.is_set():
        ev = None
        try:
            with conn.transaction():
                row = conn.execute(
                    "SELECT event_id FROM proximity_jobs WHERE attempts < %s ORDER BY event_id "
                    "FOR UPDATE SKIP LOCKED LIMIT 1", (MAX_ATTEMPTS,)).fetchone()
                if row is None:
                    break
                ev = row[0]
                engine.run_job(conn, ev, p)
            done += 1
        except psycopg.OperationalError:
            raise
        except psycopg.Error as e:
            if ev is None:
                raise
            log.error("proximity for event %s failed: %s", ev, e)
            conn.execute("UPDATE proximity_jobs SET attempts = attempts + 1, last_error = %s WHERE event_id = %s",
                         (str(e)[:500], ev))
    return done
