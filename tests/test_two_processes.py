"""Two app processes (two uvicorn subprocesses) on one database show one picture: the same live
messages with the same ids, tiles invalidated by writes through the other process, and each
proximity answer computed once and streamed by both."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from tests.conftest import ROOT, free_port, live_subscribe, wait_healthy


@pytest.fixture(scope="module")
def two_servers(database_url):
    procs, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "services.app:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning"],
                cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url}))
            urls.append(f"http://127.0.0.1:{port}")
        for url, p in zip(urls, procs):
            def alive(p=p):
                assert p.poll() is None, "app process exited"
            wait_healthy(url, 60, alive)
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _collect(out: queue.Queue, pred, n: int, timeout: float = 20.0) -> list[tuple]:
    got: list[tuple] = []
    end = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        try:
            item = out.get(timeout=0.2)
        except queue.Empty:
            continue
        if pred(item):
            got.append(item)
    return got


def _post(url: str, feed: str, rows: list[dict]) -> dict:
    r = httpx.post(f"{url}/api/ingest/{feed}", json=rows, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_live_messages_are_the_same_on_both_processes(two_servers):
    a, b = two_servers
    tag = f"two-{uuid.uuid4().hex[:8]}"
    now = datetime.now(timezone.utc).isoformat()
    subs = [live_subscribe(u + "/api/live?types=event&kinds=gunshot", ids=True) for u in (a, b)]
    _post(a, "gunshot", [{"id": f"{tag}-{i}", "observed_at": now, "lon": -76.62, "lat": 39.30} for i in range(3)])
    _post(b, "gunshot", [{"id": f"{tag}-{i}", "observed_at": now, "lon": -76.62, "lat": 39.30} for i in range(3, 5)])
    mine = lambda it: it[0] == "event" and it[1]["feed_id"].startswith(tag)  # noqa: E731
    seen = [_collect(out, mine, 5) for out, _ in subs]
    for _, stop in subs:
        stop.set()
    ids = [[(m[1]["feed_id"], m[2]) for m in s] for s in seen]
    assert len(ids[0]) == 5 and ids[0] == ids[1]   # same messages, same order, same ids


def test_a_write_through_one_process_invalidates_the_others_tiles(two_servers):
    from tests.test_tiles import decode, tile_at
    a, b = two_servers
    lon, lat = -76.6010, 39.2990
    z, x, y = tile_at(lon, lat, 16)
    url = f"{b}/tiles/cad_incidents/{z}/{x}/{y}.mvt"
    before = httpx.get(url)
    assert httpx.get(url).headers["x-tile-cache"] == "hit"
    fid = f"two-{uuid.uuid4().hex[:8]}"
    _post(a, "cad", [{"id": fid, "observed_at": datetime.now(timezone.utc).isoformat(), "type": "TEST",
                      "lon": lon, "lat": lat}])
    end = time.monotonic() + 10
    while time.monotonic() < end:
        r = httpx.get(url)
        if r.headers["x-tile-cache"] == "miss":
            break
        time.sleep(0.05)
    assert r.headers["x-tile-cache"] == "miss" and r.headers["etag"] != before.headers["etag"]
    assert any(f["properties"]["feed_id"] == fid for f in decode(r.content)["cad_incidents"]["features"])


def test_each_proximity_answer_is_computed_once_and_streamed_by_both(two_servers, conn):
    a, b = two_servers
    subs = [live_subscribe(u + "/api/live?types=proximity", ids=True) for u in (a, b)]
    fid = f"two-{uuid.uuid4().hex[:8]}"
    _post(b, "cad", [{"id": fid, "observed_at": datetime.now(timezone.utc).isoformat(), "type": "SHOOTING",
                      "lon": -76.6154, "lat": 39.2871}])
    ev = conn.execute("SELECT id FROM events WHERE feed = 'cad' AND feed_id = %s", (fid,)).fetchone()[0]
    seen = [_collect(out, lambda it: it[0] == "proximity" and it[1]["event_id"] == ev, 1) for out, _ in subs]
    time.sleep(1.0)  # room for a duplicate answer to show up, if a second worker computed one
    for _, stop in subs:
        stop.set()
    assert [len(s) for s in seen] == [1, 1] and seen[0][0][2] == seen[1][0][2]
    notices = conn.execute("SELECT count(*) FROM live_log WHERE type = 'proximity' AND payload->>'event_id' = %s",
                           (str(ev),)).fetchone()[0]
    assert notices == 1
    assert conn.execute("SELECT count(*) FROM proximity_jobs WHERE event_id = %s", (ev,)).fetchone()[0] == 0


def test_one_listen_connection_per_process(two_servers, conn):
    from services.bus import bus
    listeners = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND application_name = 'rtcc-bus' AND query ILIKE 'LISTEN %'").fetchone()[0]
    assert listeners == 2 + (1 if bus.ready.is_set() else 0)
