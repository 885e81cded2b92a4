"""Investigations against the real database: plate search (exact, wildcards, filters, the 400s),
trajectory (legs checked against pyproj's geodesic), vehicles near X around T, co-travel,
correlation across feeds, and the audit rows each leaves.

Every test ingests its own reads through POST /api/ingest with fresh plates, at times in 2009
(before the demo city's records), each test at its own place and hour, so tests never see each
other's data.
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pyproj import Geod

from services.settings import get_settings

GEOD = Geod(ellps="WGS84")
# the purpose plate data needs (security's rule: reason and case number); identity is the API key
H = {"X-RTCC-Reason": "armed robbery follow-up", "X-RTCC-Case-Number": "INV-TESTS"}
RNG = random.Random()


def plate(prefix: str = "") -> str:
    return (prefix + uuid.uuid4().hex.upper().replace("0", "X"))[:7]


def base_time() -> datetime:
    """An hour of its own in 2009 for one test."""
    return datetime(2009, 1, 1, tzinfo=timezone.utc) + timedelta(hours=RNG.randrange(0, 300 * 24))


def a_place() -> tuple[float, float]:
    return -76.68 + RNG.random() * 0.12, 39.26 + RNG.random() * 0.07


def offset(lon: float, lat: float, bearing: float, metres: float) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, bearing, metres)
    return x, y


def ingest(client, feed: str, rows: list[dict]) -> dict:
    r = client.post(f"/api/ingest/{feed}", json=rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["rejected"], body
    return body


def read(p: str, t: datetime, lon: float, lat: float, camera: str = "CAM-X", conf: float = 0.9, **kw) -> dict:
    return {"id": f"r-{uuid.uuid4().hex}", "plate": p, "state": kw.pop("state", "MD"), "camera_id": camera,
            "observed_at": t.isoformat(), "lon": lon, "lat": lat, "confidence": conf, **kw}


def audit_rows(conn, action: str, since: int) -> list[dict]:
    return [r[0] for r in conn.execute("SELECT detail FROM audit_log WHERE action = %s AND id > %s ORDER BY id",
                                       (action, since))]


def last_audit_id(conn) -> int:
    return conn.execute("SELECT COALESCE(max(id), 0) FROM audit_log").fetchone()[0]


# --- plate search ----------------------------------------------------------------------------

def test_search_exact_and_wildcards_newest_first(client, conn):
    t0, (lon, lat) = base_time(), a_place()
    stem = plate()[:4]
    plates = [stem + "123", stem + "124", stem + "923", "Q" + stem + "12"]
    rows = [read(p, t0 + timedelta(minutes=i), lon, lat) for i, p in enumerate(plates)]
    rows.append(read(plates[0], t0 + timedelta(minutes=30), lon, lat))
    ingest(client, "alpr", rows)

    def plates_of(q: str, **params) -> list[str]:
        r = client.get("/api/alpr/search", params={"plate": q, **params}, headers=H)
        assert r.status_code == 200, r.text
        reads = r.json()["reads"]
        times = [x["observed_at"] for x in reads]
        assert times == sorted(times, reverse=True)  # newest first
        return [x["plate"] for x in reads]

    assert plates_of(plates[0]) == [plates[0], plates[0]]
    assert plates_of(plates[0].lower()[:4] + "-" + plates[0][4:]) == [plates[0], plates[0]]  # normalised like ingest
    assert sorted(plates_of(stem + "*")) == sorted([plates[0], plates[0], plates[1], plates[2]])
    assert sorted(plates_of(stem + "12?")) == sorted([plates[0], plates[0], plates[1]])
    assert sorted(plates_of("*" + stem + "12*")) == sorted([plates[0]] * 2 + [plates[1], plates[3]])
    assert plates_of(stem + "?23", limit=1) == [plates[0]]
    # time window, bbox, camera list
    assert plates_of(stem + "*", **{"from": (t0 + timedelta(minutes=10)).isoformat()}) == [plates[0]]
    far = f"{lon + 0.01},{lat + 0.01},{lon + 0.02},{lat + 0.02}"
    assert plates_of(stem + "*", bbox=far) == []
    assert plates_of(stem + "*", cameras="NOPE,OTHER") == []
    assert len(plates_of(stem + "*", cameras="CAM-X")) == 4
    ring = [[lon - 1e-3, lat - 1e-3], [lon + 1e-3, lat - 1e-3], [lon + 1e-3, lat + 1e-3], [lon - 1e-3, lat + 1e-3]]
    fence = json.dumps({"type": "Polygon", "coordinates": [ring + ring[:1]]})
    assert len(plates_of(stem + "*", geofence=fence)) == 4
    one = client.get("/api/alpr/search", params={"plate": plates[1]}, headers=H).json()["reads"][0]
    assert one["camera_id"] == "CAM-X" and one["state"] == "MD" and one["confidence"] == pytest.approx(0.9)
    assert one["lon"] == pytest.approx(lon) and one["lat"] == pytest.approx(lat)


@pytest.mark.parametrize("q, phrase", [
    ("", "give a plate"), ("   ", "give a plate"), ("*", "wildcards only"), ("**??*", "wildcards only"),
    ("*A*", "too vague"), ("?B*", "too vague"), ("AB'1", "may hold only"), ("AB;DROP", "may hold only"),
])
def test_search_rejects_patterns_that_would_scan_everything(client, q, phrase):
    r = client.get("/api/alpr/search", params={"plate": q}, headers=H)
    assert r.status_code == 400 and phrase in r.json()["detail"], r.text  # a bad query parameter


def test_search_dates_are_agency_local_days(client):
    """from/to are read by the one time parser (services/query/times.py), as on /tiles and /ogc: a
    date is the whole agency-local day, so from=to=D keeps the reads of D in the agency's zone."""
    tz = ZoneInfo(get_settings().timezone)
    day = base_time().astimezone(tz).date()
    midnight = datetime.combine(day, time.min, tz)
    inside = [midnight + timedelta(minutes=30), midnight + timedelta(hours=23, minutes=30)]
    outside = [midnight - timedelta(minutes=30), midnight + timedelta(hours=24, minutes=30)]
    p, (lon, lat) = plate(), a_place()
    ingest(client, "alpr", [read(p, t, lon, lat) for t in inside + outside])
    r = client.get("/api/alpr/search", params={"plate": p, "from": day.isoformat(), "to": day.isoformat()},
                   headers=H)
    assert r.status_code == 200, r.text
    got = sorted(datetime.fromisoformat(x["observed_at"]) for x in r.json()["reads"])
    assert got == inside
    r = client.get("/api/alpr/search", params={"plate": p, "from": "2009-02-30"}, headers=H)
    assert r.status_code == 400 and "from" in r.json()["detail"], r.text


def test_search_needs_a_reason_and_a_case_number_and_is_audited_with_them(client, client_as, conn):
    p = plate()
    ingest(client, "alpr", [read(p, base_time(), *a_place())])
    analyst = client_as("analyst")
    for params in ({}, {"reason": "hit and run"}, {"case_number": "25-1"}):  # security's one rule: both
        r = analyst.get("/api/alpr/search", params={"plate": p, **params})
        assert r.status_code == 403 and "reason" in r.json()["detail"] and "case" in r.json()["detail"], r.text
    denied = client_as("viewer").get("/api/alpr/search", params={"plate": p, "reason": "x", "case_number": "25-1"})
    assert denied.status_code == 403 and "alpr:read" in denied.json()["detail"]
    before = last_audit_id(conn)
    case = f"25-{uuid.uuid4().hex[:6]}"
    r = analyst.get("/api/alpr/search", params={"plate": p, "reason": "hit and run", "case_number": case})
    assert r.status_code == 200 and r.json()["count"] == 1
    [d] = audit_rows(conn, "alpr.search", before)
    assert (d["reason"], d["case_number"], d["plate"], d["results"]) == ("hit and run", case, p, 1)
    row = conn.execute("SELECT who, role, reason, case_number FROM audit_log WHERE action = 'alpr.search' "
                       "ORDER BY id DESC LIMIT 1").fetchone()
    assert row == ("test-analyst", "analyst", "hit and run", case)  # the authenticated identity
    # the search is filed in the case (created by it)
    c = client.get(f"/api/cases/{case}", headers=H).json()
    assert [s["plate"] for s in c["searches"]] == [p] and c["searches"][0]["reason"] == "hit and run"
    assert c["searches"][0]["by"] == "test-analyst"
    # headers work as well as parameters
    r = analyst.get("/api/alpr/search", params={"plate": p},
                    headers={"X-RTCC-Reason": "patrol check", "X-RTCC-Case-Number": case})
    assert r.status_code == 200
    assert audit_rows(conn, "alpr.search", before)[-1]["case_number"] == case
    r = analyst.get("/api/alpr/search", params={"plate": p, "reason": "x", "case_number": "bad case!"})
    assert r.status_code == 403 and "case number" in r.json()["detail"]


# --- trajectory --------------------------------------------------------------------------------

def test_trajectory_legs_stops_gaps_and_misreads(client, conn):
    p, t0, (lon, lat) = plate(), base_time(), a_place()
    a = (lon, lat)
    b = offset(lon, lat, 90, 1200)          # 1.2 km east
    c = offset(*b, 0, 2500)                  # 2.5 km north of b
    d = offset(*c, 0, 30000)                 # >4 km further: impossible in 20 s
    d = (min(d[0], -76.46), min(d[1], 39.39))
    rows = [read(p, t0, *a, camera="C-A"), read(p, t0 + timedelta(seconds=40), *a, camera="C-A"),
            read(p, t0 + timedelta(minutes=2), *b, camera="C-B"),
            read(p, t0 + timedelta(minutes=80), *c, camera="C-C"),                # a gap of 78 min
            read(p, t0 + timedelta(minutes=80, seconds=20), *d, camera="C-D", conf=0.4)]      # impossible jump
    ingest(client, "alpr", rows)
    r = client.get("/api/alpr/trajectory", params={"plate": p, "gap_min": 30, "max_kmh": 200}, headers=H)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["count"] == 5 and [x["camera_id"] for x in j["reads"]] == ["C-A", "C-A", "C-B", "C-C", "C-D"]
    assert [s["camera_id"] for s in j["stops"]] == ["C-A", "C-B", "C-C", "C-D"]
    assert j["stops"][0]["reads"] == 2 and j["stops"][0]["last_seen"] > j["stops"][0]["first_seen"]
    legs = j["legs"]
    pts = [a, a, b, c, d]
    secs = [0, 40, 120, 4800, 4820]
    for i, leg in enumerate(legs):
        _, _, metres = GEOD.inv(*pts[i], *pts[i + 1])
        assert leg["distance_m"] == pytest.approx(metres, abs=1.0)
        assert leg["seconds"] == secs[i + 1] - secs[i]
        assert leg["speed_kmh"] == pytest.approx(metres / leg["seconds"] * 3.6, abs=0.06)
    assert [leg["gap"] for leg in legs] == [False, False, True, False]
    assert [leg["impossible"] for leg in legs] == [False, False, False, True]
    assert [x["probable_misread"] for x in j["reads"]] == [False, False, False, False, True]
    assert j["probable_misreads"] == 1 and j["gaps"] == 1
    assert len(j["path"]["geometry"]["coordinates"]) == 4  # the misread is not drawn
    r = client.get("/api/alpr/trajectory", params={"plate": p[:3] + "*"}, headers=H)
    assert r.status_code == 400 and "without wildcards" in r.json()["detail"]


# --- vehicles near X around T, co-travel -------------------------------------------------------

def test_near_groups_by_plate_and_ranks_by_space_and_time(client, conn):
    t0, (lon, lat) = base_time(), a_place()
    close, later, far_off, too_far, too_late = (plate() for _ in range(5))
    rows = [read(close, t0 + timedelta(minutes=1), *offset(lon, lat, 10, 20)),
            read(close, t0 + timedelta(minutes=6), *offset(lon, lat, 10, 150)),
            read(later, t0 + timedelta(minutes=15), *offset(lon, lat, 200, 30)),
            read(far_off, t0 - timedelta(minutes=2), *offset(lon, lat, 300, 280)),
            read(too_far, t0, *offset(lon, lat, 45, 420)),
            read(too_late, t0 + timedelta(minutes=25), lon, lat)]
    ingest(client, "alpr", rows)
    r = client.get("/api/alpr/near", params={"lon": lon, "lat": lat, "at": t0.isoformat(), "radius_m": 300,
                                             "minutes": 20}, headers=H)
    assert r.status_code == 200, r.text
    j = r.json()
    got = [g["plate"] for g in j["plates"]]
    assert got[0] == close and set(got) == {close, later, far_off}
    # independent ranking: min over reads of sqrt((d/R)^2 + (dt/T)^2)
    exp = {}
    for row in rows:
        _, _, d = GEOD.inv(lon, lat, row["lon"], row["lat"])
        dt = (datetime.fromisoformat(row["observed_at"]) - t0).total_seconds()
        if d <= 300 and abs(dt) <= 1200:
            exp[row["plate"]] = min(exp.get(row["plate"], 9), ((d / 300) ** 2 + (dt / 1200) ** 2) ** 0.5)
    assert got == sorted(exp, key=exp.get)
    for g in j["plates"]:
        assert g["score"] == pytest.approx(exp[g["plate"]], abs=2e-3)
    assert j["plates"][0]["reads"] == 2 and len(j["plates"][0]["sightings"]) == 2


def test_near_an_incident_uses_its_place_and_time(client, conn):
    t0, (lon, lat) = base_time(), a_place()
    res = ingest(client, "gunshot", [{"id": f"g-{uuid.uuid4().hex}", "observed_at": t0.isoformat(),
                                      "lon": lon, "lat": lat, "rounds": 3}])
    eid = conn.execute("SELECT id FROM events WHERE batch_id = %s", (res["batch_id"],)).fetchone()[0]
    p = plate()
    ingest(client, "alpr", [read(p, t0 - timedelta(minutes=5), *offset(lon, lat, 0, 50))])
    j = client.get("/api/alpr/near", params={"event_id": eid}, headers=H).json()
    assert [g["plate"] for g in j["plates"]] == [p] and j["event"]["kind"] == "gunshot"
    assert client.get("/api/alpr/near", params={"event_id": 2**62}, headers=H).status_code == 404
    assert client.get("/api/alpr/near", params={"lon": lon}, headers=H).status_code == 400


def test_cotravel_finds_the_follow_car(client, conn):
    t0, (lon, lat) = base_time(), a_place()
    target, follower, once, late = plate(), plate(), plate(), plate()
    cams = [(f"CT-{uuid.uuid4().hex[:6]}", *offset(lon, lat, 90, 800 * i)) for i in range(4)]
    rows = []
    for i, (cid, x, y) in enumerate(cams):
        t = t0 + timedelta(minutes=3 * i)
        rows.append(read(target, t, x, y, camera=cid))
        if i < 3:
            rows.append(read(follower, t + timedelta(seconds=25), x, y, camera=cid))
    rows.append(read(once, t0 + timedelta(seconds=10), cams[0][1], cams[0][2], camera=cams[0][0]))
    rows.append(read(late, t0 + timedelta(minutes=30), cams[1][1], cams[1][2], camera=cams[1][0]))
    rows.append(read(late, t0 + timedelta(minutes=40), cams[2][1], cams[2][2], camera=cams[2][0]))
    ingest(client, "alpr", rows)
    r = client.get("/api/alpr/cotravel", params={"plate": target, "window_s": 60, "min_cameras": 2}, headers=H)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["target_reads"] == 4
    assert [(g["plate"], g["shared_cameras"]) for g in j["plates"]] == [(follower, 3)]
    assert j["plates"][0]["mean_offset_s"] == 25
    j = client.get("/api/alpr/cotravel", params={"plate": target, "window_s": 60, "min_cameras": 1},
                   headers=H).json()
    assert {g["plate"] for g in j["plates"]} == {follower, once}


# --- correlation ---------------------------------------------------------------------------------

def test_correlation_across_feeds_in_one_answer(client, conn):
    t0, (lon, lat) = base_time(), a_place()
    uid = f"U-{uuid.uuid4().hex[:6]}"
    res = ingest(client, "cad", [{"id": f"c-{uuid.uuid4().hex}", "observed_at": t0.isoformat(), "lon": lon,
                                  "lat": lat, "type": "SHOOTING", "priority": 1}])
    eid = conn.execute("SELECT id FROM events WHERE batch_id = %s", (res["batch_id"],)).fetchone()[0]
    near_pt = offset(lon, lat, 120, 200)
    ingest(client, "gunshot", [{"id": f"g-{uuid.uuid4().hex}", "observed_at": (t0 - timedelta(minutes=2)).isoformat(),
                                "lon": near_pt[0], "lat": near_pt[1], "rounds": 4},
                               {"id": f"g-{uuid.uuid4().hex}", "observed_at": (t0 - timedelta(minutes=50)).isoformat(),
                                "lon": near_pt[0], "lat": near_pt[1], "rounds": 1}])           # too early
    ingest(client, "call", [{"id": f"k-{uuid.uuid4().hex}", "observed_at": (t0 + timedelta(minutes=1)).isoformat(),
                             "lon": near_pt[0], "lat": near_pt[1], "type": "DISCHARGING"},
                            {"id": f"k-{uuid.uuid4().hex}", "observed_at": t0.isoformat(),
                             **dict(zip(("lon", "lat"), offset(lon, lat, 0, 900)))}])          # too far
    p = plate()
    ingest(client, "alpr", [read(p, t0 + timedelta(minutes=4), *offset(lon, lat, 270, 300))])
    ingest(client, "tip", [{"id": f"t-{uuid.uuid4().hex}", "observed_at": (t0 + timedelta(minutes=9)).isoformat(),
                            "lon": near_pt[0], "lat": near_pt[1], "text": "saw a grey sedan speed off",
                            "source": "phone"}])
    ingest(client, "avl", [{"unit_id": uid, "observed_at": (t0 + timedelta(minutes=m)).isoformat(),
                            "lon": x, "lat": y, "status": "enroute"}
                           for m, (x, y) in ((3, offset(lon, lat, 0, 1500)), (6, offset(lon, lat, 0, 350)),
                                             (8, offset(lon, lat, 0, 60)))])
    before = last_audit_id(conn)
    r = client.get("/api/correlate", params={"event_id": eid, "radius_m": 500, "minutes": 30})
    assert r.status_code == 200, r.text
    j = r.json()
    kinds = [e["kind"] for e in j["events"]]
    assert kinds == ["gunshot", "call", "tip"]            # time order, the incident itself left out
    assert "reason" in j["alpr_omitted"]
    assert [e["offset_s"] for e in j["events"]] == [-120, 60, 540]
    assert [(u["unit_id"], round(u["distance_m"])) for u in j["units"]] == [(uid, 60)]
    assert audit_rows(conn, "correlate", before) == []
    j = client.get("/api/correlate", params={"event_id": eid, "radius_m": 500, "minutes": 30}, headers=H).json()
    assert [e["kind"] for e in j["events"]] == ["gunshot", "call", "alpr_read", "tip"] and j["alpr_omitted"] is None
    assert j["events"][2]["plate"] == p
    [d] = audit_rows(conn, "correlate", before)
    assert d["alpr_reads"] == 1 and d["reason"] == H["X-RTCC-Reason"]
    j = client.get("/api/correlate", params={"lon": lon, "lat": lat, "at": t0.isoformat(), "kinds": "gunshot"}).json()
    assert [e["kind"] for e in j["events"]] == ["gunshot"]
    assert client.get("/api/correlate", params={"event_id": 2**62}).status_code == 404
    assert client.get("/api/correlate", params={"lon": lon, "lat": lat, "kinds": "martians"}).status_code == 400


# --- tips ------------------------------------------------------------------------------------------

def test_tip_feed_places_by_point_address_or_not_at_all(client, conn):
    t0 = base_time()
    case = f"TIP-{uuid.uuid4().hex[:6]}"
    ids = [f"tip-{uuid.uuid4().hex}" for _ in range(3)]
    rows = [
        {"id": ids[0], "observed_at": t0.isoformat(), "source": "social media", "text": "video of the shooter",
         "links": "https://social.example/p/1, https://social.example/p/2", "media": ["https://cdn.example/v.mp4"],
         "lon": -76.6122, "lat": 39.2904, "credibility": "medium", "case_number": case},
        {"id": ids[1], "observed_at": t0.isoformat(), "source": "phone", "text": "car parked behind the store",
         "address": "1500 W NORTH AVE", "anonymous": "yes", "reporter": "Jane Doe, 555-0100", "case_number": case},
        {"id": ids[2], "observed_at": t0.isoformat(), "source": "walk-in", "text": "blue Civic, loud exhaust",
         "reporter": "John Roe", "credibility": "low"},
        {"id": "bad-1", "observed_at": t0.isoformat(), "source": "pigeon", "text": "x"},
        {"id": "bad-2", "observed_at": t0.isoformat(), "text": "x", "links": "javascript:alert(1)"},
        {"id": "bad-3", "observed_at": t0.isoformat(), "source": "web"},
        {"id": "bad-4", "observed_at": t0.isoformat(), "text": "x", "credibility": "certain"},
    ]
    r = client.post("/api/ingest/tip", json=rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 3
    reasons = {x["row"]: x["reason"] for x in body["rejected"]}
    assert "source" in reasons[3] and "http" in reasons[4] and "missing text" in reasons[5] and "credibility" in reasons[6]
    got = {r[0]: r[1:] for r in conn.execute(
        "SELECT feed_id, loc_method, geom IS NOT NULL, attrs FROM events WHERE kind = 'tip' AND feed_id = ANY(%s)",
        (ids,))}
    assert got[ids[0]][:2] == ("given", True)
    assert got[ids[0]][2]["links"] == ["https://social.example/p/1", "https://social.example/p/2"]
    assert got[ids[0]][2]["source"] == "social" and got[ids[0]][2]["credibility"] == "medium"
    assert got[ids[1]][:2] == ("geocoded", True)
    assert got[ids[1]][2]["anonymous"] is True and "reporter" not in got[ids[1]][2]  # never stored
    assert got[ids[2]][:2] == ("none", False) and got[ids[2]][2]["reporter"] == "John Roe"
    assert got[ids[2]][2]["source"] == "walkin" and got[ids[2]][2]["anonymous"] is False
    # the tips layer (view + catalog) and the case named by the tips
    assert "tips" in {layer["id"] for layer in client.get("/api/layers").json()["layers"]}
    n = conn.execute("SELECT count(*) FROM tips WHERE feed_id = ANY(%s)", (ids,)).fetchone()[0]
    assert n == 3
    c = client.get(f"/api/cases/{case}", headers=H)
    assert c.status_code == 200, c.text
    assert sorted(e["id"] for e in c.json()["events"]) == sorted(
        r[0] for r in conn.execute("SELECT id FROM events WHERE feed_id = ANY(%s)", (ids[:2],)))


# --- cases -----------------------------------------------------------------------------------------

def test_case_gathers_events_tasks_notes_and_searches(client, conn):
    n = f"25-{uuid.uuid4().hex[:8].upper()}"
    assert client.get(f"/api/cases/{n}", headers=H).status_code == 404
    assert client.get("/api/cases/bad%20number!", headers=H).status_code == 400
    r = client.post("/api/cases", json={"case_number": n, "title": "Robbery at the corner store"}, headers=H)
    assert r.status_code == 200 and r.json()["title"] == "Robbery at the corner store"
    t0, (lon, lat) = base_time(), a_place()
    res = ingest(client, "cad", [{"id": f"c-{uuid.uuid4().hex}", "observed_at": t0.isoformat(), "lon": lon,
                                  "lat": lat, "type": "ROBBERY"}])
    eid = conn.execute("SELECT id FROM events WHERE batch_id = %s", (res["batch_id"],)).fetchone()[0]
    task = client.post("/api/tasks", json={"analyst": "A. Tester", "title": "pull video", "incident_ids": [eid]}).json()
    alert = conn.execute("INSERT INTO alerts (rule_name, priority, title, kind, event_ids, event, observed_at) VALUES "
                         "('test', 2, 'BOLO hit', 'alpr_read', '{}', '{}', now()) RETURNING id").fetchone()[0]
    r = client.post(f"/api/cases/{n}/items", json={"events": [eid, eid], "tasks": [task["id"]], "alerts": [alert]},
                    headers=H)
    assert r.status_code == 200 and r.json()["added"] == 3
    r = client.post(f"/api/cases/{n}/items", json={"alerts": [2**62]}, headers=H)
    assert r.status_code == 422 and "unknown alert" in r.json()["detail"]
    assert client.post(f"/api/cases/{n}/items", json={"events": [eid]}, headers=H).json()["added"] == 0
    r = client.post(f"/api/cases/{n}/items", json={"events": [2**62]}, headers=H)
    assert r.status_code == 422 and "unknown event" in r.json()["detail"]
    assert client.post(f"/api/cases/NOPE-{uuid.uuid4().hex[:6]}/notes", json={"text": "x"}).status_code == 404
    note = client.post(f"/api/cases/{n}/notes", json={"text": "Witness saw a grey sedan"}, headers=H)
    assert note.status_code == 200 and note.json()["author"] == "test-admin"
    assert client.post(f"/api/cases/{n}/notes", json={"text": ""}, headers=H).status_code == 422
    p = plate()
    ingest(client, "alpr", [read(p, t0 + timedelta(minutes=3), lon, lat)])
    client.get("/api/alpr/search", params={"plate": p, "case_number": n}, headers=H)
    c = client.get(f"/api/cases/{n}", headers=H).json()
    assert [e["id"] for e in c["events"]] == [eid]
    assert [t["id"] for t in c["tasks"]] == [task["id"]]
    assert [(a["id"], a["title"]) for a in c["alerts"]] == [(alert, "BOLO hit")]
    assert [x["text"] for x in c["notes"]] == ["Witness saw a grey sedan"]
    assert [s["plate"] for s in c["searches"]] == [p]
    assert c["summary"]["events"] == 1 and c["summary"]["kinds"] == {"cad_incident": 1}
    assert set(c["exports"]) >= {"gpkg", "kml", "pdf", "takzip"}
    listed = {x["case_number"]: x for x in client.get("/api/cases", headers=H).json()["cases"]}
    assert listed[n]["events"] == 1 and listed[n]["tasks"] == 1 and listed[n]["notes"] == 1


# --- replay ----------------------------------------------------------------------------------------

def test_replay_pages_a_window_in_time_order(client, conn):
    t0, (lon, lat) = base_time(), a_place()
    rows = [{"id": f"k-{uuid.uuid4().hex}", "observed_at": (t0 + timedelta(seconds=37 * i)).isoformat(),
             "lon": lon + 1e-4 * i, "lat": lat, "type": "NOISE"} for i in range(25)]
    ingest(client, "call", rows)
    p = plate()
    ingest(client, "alpr", [read(p, t0 + timedelta(seconds=100), lon, lat)])
    window = {"from": t0.isoformat(), "to": (t0 + timedelta(minutes=60)).isoformat(),
              "bbox": f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}", "limit": 10}
    seen, after = [], None
    for _ in range(5):
        r = client.get("/api/replay", params={**window, **({"after": after} if after else {})})
        assert r.status_code == 200, r.text
        j = r.json()
        seen += j["events"]
        after = j["next"]
        if not after:
            break
    assert [e["kind"] for e in seen] == ["call"] * 25   # plate reads need a reason
    times = [(e["observed_at"], e["id"]) for e in seen]
    assert times == sorted(times) and len(set(times)) == 25
    before = last_audit_id(conn)
    j = client.get("/api/replay", params={**window, "limit": 100}, headers=H).json()
    assert len(j["events"]) == 26 and j["next"] is None and j["alpr_omitted"] is None
    assert audit_rows(conn, "replay", before)[0]["alpr_reads"] == 1
    assert client.get("/api/replay", params={"from": t0.isoformat()}).status_code == 400
    assert client.get("/api/replay", params={**window, "after": "yesterday"}).status_code == 400
    bad = {**window, "to": (t0 - timedelta(minutes=1)).isoformat()}
    assert client.get("/api/replay", params=bad).status_code == 400
