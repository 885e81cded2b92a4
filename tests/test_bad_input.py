"""Inputs that used to answer 500 (issue 12): each is now a 4xx with a sentence, or a per-row reason."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from layers.catalog import CATALOG


def uid(p: str) -> str:
    return f"{p}-{uuid.uuid4().hex[:10]}"


def eido(**parts) -> dict:
    return {"incidentComponent": {"incidentTrackingIdentifier": uid("eido"),
                                  "incidentCreationTimestamp": "2026-11-20T08:30:00-05:00"}, **parts}


@pytest.mark.parametrize("parts", [
    {"locationComponent": ["600 N LUZERNE AV", "elsewhere"]},
    {"locationComponent": [{"locationByValue": "600 N LUZERNE AV"}]},
    {"locationComponent": "600 N LUZERNE AV"},
    {"locationComponent": [{"locationByValue": {"geo": "39.3,-76.6"}}]},
    {"locationComponent": [{"locationByValue": {"civicAddressText": ["600 N LUZERNE AV"]}}]},
])
def test_eido_with_strings_where_objects_belong_costs_the_row(client, parts):
    r = client.post("/api/ingest/cad", json=eido(**parts))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 0 and body["rejected"][0]["reason"].startswith("no location")


def test_eido_component_lists_and_strings(client):
    doc = eido(locationComponent=[{"locationByValue": {"civicAddressText": "600 N LUZERNE AV"}}])
    doc["incidentComponent"] = [doc["incidentComponent"]]  # a list of incident components: the first
    assert client.post("/api/ingest/cad", json=doc).json()["accepted"] == 1
    r = client.post("/api/ingest/cad", json={"incidentComponent": "robbery", "incidentTrackingIdentifier": uid("x")})
    assert r.status_code == 200 and r.json()["rejected"], r.text


def test_geojson_feature_with_bad_properties_or_coordinates_costs_the_row(client):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": [1, 2], "geometry": None},
        {"type": "Feature", "properties": {"id": uid("g"), "observed_at": "2026-01-01T00:00:00Z"},
         "geometry": {"type": "Point", "coordinates": 5}},
        {"type": "Feature", "properties": {"id": uid("g"), "observed_at": "2026-01-01T00:00:00Z"},
         "geometry": {"type": "Point", "coordinates": [-76.61, 39.29]}}]}
    r = client.post("/api/ingest/gunshot", json=fc)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and [x["row"] for x in r.json()["rejected"]] == [0, 1]


@pytest.mark.parametrize("field", ["analyst", "title", "incident_ids", "activity_types", "minutes_spent"])
def test_patch_task_with_null_for_a_required_field_is_422(client, field):
    t = client.post("/api/tasks", json={"analyst": "A. Tester", "title": "x"}).json()
    r = client.patch(f"/api/tasks/{t['id']}", json={field: None})
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"] and "null" in r.json()["detail"]
    assert client.get(f"/api/tasks/{t['id']}").json() == t


def test_patch_outcome_null(client):
    t = client.post("/api/tasks", json={"analyst": "A. Tester", "outcome": "arrest"}).json()
    assert t["status"] == "closed"
    r = client.patch(f"/api/tasks/{t['id']}", json={"outcome": None})
    assert r.status_code == 422 and "outcome" in r.json()["detail"]
    o = client.post("/api/tasks", json={"analyst": "A. Tester"}).json()
    r = client.patch(f"/api/tasks/{o['id']}", json={"outcome": None, "title": "still open"})
    assert r.status_code == 200 and r.json()["outcome"] is None and r.json()["title"] == "still open"
    assert client.patch("/api/tasks/999999999", json={"outcome": None}).status_code == 404


@pytest.mark.parametrize("dt", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                "0001-01-01T00:00:00+14:00/..", "../9999-12-31T23:59:59-14:00"])
def test_tile_datetime_beyond_the_calendar_is_400(client, dt):
    r = client.get("/tiles/cad_incidents/12/1171/1566.mvt", params={"datetime": dt})
    assert r.status_code == 400 and "datetime" in r.json()["detail"]
    assert client.get("/api/hexbins", params={"datetime": dt}).status_code == 400


@pytest.mark.parametrize("coll", [layer.id for layer in CATALOG])
def test_writes_to_ogc_items_are_405(client, coll):
    r = client.post(f"/ogc/collections/{coll}/items")
    assert r.status_code == 405, r.text
    assert "POST" not in r.headers["allow"] and "GET" in r.headers["allow"]
    assert client.post(f"/ogc/collections/{coll}/items", json={"type": "Feature"},
                       headers={"Content-Type": "application/geo+json"}).status_code == 405
    assert client.put(f"/ogc/collections/{coll}/items/1", json={}).status_code == 405
    assert client.delete(f"/ogc/collections/{coll}/items/1").status_code == 405


@pytest.mark.parametrize("sortby", [",priority", "priority,", "+", "-,", ","])
def test_ogc_sortby_with_empty_keys(client, sortby):
    r = client.get("/ogc/collections/cad_incidents/items", params={"sortby": sortby, "limit": 3, "f": "json"})
    assert r.status_code == 200, r.text
    assert r.json()["numberReturned"] == 3


@pytest.mark.parametrize("host", ["localhost/evil", "/", "[::1", "a b", "x:y:z"])
def test_host_header_that_is_not_a_host_does_not_reach_links(client, host):
    r = client.get("/ogc/collections", params={"f": "json"}, headers={"Host": host})
    assert r.status_code == 200, r.text
    hrefs = [urlsplit(link["href"]) for link in r.json()["links"]]
    assert hrefs and all(h.netloc == "127.0.0.1:8000" and h.path.startswith("/ogc/") for h in hrefs), hrefs


@pytest.mark.parametrize("path", ["/static/%00", "/static/js/%00main.js", "/vendor/maplibre-gl/%00"])
def test_nul_in_a_static_path_is_404(client, path):
    assert client.get(path).status_code == 404


# Found by the schemathesis run (tests/test_fuzz.py), each a 500 before.
def test_patch_task_with_one_coordinate_is_422(client):
    t = client.post("/api/tasks", json={"analyst": "fuzz", "title": "position", "lon": -76.6, "lat": 39.3}).json()
    assert client.patch(f"/api/tasks/{t['id']}", json={"lon": None}).status_code == 422
    assert client.patch(f"/api/tasks/{t['id']}", json={"lat": 39.31}).status_code == 422
    cleared = client.patch(f"/api/tasks/{t['id']}", json={"lon": None, "lat": None})
    assert cleared.status_code == 200 and (cleared.json()["lon"], cleared.json()["lat"]) == (None, None)


def test_trajectory_of_a_plate_never_read(client):
    from tests.conftest import PURPOSE
    r = client.get("/api/alpr/trajectory", params={"plate": "0000000000000000000"}, headers=PURPOSE)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 0 and r.json()["reads"] == [] and r.json()["first_seen"] is None


@pytest.mark.parametrize("text", ["100 W ¹ ST", "¹ ST & MAIN ST", "²ND ST", "1² N CHARLES ST"])
def test_geocode_digits_that_are_not_decimal(client, text):
    """str.isdigit() holds for superscripts, which int() refuses."""
    r = client.post("/api/geocode", json=[text])
    assert r.status_code == 200, r.text
    assert client.get("/api/geocode", params={"q": text}).status_code == 200


@pytest.mark.parametrize("site", [
    {"type": "Feature", "geometry": "POINT(1 2)"},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": {"x": 1}}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["-76.6", 39.3]}},
])
def test_sites_with_malformed_features_cost_the_feature(client, site):
    r = client.post("/api/sites", json={"type": "FeatureCollection", "features": [site]})
    assert r.status_code == 200 and r.json()["loaded"] == 0 and r.json()["rejected"][0]["reason"], r.text
