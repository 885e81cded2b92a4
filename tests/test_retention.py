"""Retention removes expired events (times set in the past), keeps those under a legal hold, drops
whole monthly partitions when it can, and audits every purge; the public transparency summary.
Purges run on a database of their own (the session's demo city stays whole for the other tests)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from services import migrate, retention
from services.ingest.pipeline import ingest_rows


@pytest.fixture
def own(empty_database):
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
        yield c


def _ids(conn, tag):
    return dict(conn.execute("SELECT feed_id, id FROM events WHERE feed_id LIKE %s", (f"{tag}%",)).fetchall())


def test_retention_removes_expired_reads_and_keeps_held_ones(own):
    tag = "ret-"
    now = datetime.now(timezone.utc)
    old = (now - timedelta(days=45)).isoformat()
    own.execute("INSERT INTO hotlists (plate, state, reason) VALUES ('HOT1', '', 'stolen')")
    rows = [{"id": tag + "old-cold", "plate": "COLD1", "observed_at": old},
            {"id": tag + "old-held", "plate": "HELD1", "observed_at": old},
            {"id": tag + "old-plate", "plate": "PLATE9", "observed_at": old},
            {"id": tag + "old-hot", "plate": "HOT1", "observed_at": old},
            {"id": tag + "new-cold", "plate": "COLD2", "observed_at": (now - timedelta(days=2)).isoformat()}]
    for r in rows:
        r.update(lon=-76.61, lat=39.29)
    assert ingest_rows(own, "alpr", rows, origin="test").accepted == 5
    ids = _ids(own, tag)
    retention.place_hold(own, retention.Hold(case_number="25-HOLD-1", reason="pending trial",
                                             event_ids=[ids[tag + "old-held"]], plates=["plate 9"]), "det")
    out = retention.run(own)
    assert out["rows"] == {"alpr_read": 1}
    assert set(_ids(own, tag)) == {tag + "old-held", tag + "old-plate", tag + "old-hot", tag + "new-cold"}
    assert own.execute("SELECT count(*) FROM event_keys WHERE feed_id = %s", (tag + "old-cold",)).fetchone()[0] == 0
    who, detail = own.execute("SELECT who, detail FROM audit_log WHERE action = 'retention.purge' "
                              "ORDER BY id DESC LIMIT 1").fetchone()
    assert who == "retention" and detail["rows"] == {"alpr_read": 1} and detail["purged"] == 1
    retention.release_hold(own, "25-HOLD-1")  # released: the reads follow retention again
    assert retention.run(own)["rows"] == {"alpr_read": 2}
    assert set(_ids(own, tag)) == {tag + "old-hot", tag + "new-cold"}  # a hotlist hit is kept for years
    assert retention.audit.verify(own)["ok"]


def test_whole_old_partitions_are_dropped_unless_held(own):
    from services.settings import get_settings
    s = get_settings()
    saved = s.retention_days
    s.retention_days = {k: 365 for k in retention.DEFAULT_DAYS}  # ingest accepts 20 years back: keep one here
    try:
        _partitions(own)
    finally:
        s.retention_days = saved


def _partitions(own):
    tag = "part-"
    t = "2010-03-15T12:00:00Z"  # beyond every retention of this test
    rows = [{"id": tag + str(i), "observed_at": t, "lon": -76.61, "lat": 39.29, "type": "X"} for i in range(3)]
    assert ingest_rows(own, "cad", rows, origin="test").accepted == 3
    assert own.execute("SELECT to_regclass('events_y2010m03')").fetchone()[0] is not None
    held = _ids(own, tag)[tag + "0"]
    retention.place_hold(own, retention.Hold(case_number="10-HOLD", reason="cold case", event_ids=[held]), "t")
    out = retention.run(own)
    assert "events_y2010m03" not in out["partitions_dropped"] and out["rows"]["cad_incident"] == 2
    assert set(_ids(own, tag)) == {tag + "0"}
    retention.release_hold(own, "10-HOLD")
    out = retention.run(own)
    assert out["partitions_dropped"] == ["events_y2010m03"] and out["rows"]["in_dropped_partitions"] == 1
    assert own.execute("SELECT to_regclass('events_y2010m03')").fetchone()[0] is None
    assert own.execute("SELECT count(*) FROM event_keys WHERE feed_id LIKE 'part-%'").fetchone()[0] == 0


def test_legal_hold_api_and_transparency(client, client_as, conn):
    case = f"25-{uuid.uuid4().hex[:6]}"
    r = client_as("supervisor").post("/api/legal-holds", json={"case_number": case, "reason": "pending trial",
                                                                "plates": ["ABC123"]})
    assert r.status_code == 201, r.text
    assert case in {h["case_number"] for h in client.get("/api/legal-holds").json()}
    assert client_as("analyst").get("/api/legal-holds").status_code == 403
    assert client.post("/api/retention/run", json={"confirm": False}).status_code == 422
    client.get("/tiles/alpr_reads/14/4676/6268.mvt", headers={"X-RTCC-Reason": "investigation: burglary",
                                                               "X-RTCC-Case-Number": "25-55"})
    r = client_as(None).get("/api/transparency", params={"months": 2})
    assert r.status_code == 200
    d = r.json()
    assert len(d["months"]) == 2 and d["retention_days"]["alpr_read"] == 30 and d["active_legal_holds"] >= 1
    assert d["months"][0]["plate_data_reads_by_reason"].get("investigation", 0) >= 1
    assert "25-55" not in r.text and "test-admin" not in r.text and "burglary" not in r.text and "ABC123" not in r.text
    assert client_as("viewer").post("/api/retention/run", json={"confirm": True}).status_code == 403
    assert client.delete(f"/api/legal-holds/{case}").status_code == 200
