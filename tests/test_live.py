"""The SSE stream delivers ingested events and unit moves (real HTTP, real NOTIFY)."""
from __future__ import annotations

import queue
import time
import uuid

import httpx

from tests.conftest import auth_headers, live_subscribe


def _wait_for(out: queue.Queue, pred, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            item = out.get(timeout=max(0.01, end - time.monotonic()))
        except queue.Empty:
            break
        if pred(item):
            return item
    return None


def test_ingested_event_reaches_sse_client(server_url):
    out, stop = live_subscribe(server_url + "/api/live")
    fid = f"live-{uuid.uuid4().hex[:8]}"
    r = httpx.post(server_url + "/api/ingest/gunshot", json=[{"id": fid, "observed_at": "2026-11-27T23:00:00Z",
                                                              "lon": -76.62, "lat": 39.30, "rounds": 4}])
    assert r.json()["accepted"] == 1
    got = _wait_for(out, lambda it: it[0] == "event" and it[1].get("feed_id") == fid)
    stop.set()
    assert got is not None, "event not delivered on /api/live"
    ev, data = got
    assert data["kind"] == "gunshot" and data["attrs"]["rounds"] == 4
    assert abs(data["lon"] + 76.62) < 1e-9 and data["district"]


def test_kind_filter_and_unit_messages(server_url):
    out, stop = live_subscribe(server_url + "/api/live?kinds=call")
    gid, cid, unit = (f"live-{uuid.uuid4().hex[:8]}" for _ in range(3))
    httpx.post(server_url + "/api/ingest/gunshot", json=[{"id": gid, "observed_at": "2026-11-27T23:00:00Z",
                                                          "lon": -76.62, "lat": 39.30}])
    httpx.post(server_url + "/api/ingest/call", json=[{"id": cid, "observed_at": "2026-11-27T23:00:00Z",
                                                       "lon": -76.62, "lat": 39.30, "type": "NOISE"}])
    httpx.post(server_url + "/api/ingest/avl", json=[{"unit_id": unit, "observed_at": "2026-11-27T23:00:00Z",
                                                      "lon": -76.62, "lat": 39.30, "status": "enroute"}])
    seen = []
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            seen.append(out.get(timeout=0.5))
        except queue.Empty:
            pass
        if any(s[1].get("feed_id") == cid for s in seen) and any(s[1].get("id") == unit for s in seen):
            break
    stop.set()
    ids = [s[1].get("feed_id") for s in seen if s[0] == "event"]
    assert cid in ids and gid not in ids  # kinds=call filters events
    units = [s[1] for s in seen if s[0] == "unit"]
    assert any(u["id"] == unit and u["status"] == "enroute" for u in units)


def test_streams_with_alpr_reads_are_audited(server_url, conn):
    before = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'live.subscribe'").fetchone()[0]
    headers = {**auth_headers("analyst"), "X-RTCC-Reason": "stolen car", "X-RTCC-Case-Number": "24-118812"}
    for url in ("/api/live", "/api/live?kinds=alpr_read,call", "/api/live?types=event&kinds=call",
                "/api/live?types=unit"):
        with httpx.Client(timeout=5) as c, c.stream("GET", server_url + url, headers=headers) as r:
            next(r.iter_lines())
    rows = conn.execute("SELECT who, role, reason, case_number, detail FROM audit_log WHERE action = 'live.subscribe' "
                        "ORDER BY id DESC LIMIT 5").fetchall()
    after = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'live.subscribe'").fetchone()[0]
    assert after - before == 2  # calls-only and units-only streams read no personal data
    assert rows[0][:4] == ("test-analyst", "analyst", "stolen car", "24-118812")
