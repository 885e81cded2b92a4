"""The SSE stream delivers ingested events and unit moves (real HTTP, real NOTIFY)."""
from __future__ import annotations

import json
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


# -- resumable stream (ids from the bus log) ---------------------------------------------------------

def _gunshots(conn, tag: str, n: int, start: int = 0):
    from datetime import datetime, timezone

    from services.ingest.pipeline import ingest_rows
    now = datetime.now(timezone.utc).isoformat()
    rows = [{"id": f"{tag}-{i}", "observed_at": now, "lon": -76.62 + i * 1e-5, "lat": 39.30} for i in range(start, start + n)]
    res = ingest_rows(conn, "gunshot", rows, origin="test")
    assert res.accepted == n
    return res


def _collect(out: queue.Queue, tag: str, n: int, timeout: float = 15.0) -> list[tuple]:
    """(event, data, id) of this test's events until n arrived (or the stream ended / timed out)."""
    got: list[tuple] = []
    end = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        try:
            item = out.get(timeout=0.2)
        except queue.Empty:
            continue
        if item[0] == "end":
            break
        if item[0] == "event" and str(item[1].get("feed_id", "")).startswith(tag + "-"):
            got.append(item)
    return got


def _key(i: str) -> tuple[int, int]:
    n, _, k = i.partition(".")
    return int(n), int(k) if k else 1 << 30


def test_messages_have_increasing_ids_and_resume_from_last_event_id(server_url, conn):
    tag = f"res-{uuid.uuid4().hex[:8]}"
    url = server_url + "/api/live?types=event&kinds=gunshot"
    out, stop = live_subscribe(url, ids=True)
    _gunshots(conn, tag, 5)
    first = _collect(out, tag, 5)
    stop.set()
    ids = [m[2] for m in first]
    assert [m[1]["feed_id"] for m in first] == [f"{tag}-{i}" for i in range(5)]
    assert ids == sorted(ids, key=_key) and len(set(ids)) == 5 and "." not in ids[-1]   # N.0..N.3, N
    _gunshots(conn, tag, 3, start=5)          # missed while disconnected: two batches
    _gunshots(conn, tag, 4, start=8)
    out, stop = live_subscribe(url, headers={"Last-Event-ID": ids[-1]}, ids=True)
    again = _collect(out, tag, 7)
    stop.set()
    def nums(ms):  # within a batch messages follow event ids (which follow feed_id text order)
        return [int(m[1]["feed_id"].rsplit("-", 1)[1]) for m in ms]
    assert sorted(nums(again)[:3]) == [5, 6, 7] and sorted(nums(again)[3:]) == [8, 9, 10, 11]
    again_ids = [m[2] for m in again]
    assert again_ids == sorted(again_ids, key=_key) and _key(again_ids[0]) > _key(ids[-1])
    # resuming in the middle of a batch: ?since_id=N.k sends k+1.. of that batch, then the rest
    out, stop = live_subscribe(url + f"&since_id={ids[2]}", ids=True)
    mid = _collect(out, tag, 9)
    stop.set()
    assert nums(mid)[:2] == [3, 4] and [m[2] for m in mid[:2]] == ids[3:]
    assert [m[2] for m in mid[2:]] == again_ids


def test_bad_resume_id_is_a_400(client):
    for bad in ("abc", "1.x", "-3", "1." + "9" * 12):
        r = client.get("/api/live", params={"since_id": bad})
        assert r.status_code == 400, bad
        assert "id" in r.json()["detail"]


def test_a_resume_past_the_retention_gets_resync_expired(server_url, conn):
    conn.execute("UPDATE live_log_pruned SET below = GREATEST(below, 3)")
    out, stop = live_subscribe(server_url + "/api/live?since_id=1", ids=True)
    ev, data, _ = out.get(timeout=10)
    stop.set()
    assert ev == "resync" and data["reason"] == "expired" and int(data["since_id"]) >= 3


def test_a_client_too_slow_gets_resync_and_loses_nothing_by_resuming(server_url, conn, monkeypatch):
    """A client that stops reading falls out of the process's ring: it is told `resync` with the id to
    resume from, and resuming from it delivers every remaining message exactly once."""
    import re
    import socket

    from services.live import hub
    from services.settings import get_settings
    monkeypatch.setenv("RTCC_LIVE_BUFFER", "100")
    get_settings.cache_clear()
    tag = f"slow-{uuid.uuid4().hex[:8]}"
    host, port = server_url.removeprefix("http://").split(":")
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, int(port)))
        s.sendall(b"GET /api/live?types=event&kinds=gunshot HTTP/1.0\r\nHost: test\r\nAuthorization: "
                  + auth_headers("admin")["Authorization"].encode() + b"\r\n\r\n")
        buf = b""
        while b": connected" not in buf:
            buf += s.recv(4096)
        total = 3000
        for b in range(6):                      # 3,000 messages (~1.6 MB) the client does not read
            _gunshots(conn, tag, 500, start=b * 500)
        assert hub.capacity == 100 and len(hub.keys) <= 110
        s.settimeout(20)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
        monkeypatch.undo()
        get_settings.cache_clear()
    text = buf.decode()
    seen = re.findall(rf'"feed_id":"({tag}-\d+)"', text)
    m = re.search(r"event: resync\ndata: (\{.*\})", text)
    assert m, "no resync event for a client that fell behind"
    resync = json.loads(m.group(1))
    assert resync["reason"] == "slow" and len(seen) < total
    out, stop = live_subscribe(server_url + f"/api/live?types=event&kinds=gunshot&since_id={resync['since_id']}",
                               ids=True)
    rest = _collect(out, tag, total - len(seen), timeout=30)
    stop.set()
    delivered = seen + [m[1]["feed_id"] for m in rest]
    assert len(delivered) == total and set(delivered) == {f"{tag}-{i}" for i in range(total)}
