"""The analyst's map, round two, in a real browser: incidents queue instead of taking the panel,
the feed reads like a dispatcher's screen, cameras and units open as cards, and the selection
lives in the URL. Fixtures and helpers are test_web's (one browser per module)."""
from __future__ import annotations

import pytest

import uuid

from tests.test_web import OUT, WAIT_MS, Page, big_page, ingest, now_iso, page  # noqa: F401 (fixtures)


def _eid(conn, feed: str, fid: str) -> int:
    return conn.execute("SELECT id FROM event_keys WHERE feed = %s AND feed_id = %s", (feed, fid)).fetchone()[0]


def test_new_incidents_queue_with_badge_banner_keys_and_filters(big_page, server_url, conn):
    page = big_page
    page.open_map()
    page.live_connected()
    p = page.page
    tag = uuid.uuid4().hex[:6]
    # A gunshot with no address (the feed names the nearest one), a P4 call, a P3 incident.
    ingest(server_url, "gunshot", [{"id": f"gs-{tag}", "observed_at": now_iso(), "lon": -76.6090, "lat": 39.2890,
                                    "rounds": 3, "confidence": 87}])
    ingest(server_url, "call", [{"id": f"call-{tag}", "observed_at": now_iso(), "type": "NOISE", "lon": -76.6150,
                                 "lat": 39.2990, "address": "1 QUIET ST"}])
    ingest(server_url, "cad", [{"id": f"cad-{tag}", "observed_at": now_iso(), "type": "BURGLARY", "priority": 3,
                                "lon": -76.6000, "lat": 39.3000, "address": "2 LOUD ST"}])
    gs, call, cad = _eid(conn, "gunshot", f"gs-{tag}"), _eid(conn, "call", f"call-{tag}"), _eid(conn, "cad", f"cad-{tag}")
    for eid in (gs, call, cad):
        p.wait_for_selector(f"#feed-list li[data-id='{eid}'].unseen", timeout=WAIT_MS)
    # Nothing took the panel; the badge counts what was not opened; the gunshot raised the banner.
    assert p.get_attribute("#detail", "hidden") is not None
    assert int(p.inner_text("#feed-new").split()[0]) >= 3
    p.wait_for_function(f"document.querySelector('#attention').dataset.id === '{gs}'", timeout=WAIT_MS)
    gs_row = f"#feed-list li[data-id='{gs}']"
    assert "3 rounds, 87% confidence" in p.inner_text(gs_row)
    from geo.geocode import reverse
    near = reverse(conn, -76.6090, 39.2890)
    p.wait_for_function("([sel, a]) => document.querySelector(sel + ' .fi-where').textContent === 'near ' + a",
                        arg=[gs_row, near.normalized], timeout=WAIT_MS)
    assert p.get_attribute(f"#feed-list li[data-id='{cad}']", "data-p") == "3"
    # The counter is what the feed holds, not what arrived since the page loaded.
    rows = p.eval_on_selector_all("#feed-list li.feed-item:not([hidden])", "els => els.length")
    assert int(p.inner_text("#feed-count")) == rows
    # Priority filter: P1-P2 hides the P3 incident and the call (no priority); the layer panel hides calls.
    p.select_option("#feed-prio", "2")
    assert p.is_hidden(f"#feed-list li[data-id='{cad}']") and p.is_hidden(f"#feed-list li[data-id='{call}']")
    p.select_option("#feed-prio", "0")
    assert p.is_visible(f"#feed-list li[data-id='{call}']")
    p.uncheck("#lyr-calls")
    assert p.is_hidden(f"#feed-list li[data-id='{call}']")
    p.check("#lyr-calls")
    # Keys: Esc dismisses the banner, n opens the newest row (and it is seen), ? lists the shortcuts.
    p.keyboard.press("Escape")
    assert p.is_hidden("#attention")
    p.locator("#map canvas").click(position={"x": 5, "y": 5})
    first = p.eval_on_selector("#feed-list li.feed-item:not([hidden])", "e => e.dataset.id")
    p.keyboard.press("n")
    p.wait_for_function("(id) => document.querySelector('#detail').dataset.target === id", arg=first, timeout=WAIT_MS)
    assert "unseen" not in (p.get_attribute(f"#feed-list li[data-id='{first}']", "class") or "")
    p.keyboard.press("?")
    p.wait_for_selector("dialog#shortcuts[open]")
    assert "next incident" in p.inner_text("dialog#shortcuts")
    OUT.mkdir(exist_ok=True)
    p.screenshot(path=str(OUT / "web-map-attention.png"))
    p.keyboard.press("Escape")
    assert page.errors == []


def test_camera_card_links_only_safe_urls_and_is_in_the_url(page, server_url, conn):
    tag = uuid.uuid4().hex[:6]
    ok_id, bad_id = f"CAMOK{tag}", f"CAMBAD{tag}"
    ingest(server_url, "camera", [{"id": ok_id, "name": f"Test cam {tag}", "lon": -76.6100, "lat": 39.2900,
                                   "heading_deg": 90, "fov_deg": 60, "range_m": 80, "owner": "partner",
                                   "stream_url": f"{server_url}/static/img/favicon.svg"}])
    # Written past ingest's checks on purpose: the client must never link a javascript: URL either.
    conn.execute("INSERT INTO cameras (id, name, owner, stream_url, contact, geom) VALUES (%s, 'bad', 'private', "
                 "'javascript:alert(1)', '+1 410 555 0100', ST_SetSRID(ST_MakePoint(-76.611, 39.291), 4326))", (bad_id,))
    page.open_map(f"#camera={ok_id}")
    p = page.page
    p.wait_for_function(f"document.querySelector('#detail').dataset.target === 'camera:{ok_id}' && "
                        "document.querySelector('#detail').dataset.state === 'ready'", timeout=WAIT_MS)
    assert p.get_attribute("#cam-stream", "href") == f"{server_url}/static/img/favicon.svg"
    assert "Partner camera" in p.inner_text("#detail .dh-sub")
    roles = p.evaluate("(window.rtccMap.getSource('prox').serialize().data.features || []).map(f => f.properties.role)")
    assert "cone" in roles
    # The unsafe camera: no javascript: href anywhere; the phone contact is a tel: link instead.
    p.evaluate(f"window.rtcc.urlstate.select('camera', '{bad_id}')")
    p.reload()
    p.wait_for_function(f"document.querySelector('#detail').dataset.target === 'camera:{bad_id}' && "
                        "document.querySelector('#detail').dataset.state === 'ready'", timeout=WAIT_MS)
    hrefs = p.eval_on_selector_all("#detail a", "els => els.map(e => e.getAttribute('href'))")
    assert not any(h.lower().startswith("javascript") for h in hrefs) and "tel:+14105550100" in hrefs
    assert page.errors == []


def test_incident_link_reopens_it_and_hiding_the_feed_clears_it(browser, server_url, conn):
    fid = f"url-{uuid.uuid4().hex[:8]}"
    ingest(server_url, "cad", [{"id": fid, "observed_at": now_iso(), "type": "ASSAULT", "priority": 2,
                                "lon": -76.6170, "lat": 39.2960, "address": "3 LINK ST"}])
    eid = _eid(conn, "cad", fid)
    pg = Page(browser, server_url, 1024, 768)
    try:
        pg.open_map(f"#incident={eid}")
        p = pg.page
        p.wait_for_function(f"document.querySelector('#detail').dataset.target === '{eid}' && "
                            "document.querySelector('#detail').dataset.state === 'ready'", timeout=WAIT_MS)
        assert "3 LINK ST" in p.inner_text("#detail .dh-sub")
        # Recent nearby never lists the incident itself.
        assert p.locator(f"#prox-recent li[data-id='{eid}']").count() == 0
        # Tablet: hiding the feed hides the panel and takes its cones and routes off the map.
        p.click("[data-toggle=hide-feed]")
        p.wait_for_function("document.querySelector('#detail').hidden")
        assert p.evaluate("window.rtccMap.querySourceFeatures('prox').length") == 0
        assert "incident=" not in p.evaluate("location.hash")
        assert p.evaluate("import('/static/js/util.js').then(m => m.fmtEta(839.6))") == "14 min 00 s"
        assert pg.errors == []
    finally:
        pg.close()


def test_units_are_coloured_by_status_with_a_legend_and_a_card(page, server_url, conn):
    unit, cad = f"U{uuid.uuid4().hex[:5].upper()}", f"CAD-{uuid.uuid4().hex[:6]}"
    ingest(server_url, "cad", [{"id": cad, "observed_at": now_iso(), "type": "BURGLARY", "priority": 2,
                                "lon": -76.6060, "lat": 39.2955}])
    # Dispatched: the feed names the incident with the status; a later position report without one
    # keeps the assignment while the unit is busy.
    ingest(server_url, "avl", [{"unit_id": unit, "callsign": unit, "status": "enroute", "observed_at": now_iso(),
                                "lon": -76.6050, "lat": 39.2950, "heading": 0, "speed": 30, "incident": cad}])
    ingest(server_url, "avl", [{"unit_id": unit, "callsign": unit, "status": "enroute", "observed_at": now_iso(),
                                "lon": -76.6051, "lat": 39.2951, "heading": 0, "speed": 30}])
    page.open_map(f"#unit={unit}")
    p = page.page
    p.wait_for_function(f"document.querySelector('#detail').dataset.target === 'unit:{unit}' && "
                        "document.querySelector('#detail').dataset.state === 'ready'", timeout=WAIT_MS)
    assert "en route" in p.inner_text("#detail .unit-status")
    assert p.inner_text("#unit-incident") == f"CAD {cad} ↗"
    event_id = conn.execute("SELECT id FROM event_keys WHERE feed = 'cad' AND feed_id = %s", (cad,)).fetchone()[0]
    p.click("#unit-incident")  # the card's assigned incident opens as any incident does
    p.wait_for_function(f"document.querySelector('#detail').dataset.target === '{event_id}'", timeout=WAIT_MS)
    # Available again: the assignment ends.
    ingest(server_url, "avl", [{"unit_id": unit, "callsign": unit, "status": "available", "observed_at": now_iso(),
                                "lon": -76.6051, "lat": 39.2951}])
    assert conn.execute("SELECT incident_id FROM units WHERE id = %s", (unit,)).fetchone()[0] is None
    legend = p.eval_on_selector_all("li.layer[data-layer='units'] .legend-cats li", "els => els.map(e => e.dataset.value)")
    assert legend == ["available", "enroute", "onscene", "busy", "offduty"]
    prio = p.eval_on_selector_all("li.layer[data-layer='cad_incidents'] .legend-cats li", "els => els.map(e => e.textContent)")
    assert prio == ["P1", "P2", "P3", "P4"]
    icon = p.evaluate("JSON.stringify(window.rtccMap.getLayoutProperty('cat:units', 'icon-image'))")
    assert "marker:units:" in icon and p.evaluate("window.rtccMap.hasImage('marker:units:enroute')")
    assert page.errors == []


def test_basemap_names_streets_and_places_offline_with_water_parks_and_themes(big_page, server_url, client):
    # Glyphs come from the server itself (built at setup from Debian's DejaVu fonts): no CDN.
    r = client.get("/glyphs/DejaVu Sans,Arial Unicode MS Regular/0-255.pbf")
    assert r.status_code == 200 and len(r.content) > 10_000
    assert client.get("/glyphs/DejaVu Sans/1-256.pbf").status_code == 404
    page = big_page
    page.open_map()
    p = page.page
    assert p.evaluate("window.rtccMap.getStyle().glyphs").startswith(server_url + "/glyphs/")
    page.jump(-76.6150, 39.2960, 16)  # Mount Vernon: street names along the streets
    names = p.evaluate("[...new Set(window.rtccMap.queryRenderedFeatures({layers: ['cat:streets:label']})"
                       ".map(f => f.properties.fullname))]")
    assert any("CHARLES" in n for n in names), names
    page.jump(-76.6080, 39.2830, 13.5)  # the Inner Harbor: water filled, neighbourhood names
    assert p.evaluate("window.rtccMap.queryRenderedFeatures({layers: ['cat:water']}).length") > 0
    assert p.evaluate("window.rtccMap.queryRenderedFeatures({layers: ['cat:neighborhoods:label']}).length") > 0
    OUT.mkdir(exist_ok=True)
    p.screenshot(path=str(OUT / "web-map-basemap-dark.png"))
    page.jump(-76.6300, 39.3220, 14)  # Druid Hill Park
    assert p.evaluate("window.rtccMap.queryRenderedFeatures({layers: ['cat:parks']}).length") > 0
    # The light theme switches the basemap and the panels; the wall mode hides the panels.
    p.click("#theme-btn")
    assert p.evaluate("window.rtccMap.getPaintProperty('background', 'background-color')") == "#f1f3f5"
    assert "light" in p.get_attribute("body", "class")
    page.jump(-76.6150, 39.2960, 16)
    p.screenshot(path=str(OUT / "web-map-basemap-light.png"))
    p.click("#wall-btn")
    assert p.is_hidden("#side") and p.is_hidden("#layers-panel")
    p.keyboard.press("Escape")
    assert p.is_visible("#side")
    p.click("#theme-btn")
    assert page.errors == []


def test_demo_cameras_open_a_stream_the_server_serves(page, conn, client):
    cam = conn.execute("SELECT id FROM cameras WHERE stream_url LIKE '/static/demo/camera.html?id=%' "
                       "ORDER BY id LIMIT 1").fetchone()
    assert cam, "the demo gives a handful of cameras a sample stream page"
    page.open_map(f"#camera={cam[0]}")
    p = page.page
    p.wait_for_function(f"document.querySelector('#detail').dataset.target === 'camera:{cam[0]}' && "
                        "document.querySelector('#detail').dataset.state === 'ready'", timeout=WAIT_MS)
    href = p.get_attribute("#cam-stream", "href")
    assert href == f"{page.base}/static/demo/camera.html?id={cam[0]}"
    assert p.get_attribute("#cam-snapshot", "href") == f"{page.base}/static/demo/sample-frame.svg?camera={cam[0]}"
    assert client.get(f"/static/demo/camera.html?id={cam[0]}").status_code == 200
    assert client.get("/static/demo/sample-frame.svg").status_code == 200
    assert page.errors == []


def test_measure_and_export_tools_and_heat_scale(big_page):
    page = big_page
    page.open_map()
    p = page.page
    p.wait_for_function("document.body.dataset.tools === 'ready'", timeout=WAIT_MS)
    # The heat layer's colour scale: the ramp's stops as event counts per cell.
    ticks = p.eval_on_selector_all("li.layer[data-layer='event_hexbins'] .scale-ticks span", "els => els.map(e => e.textContent)")
    assert ticks == ["0", "3", "19", "147"]
    # Measure: the plugin's line tool draws and labels a length.
    assert p.locator(".maplibregl-ctrl button[title='Measure length']").count() == 1
    # Export: the plugin renders the current view to a PNG file with the title, window and legend.
    info = p.evaluate("window.rtccMap.getSource('print-info').attribution")
    assert info.startswith("RTCC map · ") and "time window: last" in info and "CAD incidents (P1, P2, P3, P4)" in info
    p.click(".maplibregl-export-control")
    with p.expect_download(timeout=120_000) as dl:
        p.click(".generate-button")
    path = dl.value.path()
    assert dl.value.suggested_filename.endswith(".png") and open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert page.errors == []


def test_dashboard_time_to_close_in_minutes_and_series_colours(browser, server_url):
    """A task closed after 4 minutes averages '4 min' (it read '0.0 h'); the crime chart's 'Tasks' bars
    are one colour, never the 'Solved' green."""
    import httpx
    from datetime import datetime, timedelta, timezone
    crime = f"TTC TEST {uuid.uuid4().hex[:6].upper()}"
    created = datetime.now(timezone.utc) - timedelta(minutes=4)
    r = httpx.post(server_url + "/api/tasks", json={
        "analyst": "Web Tester", "title": "quick one", "crime_type": crime, "activity_types": ["video_review"],
        "created_at": created.isoformat(), "outcome": "arrest", "closed_at": (created + timedelta(minutes=4)).isoformat()})
    assert r.status_code == 201, r.text
    d = Page(browser, server_url)
    try:
        d.page.goto(f"{server_url}/dashboard?period=all&crime_type={crime.replace(' ', '+')}")
        d.page.wait_for_function("+document.body.dataset.loads >= 1", timeout=WAIT_MS)
        d.page.wait_for_function("document.querySelector('#k-tasks').textContent === '1'", timeout=WAIT_MS)
        assert d.page.inner_text("#k-ttc") == "4 min"
        colours = d.page.evaluate("Chart.getChart(document.querySelector('#c-crime')).data.datasets"
                                  ".map(s => [s.label, s.backgroundColor])")
        tasks = dict(colours)["Tasks"]
        assert isinstance(tasks, str) and tasks.lower() not in ("#2f9e44", "#51cf66", "#2f9e4499")
        assert d.errors == []
    finally:
        d.close()
