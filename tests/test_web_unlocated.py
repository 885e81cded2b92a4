"""The map's "Needs location" list in a real browser: an analyst places an event its feed could not
locate by clicking the map (POST /api/events/{id}/location), and it leaves the list for its layer."""
from __future__ import annotations

import pytest

from tests.conftest import SignedInBrowser, browser_login
from tests.test_ogc_trust import unlocated_incident
from tests.test_web import OUT, WAIT_MS, Page

LON, LAT = -76.6122, 39.2904  # downtown, inside the service area and a district


@pytest.fixture
def page_as(raw_browser, server_url):
    """page_as(role): a map page signed in as test-<role>."""
    pages = []

    def make(role: str) -> Page:
        p = Page(SignedInBrowser(raw_browser, browser_login(server_url, role)), server_url, 1280, 800)
        pages.append(p)
        return p
    yield make
    for p in pages:
        p.close()


def test_analyst_places_an_unlocated_event_from_the_map(page_as, client, conn):
    fid = unlocated_incident(client)
    eid = conn.execute("SELECT id FROM events WHERE feed_id = %s", (fid,)).fetchone()[0]
    page = page_as("analyst").open_map()
    p = page.page
    row = f"#unlocated-list li[data-id='{eid}']"
    p.wait_for_selector(row, timeout=WAIT_MS)
    assert "99999 NOWHERE" in p.inner_text(row)
    count = int(p.inner_text("#unlocated-count"))
    assert count == conn.execute("SELECT count(*) FROM unlocated_events").fetchone()[0]
    page.jump(LON, LAT, 16)
    p.click(f"{row} .place-pin")
    p.fill(f"{row} .ul-note", "caller said Pratt St")
    p.wait_for_function("document.body.dataset.placing !== undefined", timeout=WAIT_MS)
    page.click_lonlat(LON, LAT)
    p.wait_for_selector(row, state="detached", timeout=WAIT_MS)
    # Placed where the analyst clicked (a pixel at zoom 16 is ~2 m), by the analyst, with the note.
    got = conn.execute("SELECT loc_method, ST_Distance(geom::geography, ST_MakePoint(%s, %s)::geography), "
                       "attrs->'placed'->>'by', attrs->'placed'->>'note', district FROM events WHERE id = %s",
                       (LON, LAT, eid)).fetchone()
    assert got[0] == "placed" and got[1] < 10 and got[2:4] == ("test-analyst", "caller said Pratt St") and got[4]
    # The incident panel opens on it, and the list counts one fewer.
    p.wait_for_function("(id) => document.querySelector('#detail').dataset.target === id", arg=str(eid),
                        timeout=WAIT_MS)
    assert int(p.inner_text("#unlocated-count")) == count - 1
    OUT.mkdir(exist_ok=True)
    p.screenshot(path=str(OUT / "web-unlocated-placed.png"))
    assert page.errors == []


def test_escape_cancels_placing_and_a_viewer_sees_no_list(page_as, client, conn):
    fid = unlocated_incident(client)
    eid = conn.execute("SELECT id FROM events WHERE feed_id = %s", (fid,)).fetchone()[0]
    page = page_as("analyst").open_map()
    p = page.page
    row = f"#unlocated-list li[data-id='{eid}']"
    p.wait_for_selector(row, timeout=WAIT_MS)
    p.click(f"{row} .place-pin")
    p.keyboard.press("Escape")
    p.wait_for_function("document.body.dataset.placing === undefined", timeout=WAIT_MS)
    page.click_lonlat(LON, LAT)  # an ordinary click now: nothing is placed
    p.wait_for_timeout(1500)  # a placement would have answered by now
    assert conn.execute("SELECT loc_method FROM events WHERE id = %s", (eid,)).fetchone()[0] == "failed"
    viewer = page_as("viewer").open_map()
    assert viewer.page.is_hidden("#unlocated")
    assert page.errors == [] and viewer.errors == []
