"""The proximity worker: live incidents before a bulk backlog, and it outlives the database."""
from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg

from services.ingest.pipeline import ingest_rows
from services.proximity.jobs import worker


def _wait(pred, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def _result(conn, event_id: int) -> bool:
    return conn.execute("SELECT 1 FROM proximity_results WHERE event_id = %s", (event_id,)).fetchone() is not None


def _event_id(conn, feed: str, fid: str) -> int:
    return conn.execute("SELECT id FROM events WHERE feed = %s AND feed_id = %s", (feed, fid)).fetchone()[0]


def test_a_live_incident_is_answered_before_a_bulk_backlog(client, conn):
    worker.start()
    tag = f"bulk-{uuid.uuid4().hex[:8]}"
    rnd = random.Random(7)
    month_ago = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()
    rows = [{"id": f"{tag}-{i}", "observed_at": month_ago, "type": "BACKFILL",
             "lon": rnd.uniform(-76.66, -76.56), "lat": rnd.uniform(39.27, 39.33)} for i in range(2000)]
    bulk = ingest_rows(conn, "cad", rows, origin="cli")     # a backfill: 2,000 answers to compute
    try:
        def queued() -> int:
            return conn.execute("SELECT count(*) FROM proximity_jobs WHERE batch_id = %s", (bulk.batch_id,)).fetchone()[0]
        assert _wait(lambda: queued() > 0), "the backfill was never queued"
        assert conn.execute("SELECT DISTINCT priority FROM proximity_jobs WHERE batch_id = %s",
                            (bulk.batch_id,)).fetchall() == [(1,)]
        fid = f"{tag}-live"
        live = ingest_rows(conn, "gunshot", [{"id": fid, "observed_at": datetime.now(timezone.utc).isoformat(),
                                              "lon": -76.6122, "lat": 39.2904}], origin="api")
        t0 = time.monotonic()
        assert live.accepted == 1
        ev = _event_id(conn, "gunshot", fid)
        assert _wait(lambda: _result(conn, ev)), "the live incident was not answered"
        waited = time.monotonic() - t0
        left = queued()
        # answered while most of the backlog still waits (oldest-first would have answered it last)
        assert left > 1000, f"live answer came after {2000 - left} backlog answers ({waited:.1f}s)"
    finally:
        conn.execute("DELETE FROM proximity_jobs WHERE batch_id = %s", (bulk.batch_id,))
        conn.execute("DELETE FROM proximity_results WHERE event_id IN (SELECT id FROM events WHERE batch_id = %s)",
                     (bulk.batch_id,))
        conn.execute("DELETE FROM events WHERE batch_id = %s", (bulk.batch_id,))


def test_the_worker_reconnects_and_resumes_by_itself_after_an_outage(client, conn, admin_url):
    """The database refuses connections and drops the worker's: queued work is done once it is back,
    without a new incident to wake it."""
    worker.start()
    assert _wait(lambda: worker.connects >= 1)
    fid = f"outage-{uuid.uuid4().hex[:8]}"
    res = ingest_rows(conn, "gunshot", [{"id": fid, "observed_at": datetime.now(timezone.utc).isoformat(),
                                         "lon": -76.6150, "lat": 39.2950}], origin="synth")  # not queued
    ev = _event_id(conn, "gunshot", fid)
    connects = worker.connects
    db = conn.execute("SELECT current_database()").fetchone()[0]
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS false')
    try:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND application_name IN ('rtcc-proximity', 'rtcc-bus')")
        # queued during the outage, with no notice: only the worker's own retry can find it
        conn.execute("INSERT INTO proximity_jobs (event_id, observed_at, batch_id, priority) "
                     "SELECT id, observed_at, batch_id, 0 FROM events WHERE id = %s", (ev,))
        time.sleep(1.5)   # the worker fails to reconnect a few times meanwhile
        assert not _result(conn, ev)
    finally:
        admin.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS true')
        admin.close()
    assert _wait(lambda: _result(conn, ev)), "the worker did not resume after the database came back"
    assert worker.connects > connects
    assert res.accepted == 1
