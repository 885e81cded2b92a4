"""Events the feeds could not locate: the non-spatial OGC collection unlocated_events, and the
analyst's pin (POST /api/events/{id}/location) that moves an event from there to its map layer."""
from __future__ import annotations

from tests.test_ogc_trust import unlocated_incident

LON, LAT = -76.6122, 39.2904


def event_id(conn, fid: str) -> int:
    return conn.execute("SELECT id FROM events WHERE feed_id = %s", (fid,)).fetchone()[0]


def test_unlocated_events_is_a_collection_of_records(client, conn):
    fid = unlocated_incident(client)
    page = client.get("/ogc/collections/unlocated_events/items",
                      params={"f": "json", "limit": 10000}).json()
    mine = [f for f in page["features"] if f["properties"]["feed_id"] == fid]
    assert len(mine) == 1 and mine[0]["geometry"] is None and mine[0]["properties"]["kind"] == "cad_incident"
    assert page["numberMatched"] == conn.execute("SELECT count(*) FROM unlocated_events").fetchone()[0]
    assert all(f["geometry"] is None for f in page["features"])
    r = client.get("/ogc/collections/unlocated_events/items", params={"f": "json", "bbox": "-77,39,-76,40"})
    assert r.status_code == 400
    assert client.get("/tiles/unlocated_events/14/4686/6265.mvt").status_code == 404
    assert "unlocated_events" not in [layer["id"] for layer in client.get("/api/layers").json()["layers"]]


def test_placing_the_pin_moves_the_event_to_its_map_layer(client, client_as, conn):
    fid = unlocated_incident(client)
    eid = event_id(conn, fid)
    r = client_as("analyst").post(f"/api/events/{eid}/location",
                                  json={"lon": LON, "lat": LAT, "note": "caller said Pratt St"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["loc_method"] == "placed" and (got["lon"], got["lat"]) == (LON, LAT) and got["district"]
    row = conn.execute("SELECT h3_r9, district, attrs->'placed'->>'by', attrs->'placed'->>'note' FROM events "
                       "WHERE id = %s", (eid,)).fetchone()
    assert row[0] is not None and row[1] == got["district"]
    assert row[2:] == ("test-analyst", "caller said Pratt St")  # the signed-in analyst, never a header
    feat = client.get(f"/ogc/collections/cad_incidents/items/{eid}", params={"f": "json"}).json()
    assert feat["geometry"]["coordinates"] == [LON, LAT]
    unlocated = client.get("/ogc/collections/unlocated_events/items", params={"f": "json", "limit": 10000}).json()
    assert fid not in [f["properties"]["feed_id"] for f in unlocated["features"]]
    audit = conn.execute("SELECT who, detail->>'previous' FROM audit_log WHERE action = 'events.locate' "
                         "AND resource = %s", (f"events/{eid}",)).fetchall()
    assert audit == [("test-analyst", "failed")]


def test_placing_needs_events_locate(client, client_as, conn):
    eid = event_id(conn, unlocated_incident(client))
    for role in ("viewer", "gis", "cad"):
        assert client_as(role).post(f"/api/events/{eid}/location", json={"lon": LON, "lat": LAT}).status_code == 403
    assert client_as(None).post(f"/api/events/{eid}/location", json={"lon": LON, "lat": LAT}).status_code == 401
    assert conn.execute("SELECT loc_method FROM events WHERE id = %s", (eid,)).fetchone()[0] == "failed"


def test_placing_is_refused_for_located_events_and_bad_positions(client, conn):
    located = conn.execute("SELECT id FROM events WHERE loc_method IN ('given', 'geocoded') LIMIT 1").fetchone()[0]
    assert client.post(f"/api/events/{located}/location", json={"lon": LON, "lat": LAT}).status_code == 409
    eid = event_id(conn, unlocated_incident(client))
    assert client.post(f"/api/events/{eid}/location", json={"lon": 2.35, "lat": 48.85}).status_code == 422
    assert client.post(f"/api/events/{eid}/location", json={"lon": LON}).status_code == 422
    assert client.post("/api/events/999999999999/location", json={"lon": LON, "lat": LAT}).status_code == 404
