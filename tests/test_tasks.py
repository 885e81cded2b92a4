"""The RTCC task tracker: create/update/close/list with filters, CSV export, dashboard aggregates
(checked against an independent computation in Python), the tasks map layer and the live message."""
from __future__ import annotations

import csv
import io
import queue
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from layers.catalog import get_layer
from tests.conftest import live_subscribe

ACTS = ["video_review", "live_camera", "lpr_search", "social_media", "records_check"]
OUTS = ["suspect_identified", "vehicle_located", "arrest", "case_cleared", "no_result"]
SOLVED = {"suspect_identified", "vehicle_located", "arrest", "case_cleared"}


def tag() -> str:
    return f"T-{uuid.uuid4().hex[:8]}"


def make(client, **kw) -> dict:
    body = {"analyst": "A. Tester", **kw}
    r = client.post("/api/tasks", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def an_incident(conn) -> tuple[int, float, float, str]:
    return conn.execute("SELECT id, ST_X(geom), ST_Y(geom), type FROM events "
                        "WHERE kind = 'cad_incident' AND geom IS NOT NULL AND type IS NOT NULL "
                        "ORDER BY id LIMIT 1 OFFSET 17").fetchone()


def test_create_from_incident_takes_its_location_and_type(client, conn):
    eid, lon, lat, typ = an_incident(conn)
    t = make(client, incident_ids=[eid], activity_types=["video_review", "lpr_search"], minutes_spent=25)
    assert t["status"] == "open" and t["closed_at"] is None
    assert t["incident_ids"] == [eid] and t["crime_type"] == typ
    assert t["lon"] == pytest.approx(lon) and t["lat"] == pytest.approx(lat)
    row = conn.execute("SELECT analyst, minutes_spent, activity_types, ST_Equals(geom, "
                       "(SELECT geom FROM events WHERE id = %s)) FROM tasks WHERE id = %s", (eid, t["id"])).fetchone()
    assert row == ("A. Tester", 25, ["video_review", "lpr_search"], True)
    assert client.get(f"/api/tasks/{t['id']}").json() == t


@pytest.mark.parametrize("body, phrase", [
    ({"activity_types": ["telepathy"]}, "unknown activity"),
    ({"incident_ids": [-5]}, "unknown incident"),
    ({"lon": 2.35, "lat": 48.85}, "outside the service area"),
    ({"lon": -76.6}, "both lon and lat"),
    ({"closed_at": "2026-01-01T00:00:00Z"}, "needs an outcome"),
    ({"outcome": "victory"}, "unknown outcome"),
    ({"analyst": ""}, "analyst"),
    ({"minutes_spent": -3}, "minutes_spent"),
    ({"created_at": "2026-02-01T00:00:00Z", "closed_at": "2026-01-01T00:00:00Z", "outcome": "arrest"}, "before"),
])
def test_bad_input_is_422_with_a_reason(client, body, phrase):
    r = client.post("/api/tasks", json={"analyst": "A. Tester", **body})
    assert r.status_code == 422, r.text
    assert phrase in r.json()["detail"]


def test_update_close_and_not_found(client):
    t = make(client, title="first", activity_types=["records_check"])
    r = client.patch(f"/api/tasks/{t['id']}", json={"title": "second", "minutes_spent": 40,
                                                     "activity_types": ["records_check", "social_media"],
                                                     "lon": -76.6, "lat": 39.3})
    assert r.status_code == 200
    u = r.json()
    assert (u["title"], u["minutes_spent"], u["activity_types"]) == ("second", 40, ["records_check", "social_media"])
    assert (u["lon"], u["lat"]) == (-76.6, 39.3) and u["analyst"] == t["analyst"]
    assert client.patch(f"/api/tasks/{t['id']}", json={}).status_code == 422
    assert client.post(f"/api/tasks/{t['id']}/close", json={"outcome": "nope"}).status_code == 422
    c = client.post(f"/api/tasks/{t['id']}/close", json={"outcome": "arrest", "minutes_spent": 55}).json()
    assert c["status"] == "closed" and c["outcome"] == "arrest" and c["minutes_spent"] == 55
    assert datetime.fromisoformat(c["closed_at"]) >= datetime.fromisoformat(c["created_at"])
    assert client.get("/api/tasks/999999999").status_code == 404
    assert client.patch("/api/tasks/999999999", json={"title": "x"}).status_code == 404
    assert client.post("/api/tasks/999999999/close", json={"outcome": "arrest"}).status_code == 404


def _random_tasks(client, crime: str, n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)
    out = []
    for i in range(n):
        created = now - timedelta(days=rnd.uniform(0, 70), minutes=rnd.randint(0, 600))
        body = {"analyst": rnd.choice(["K. Moore", "J. Reyes"]), "title": f"{crime} {i}", "crime_type": crime,
                "activity_types": rnd.sample(ACTS, rnd.randint(0, 3)), "minutes_spent": rnd.choice([0, 10, 25, 60, 95]),
                "created_at": created.isoformat()}
        if rnd.random() < 0.7:
            body["outcome"] = rnd.choice(OUTS)
            body["closed_at"] = min(created + timedelta(hours=rnd.uniform(0.5, 40)), now).isoformat()
        out.append(make(client, **body))
    return out


def test_list_filters_agree_with_python(client):
    crime = tag()
    tasks = _random_tasks(client, crime, 30, seed=1)
    def ids(**q):
        r = client.get("/api/tasks", params={"crime_type": crime, "limit": 1000, **q})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["tasks"])
        return [t["id"] for t in body["tasks"]]
    newest_first = [t["id"] for t in sorted(tasks, key=lambda t: (t["created_at"], t["id"]), reverse=True)]
    assert ids() == newest_first
    assert set(ids(status="open")) == {t["id"] for t in tasks if t["closed_at"] is None}
    assert set(ids(activity="lpr_search,social_media")) == {
        t["id"] for t in tasks if {"lpr_search", "social_media"} & set(t["activity_types"])}
    assert set(ids(outcome="arrest")) == {t["id"] for t in tasks if t["outcome"] == "arrest"}
    assert set(ids(analyst="K. Moore")) == {t["id"] for t in tasks if t["analyst"] == "K. Moore"}
    cut = datetime.now(timezone.utc) - timedelta(days=20)
    assert set(ids(start=cut.isoformat())) == {t["id"] for t in tasks if datetime.fromisoformat(t["created_at"]) >= cut}
    page = client.get("/api/tasks", params={"crime_type": crime, "limit": 7, "offset": 7}).json()
    assert [t["id"] for t in page["tasks"]] == newest_first[7:14] and page["total"] == 30
    assert client.get("/api/tasks", params={"start": "yesterday"}).status_code == 400
    assert client.get("/api/tasks", params={"start": "2026-02-01", "end": "2026-01-01"}).status_code == 400


def test_dashboard_agrees_with_python(client):
    crime = tag()
    tasks = _random_tasks(client, crime, 40, seed=2)
    tz = ZoneInfo("America/New_York")
    for interval in ("week", "month"):
        d = client.get("/api/dashboard", params={"crime_type": crime, "interval": interval}).json()
        closed = [t for t in tasks if t["closed_at"]]
        solved = [t for t in closed if t["outcome"] in SOLVED]
        tot = d["totals"]
        assert (tot["tasks"], tot["open"], tot["closed"], tot["solved"]) == (
            len(tasks), len(tasks) - len(closed), len(closed), len(solved))
        assert tot["minutes"] == sum(t["minutes_spent"] for t in tasks)
        assert tot["solve_rate"] == pytest.approx(len(solved) / len(closed), abs=1e-4)
        hours = [(datetime.fromisoformat(t["closed_at"]) - datetime.fromisoformat(t["created_at"])).total_seconds() / 3600
                 for t in closed]
        assert tot["avg_hours_to_close"] == pytest.approx(sum(hours) / len(hours), abs=0.01)

        acts = {a["code"]: a for a in d["by_activity"]}
        for code in ACTS:
            mine = [t for t in tasks if code in t["activity_types"]]
            assert acts[code]["tasks"] == len(mine)
            assert acts[code]["minutes"] == pytest.approx(
                sum(t["minutes_spent"] / len(t["activity_types"]) for t in mine), abs=0.1 * max(1, len(mine)))
        outs = {o["code"]: o["tasks"] for o in d["by_outcome"]}
        assert outs == {code: sum(t["outcome"] == code for t in tasks) for code in OUTS} | {
            k: 0 for k in outs if k not in OUTS}
        assert d["by_crime_type"] == [{"crime_type": crime, "tasks": len(tasks),
                                       "minutes": sum(t["minutes_spent"] for t in tasks), "solved": len(solved)}]

        def bucket(iso: str) -> str:
            local = datetime.fromisoformat(iso).astimezone(tz).date()
            start = local - timedelta(days=local.weekday()) if interval == "week" else local.replace(day=1)
            return start.isoformat()
        want = Counter(bucket(t["created_at"]) for t in tasks)
        got = {p["period"]: p["tasks"] for p in d["by_period"]}
        assert {k: v for k, v in got.items() if v} == dict(want)
        assert sum(p["minutes"] for p in d["by_period"]) == tot["minutes"]
        periods = [p["period"] for p in d["by_period"]]
        assert periods == sorted(periods) and len(set(periods)) == len(periods)  # continuous, empty ones included
    # Filters narrow the aggregates the same way they narrow the list.
    d = client.get("/api/dashboard", params={"crime_type": crime, "activity": "video_review"}).json()
    assert d["totals"]["tasks"] == sum("video_review" in t["activity_types"] for t in tasks)


def test_csv_export_round_trips(client):
    crime = tag()
    tasks = _random_tasks(client, crime, 8, seed=3)
    r = client.get("/api/tasks.csv", params={"crime_type": crime})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    by_id = {t["id"]: t for t in tasks}
    assert sorted(int(x["id"]) for x in rows) == sorted(by_id)
    for row in rows:
        t = by_id[int(row["id"])]
        assert row["activity_types"].split(";") == (t["activity_types"] or [""])
        assert int(row["minutes_spent"]) == t["minutes_spent"] and row["outcome"] == (t["outcome"] or "")
        assert row["crime_type"] == crime and row["status"] == t["status"]


def test_tasks_layer_in_catalog_and_view(client, conn):
    layer = get_layer("tasks")
    assert layer is not None and layer.time_column == "created_at"
    t = make(client, lon=-76.601, lat=39.301, activity_types=["bulletin"], title=tag())
    make(client, title="no location")
    n_view, n_table = conn.execute(f"SELECT (SELECT count(*) FROM {layer.source}), "
                                   "(SELECT count(*) FROM tasks WHERE geom IS NOT NULL)").fetchone()
    assert n_view == n_table
    row = conn.execute(f"SELECT activity_types, ST_X(geom), ST_Y(geom) FROM {layer.source} WHERE id = %s",
                       (t["id"],)).fetchone()
    assert row == ("bulletin", -76.601, 39.301)
    for p in layer.properties:  # every declared property is a column of the view
        conn.execute(f"SELECT {p.name} FROM {layer.source} LIMIT 0")


def test_meta_lists_codes(client, conn):
    m = client.get("/api/tasks/meta").json()
    assert [a["code"] for a in m["activity_types"]] == [
        r[0] for r in conn.execute("SELECT code FROM task_activity_types ORDER BY sort, code")]
    assert {o["code"] for o in m["outcomes"]} == set(OUTS)
    assert m["crime_types"]


def test_task_changes_are_announced_live(server_url):
    out, stop = live_subscribe(server_url + "/api/live?types=task")
    t = httpx.post(server_url + "/api/tasks", json={"analyst": "live"}).json()
    httpx.post(server_url + f"/api/tasks/{t['id']}/close", json={"outcome": "no_result"})
    seen = defaultdict(list)
    end = time.monotonic() + 10
    while time.monotonic() < end and len(seen[t["id"]]) < 2:
        try:
            ev, data = out.get(timeout=0.5)
        except queue.Empty:
            continue
        assert ev == "task"
        seen[data["id"]].append(data["action"])
    stop.set()
    assert seen[t["id"]] == ["created", "closed"]


def test_filters_postgresql_cannot_hold_are_400_not_500(client):
    for params in ({"analyst": "a\x00b"}, {"incident_id": "99999999999999999999"}, {"offset": str(2**63)}):
        for path in ("/api/tasks", "/api/tasks.csv", "/api/dashboard"):
            if path != "/api/tasks" and "offset" in params:     # only the list pages
                continue
            r = client.get(path, params=params)
            assert r.status_code == 400 and r.json()["detail"], (path, params, r.text)
