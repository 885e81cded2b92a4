"""Investigations in the analyst's map, in headless Chromium: a plate typed in the search box
(reason and case number asked first, results and trajectory checked against the database and the
audit log), the correlation timeline one click from an incident's panel, the tip form (linked to a
case and a task), the case view's export links, and the replay slider (minute steps, fed by
/api/replay). Screenshots in test-output/."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import SignedInBrowser, browser_login
from tests.test_web import OUT, WAIT_MS, Page, ingest  # the signed-in `browser` fixture is in conftest

LON, LAT = -76.6090, 39.2990


@pytest.fixture
def page(browser, server_url):  # noqa: F811
    p = Page(browser, server_url, 1600, 1000)
    yield p
    p.close()


@pytest.fixture
def page_without_purpose(raw_browser, server_url):
    """Signed in as test-analyst, no ALPR purpose stated for the session yet."""
    p = Page(SignedInBrowser(raw_browser, browser_login(server_url, "analyst", purpose=False)), server_url, 1600, 1000)
    yield p
    p.close()


def iso(t: datetime) -> str:
    return t.isoformat()


def test_plate_search_from_the_search_box_and_its_trajectory(page_without_purpose, server_url, conn):
    page = page_without_purpose
    plate = ("W" + uuid.uuid4().hex.upper())[:7]
    t0 = datetime.now(timezone.utc) - timedelta(hours=3)
    cams = [("WEB-CAM-A", LON, LAT), ("WEB-CAM-B", LON + 0.01, LAT + 0.004), ("WEB-CAM-C", LON + 0.02, LAT + 0.01)]
    rows = [{"id": f"w-{uuid.uuid4().hex}", "plate": plate, "state": "MD", "camera_id": c, "lon": x, "lat": y,
             "observed_at": iso(t0 + timedelta(minutes=m))} for m, (c, x, y) in zip((0, 4, 70), cams)]
    rows.append({**rows[0], "id": f"w-{uuid.uuid4().hex}", "observed_at": iso(t0 + timedelta(seconds=50))})
    ingest(server_url, "alpr", rows)
    page.open_map()
    p = page.page
    p.fill("#search-input", plate.lower())
    p.press("#search-input", "Enter")
    p.wait_for_selector("#inv-need-reason", timeout=WAIT_MS)  # no purpose stated yet: nothing is fetched
    case = f"WEB-{uuid.uuid4().hex[:6]}"
    p.fill("#inv-reason", "stolen vehicle follow-up")
    p.press("#inv-reason", "Tab")
    p.fill("#search-input", plate)
    p.press("#search-input", "Enter")
    p.wait_for_selector("#inv-need-reason", timeout=WAIT_MS)  # a reason alone is not enough (security's rule)
    p.fill("#inv-case", case)
    p.press("#inv-case", "Tab")
    p.fill("#search-input", plate)
    p.press("#search-input", "Enter")
    p.wait_for_selector("#inv-reads li", timeout=WAIT_MS)
    shown = p.eval_on_selector_all("#inv-reads li", "els => els.map(e => Number(e.dataset.id))")
    in_db = [r[0] for r in conn.execute("SELECT id FROM events WHERE kind = 'alpr_read' AND plate = %s "
                                        "ORDER BY observed_at DESC, id DESC", (plate,))]
    assert shown == in_db and len(shown) == 4
    rows = conn.execute("SELECT who, reason, case_number FROM audit_log "
                        "WHERE action = 'alpr.search' AND detail->>'plate' = %s", (plate,)).fetchall()
    assert rows == [("test-analyst", "stolen vehicle follow-up", case)]
    p.click("#inv-reads li:first-child button:text('Path')")
    p.wait_for_selector("#inv-stops li", timeout=WAIT_MS)
    stops = p.eval_on_selector_all("#inv-stops li", "els => els.map(e => e.dataset.camera)")
    assert stops == ["WEB-CAM-A", "WEB-CAM-B", "WEB-CAM-C"]
    assert p.eval_on_selector_all("#inv-stops .inv-leg[data-gap=true]", "els => els.length") == 1
    coords = p.evaluate("window.rtcc.inv.drawn.find(f => f.geometry.type === 'LineString')"
                        ".geometry.coordinates.length")
    assert coords == 4
    page.idle()
    OUT.mkdir(exist_ok=True)
    p.screenshot(path=str(OUT / "web-investigate-trajectory.png"))
    assert page.errors == []


def test_correlation_timeline_one_click_from_the_incident_panel(page, server_url, conn):
    t0 = datetime.now(timezone.utc) - timedelta(minutes=20)
    fid = f"wc-{uuid.uuid4().hex}"
    ingest(server_url, "cad", [{"id": fid, "observed_at": iso(t0), "lon": LON - 0.01, "lat": LAT, "type": "SHOOTING",
                                "priority": 1}])
    ingest(server_url, "gunshot", [{"id": f"wg-{uuid.uuid4().hex}", "observed_at": iso(t0 - timedelta(minutes=1)),
                                    "lon": LON - 0.0095, "lat": LAT, "rounds": 6}])
    ingest(server_url, "tip", [{"id": f"wt-{uuid.uuid4().hex}", "observed_at": iso(t0 + timedelta(minutes=5)),
                                "lon": LON - 0.0102, "lat": LAT + 0.0005, "text": "two people ran north", "source": "phone"}])
    eid = conn.execute("SELECT id FROM event_keys WHERE feed = 'cad' AND feed_id = %s", (fid,)).fetchone()[0]
    page.open_map()
    p = page.page
    p.evaluate("t => window.rtcc.select(t, {fly: true})", {"id": eid, "kind": "cad_incident", "event_type": "SHOOTING",
                                                          "lon": LON - 0.01, "lat": LAT, "observed_at": iso(t0)})
    p.click("#detail button[data-action=correlate]")
    p.wait_for_selector("#inv-timeline li", timeout=WAIT_MS)
    kinds = p.eval_on_selector_all("#inv-timeline li", "els => els.map(e => e.dataset.kind)")
    assert "gunshot" in kinds and "tip" in kinds
    assert kinds.index("gunshot") < kinds.index("tip")   # time order
    assert p.eval_on_selector_all(".inv-strip circle", "els => els.length") == len(kinds)
    page.idle()
    p.screenshot(path=str(OUT / "web-investigate-correlate.png"))
    assert page.errors == []


def test_tip_form_and_case_exports(page, server_url, conn):
    page.open_map()
    p = page.page
    case = f"WT-{uuid.uuid4().hex[:6]}"
    task = httpx.post(server_url + "/api/tasks", json={"analyst": "A. Tester", "title": "follow the tips"}, timeout=30)
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    p.evaluate("t => window.rtcc.select(t)", {"lon": LON, "lat": LAT, "title": "Point on map"})
    p.click("#detail button[data-action=tip-here]")
    p.wait_for_selector("#inv-tip-form", timeout=WAIT_MS)
    p.select_option("#inv-tip-form select[name=source]", "social")
    p.fill("#inv-tip-form textarea[name=text]", "post shows the car at the gas station")
    p.fill("#inv-tip-form input[name=links]", "https://social.example/post/9")
    p.fill("#inv-tip-form input[name=case_number]", case)
    p.fill("#inv-tip-form input[name=task_id]", str(task_id))
    p.click("#inv-tip-submit")
    p.wait_for_selector("#inv-tip-saved", timeout=WAIT_MS)
    fid = p.evaluate("document.body.dataset.lastTip")
    row = conn.execute("SELECT ST_X(geom), ST_Y(geom), attrs->>'source', attrs->>'case_number', id FROM events "
                       "WHERE feed = 'tip' AND feed_id = %s", (fid,)).fetchone()
    assert row[0] == pytest.approx(LON, abs=1e-6) and row[1] == pytest.approx(LAT, abs=1e-6)
    assert row[2:4] == ("social", case)
    tip_id = row[4]
    # linked to the task as its incidents are, and a new task can start from it
    p.wait_for_selector("#inv-tip-task", timeout=WAIT_MS)
    assert p.text_content("#inv-tip-task") == f"Linked to task {task_id}."
    assert conn.execute("SELECT incident_ids FROM tasks WHERE id = %s", (task_id,)).fetchone()[0] == [tip_id]
    p.click("#inv-tip-new-task")
    p.wait_for_selector("#task-dialog[open]", timeout=WAIT_MS)
    assert p.input_value("#task-dialog [name=incident_ids]") == str(tip_id)
    p.press("#task-dialog [name=title]", "Escape")
    p.click(f"button:text('Open case {case}')")
    p.wait_for_selector("#inv-exports a[data-format=pdf]", timeout=WAIT_MS)
    assert p.eval_on_selector_all("#inv-case-events li", "els => els.length") == 1
    href = p.get_attribute("#inv-exports a[data-format=gpkg]", "href")
    r = httpx.get(server_url + href, timeout=60)
    assert r.status_code == 200 and r.content[:16] == b"SQLite format 3\x00"
    p.screenshot(path=str(OUT / "web-investigate-case.png"))
    assert page.errors == []


def test_replay_slider_steps_a_minute_over_the_chosen_window(page, server_url, conn):
    # an incident 30 minutes ago: the 1 h replay fetches it once from /api/replay and shows it while
    # the slider's minute is within 10 minutes after it
    fid = f"wr-{uuid.uuid4().hex}"
    ingest(server_url, "cad", [{"id": fid, "observed_at": iso(datetime.now(timezone.utc) - timedelta(minutes=30)),
                                "lon": LON + 0.01, "lat": LAT, "type": "BURGLARY", "priority": 3}])
    page.open_map()
    p = page.page
    asked = []
    p.on("request", lambda r: "/api/replay" in r.url and asked.append(r.url))
    p.click("button[data-win='24h']")
    assert p.get_attribute("#replay", "max") == "1440"
    p.fill("#replay", "600")
    p.wait_for_function("document.body.dataset.live === 'false' && "
                        "!decodeURIComponent(window.rtccMap.getSource('cat:cad_incidents').tiles[0]).includes('/..')")
    url = p.evaluate("window.rtccMap.getSource('cat:cad_incidents').tiles[0]")
    lo, hi = (datetime.fromisoformat(t.replace("Z", "+00:00"))
              for t in parse_qs(urlsplit(url).query)["datetime"][0].split("/"))
    assert hi - lo == timedelta(minutes=600)
    assert timedelta(hours=23, minutes=59) <= datetime.now(timezone.utc) - lo <= timedelta(hours=24, minutes=2)
    p.click("button[data-win='1h']")
    assert p.get_attribute("#replay", "max") == "60"
    eid = conn.execute("SELECT id FROM event_keys WHERE feed = 'cad' AND feed_id = %s", (fid,)).fetchone()[0]
    p.fill("#replay", "35")  # the window's 35th minute: 25 minutes ago
    p.wait_for_function("id => (window.rtcc.replay.shown || []).includes(id)", arg=eid, timeout=WAIT_MS)
    assert "events so far" in p.text_content("#replay-count")
    p.fill("#replay", "20")  # 40 minutes ago: before it happened
    p.wait_for_function("id => !(window.rtcc.replay.shown || []).includes(id)", arg=eid, timeout=WAIT_MS)
    p.fill("#replay", "45")  # 15 minutes ago: past the 10-minute trail
    p.wait_for_function("id => !(window.rtcc.replay.shown || []).includes(id)", arg=eid, timeout=WAIT_MS)
    windows = [tuple(datetime.fromisoformat(parse_qs(urlsplit(u).query)[k][0].replace("Z", "+00:00"))
                     for k in ("from", "to")) for u in asked]
    hour = [w for w in windows if w[1] - w[0] == timedelta(hours=1)]
    assert len(hour) == 1  # the hour was fetched once (one page); the slider's steps asked nothing
    p.click("#live-btn")
    p.wait_for_function("document.body.dataset.live === 'true' && window.rtcc.replay.shown.length === 0", timeout=WAIT_MS)
    assert page.errors == []
