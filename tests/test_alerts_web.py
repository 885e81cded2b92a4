"""The alert inbox of the analyst map, geofence drawing (terra-draw) and the officer's /field page
(390×844) in headless Chromium. Screenshots go to test-output/ (look at them)."""
from __future__ import annotations

import time
import uuid

import httpx

from tests.test_alerts import plate, read
from tests.test_web import OUT, WAIT_MS, Page  # the signed-in `browser` fixture is in conftest

DOWNTOWN = (-76.6122, 39.2904)


def hot_read(server_url: str, reason: str = "stolen vehicle", **kw) -> str:
    p = plate()
    httpx.post(f"{server_url}/api/hotlists/web-test?mode=append", json=[{"plate": p, "reason": reason}])
    r = httpx.post(f"{server_url}/api/ingest/alpr", json=[read(p, lon=DOWNTOWN[0], lat=DOWNTOWN[1], **kw)])
    assert r.json()["accepted"] == 1
    return p


def alert_id(conn, p: str) -> int:
    row = conn.execute("SELECT id FROM alerts WHERE event->>'plate' = %s AND rule_name = 'Hotlist hit'", (p,)).fetchone()
    assert row, f"no alert for {p}"
    return row[0]


def test_inbox_shows_live_alert_opens_it_and_acknowledges(browser, server_url, conn):
    page = Page(browser, server_url, 1600, 1000).open_map()
    try:
        page.live_connected()
        p = hot_read(server_url)
        aid = alert_id(conn, p)
        item = page.page.locator(f"#alert-list li[data-id='{aid}']")
        item.wait_for(timeout=WAIT_MS)
        assert item.get_attribute("data-priority") == "1"
        color = page.page.evaluate(f"getComputedStyle(document.querySelector(\"#alert-list li[data-id='{aid}'] .alert-prio\")).backgroundColor")
        assert color == "rgb(224, 49, 49)"  # P1 red
        item.locator("button.alert-main").click()
        page.page.wait_for_function("!document.querySelector('#detail').hidden", timeout=WAIT_MS)
        page.page.wait_for_function("document.querySelector('#detail').dataset.state !== undefined "
                                    "|| document.querySelectorAll('#detail li').length > 0", timeout=WAIT_MS)
        center = page.page.evaluate("window.rtccMap.getCenter().toArray()")
        page.idle()
        center = page.page.evaluate("window.rtccMap.getCenter().toArray()")
        assert abs(center[0] - DOWNTOWN[0]) < 0.01 and abs(center[1] - DOWNTOWN[1]) < 0.01
        page.page.screenshot(path=str(OUT / "web-alert-inbox.png"))
        item.locator("button[data-action=ack]").click()
        page.page.wait_for_function(f"document.querySelector(\"#alert-list li[data-id='{aid}']\")?.dataset.status "
                                    "=== 'acknowledged'", timeout=WAIT_MS)
        assert conn.execute("SELECT status FROM alerts WHERE id = %s", (aid,)).fetchone()[0] == "acknowledged"
        assert not page.errors, page.errors
    finally:
        page.close()


def test_deep_link_opens_the_alert(browser, server_url, conn):
    p = hot_read(server_url, "wanted person")
    aid = alert_id(conn, p)
    page = Page(browser, server_url, 1280, 800).open_map(f"#alert={aid}")
    try:
        page.page.wait_for_function("!document.querySelector('#detail').hidden", timeout=WAIT_MS)
        page.idle()
        center = page.page.evaluate("window.rtccMap.getCenter().toArray()")
        assert abs(center[0] - DOWNTOWN[0]) < 0.01 and abs(center[1] - DOWNTOWN[1]) < 0.01
        assert not page.errors, page.errors
    finally:
        page.close()


def test_draw_a_geofence_with_terra_draw(browser, server_url, conn):
    page = Page(browser, server_url, 1280, 800).open_map()
    name = f"drawn-{uuid.uuid4().hex[:6]}"
    try:
        page.jump(-76.615, 39.29, 15)
        answers = iter([name, "22:00-06:00"])
        page.page.on("dialog", lambda d: d.accept(next(answers, "")))
        page.page.click("#draw-geofence")
        page.page.wait_for_function("document.querySelector('#draw-geofence').getAttribute('aria-pressed') === 'true'",
                                    timeout=WAIT_MS)
        box = page.page.locator("#map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        corners = [(-120, -80), (120, -80), (120, 80), (-120, 80), (-120, -80)]
        for dx, dy in corners:
            page.page.mouse.move(cx + dx, cy + dy)
            page.page.mouse.click(cx + dx, cy + dy)
            time.sleep(0.25)
        row = None
        for _ in range(100):
            row = conn.execute("SELECT active_from::text, active_to::text, ST_NPoints(geom), ST_Area(geom::geography) "
                               "FROM geofences WHERE name = %s", (name,)).fetchone()
            if row:
                break
            time.sleep(0.1)
        assert row, "the drawn polygon was not saved"
        assert row[0] == "22:00:00" and row[1] == "06:00:00" and row[2] == 5 and row[3] > 10_000
        page.idle()
        page.page.screenshot(path=str(OUT / "web-geofence-drawn.png"))
        assert not page.errors, page.errors
    finally:
        conn.execute("DELETE FROM geofences WHERE name = %s", (name,))
        page.close()


def test_field_page_on_a_phone(browser, server_url, conn):
    p1 = hot_read(server_url)
    a1 = alert_id(conn, p1)
    page = Page(browser, server_url, 390, 844)
    try:
        page.page.goto(server_url + "/field")
        page.page.wait_for_function("document.body.dataset.ready === 'true'", timeout=WAIT_MS)
        card = page.page.locator(f"li.card[data-id='{a1}']")
        card.wait_for(timeout=WAIT_MS)
        assert "Acknowledge" in card.locator("button.ack").inner_text()
        assert card.locator("a", has_text="Route").count() == 1
        page.page.wait_for_function("document.querySelector('#conn').dataset.state === 'on'", timeout=WAIT_MS)
        time.sleep(0.3)
        p2 = hot_read(server_url, "AMBER alert")
        a2 = alert_id(conn, p2)
        first = page.page.locator("li.card").first
        page.page.wait_for_function(f"document.querySelector('li.card')?.dataset.id === '{a2}'", timeout=WAIT_MS)
        assert first.get_attribute("data-selected") == "true"
        width = page.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        page.page.wait_for_timeout(1500)
        page.page.screenshot(path=str(OUT / "field-phone.png"))
        first.locator("button.ack").click()  # one tap
        page.page.wait_for_function(f"document.querySelector(\"li.card[data-id='{a2}']\").dataset.status === 'acknowledged'",
                                    timeout=WAIT_MS)
        assert conn.execute("SELECT status FROM alerts WHERE id = %s", (a2,)).fetchone()[0] == "acknowledged"
        assert not page.errors, page.errors
    finally:
        page.close()


def test_manual_bolo_entry(browser, server_url, conn):
    page = Page(browser, server_url, 1280, 800).open_map()
    p = plate()
    try:
        page.page.click("#bolo-open")
        page.page.fill("#bolo-dialog input[name=plate]", "bad plate!")
        page.page.click("#bolo-dialog button[type=submit]")
        page.page.wait_for_function("document.querySelector('#bolo-error').textContent.includes('letters and digits')",
                                    timeout=WAIT_MS)
        page.page.fill("#bolo-dialog input[name=plate]", p.lower())
        page.page.fill("#bolo-dialog input[name=state]", "md")
        page.page.select_option("#bolo-dialog select[name=reason]", "wanted person")
        page.page.click("#bolo-dialog button[type=submit]")
        page.page.wait_for_function("!document.querySelector('#bolo-dialog').open", timeout=WAIT_MS)
        row = conn.execute("SELECT state, reason, source FROM hotlists WHERE list = 'bolo' AND plate = %s", (p,)).fetchone()
        assert row == ("MD", "wanted person", "manual")
        assert not page.errors, page.errors
    finally:
        page.close()
