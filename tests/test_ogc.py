"""OGC API - Features at /ogc: every catalog layer, paging, filters, CRS, counts, audit, and 400s.

Counts and ids are checked against SQL on the same database; coordinates against pyproj.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from pyproj import Transformer

from layers.catalog import CATALOG, get_layer
from services.ogc.config import DEFAULT_LIMIT, MAX_LIMIT
from services.settings import get_settings

OGC = "/ogc"
BBOX = (-76.64, 39.28, -76.59, 39.31)  # downtown Baltimore, degrees


def items(client, coll: str, **params) -> dict:
    r = client.get(f"{OGC}/collections/{coll}/items", params={"f": "json", **params})
    assert r.status_code == 200, r.text
    return r.json()


def walk(client, coll: str, **params) -> list[dict]:
    """Every feature of a query, following `next` links to the end."""
    r = client.get(f"{OGC}/collections/{coll}/items", params={"f": "json", **params})
    out = []
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["features"]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            return out
        r = client.get(nxt[0])


def sql_count(conn, source: str, where: str = "TRUE", params=()) -> int:
    """Located rows only: spatial collections serve no feature without a geometry."""
    return conn.execute(f'SELECT count(*) FROM "{source}" WHERE geom IS NOT NULL AND ({where})', params).fetchone()[0]


def test_landing_page_links_service_desc_and_conformance(client):
    r = client.get(f"{OGC}/", params={"f": "json"})
    assert r.status_code == 200
    rels = {link["rel"] for link in r.json()["links"]}
    assert {"service-desc", "conformance", "data"} <= rels


def test_every_layer_is_a_collection_and_in_the_openapi_document(client):
    colls = {c["id"]: c for c in client.get(f"{OGC}/collections", params={"f": "json"}).json()["collections"]}
    assert set(colls) == {layer.id for layer in CATALOG}
    oas = client.get(f"{OGC}/openapi", params={"f": "json"}).json()
    for layer in CATALOG:
        assert f"/collections/{layer.id}/items" in oas["paths"], layer.id
        if not layer.spatial:
            continue  # records only: no tiles
        hrefs = [link["href"] for link in colls[layer.id]["links"]]
        assert any(h.endswith(f"/tiles/{layer.id}.json") for h in hrefs), "TileJSON link"
        assert any(h.endswith(f"/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt") for h in hrefs), "MVT link"


def test_openapi_states_limit_default_and_maximum_and_cql(client):
    oas = client.get(f"{OGC}/openapi", params={"f": "json"}).json()
    for layer in CATALOG:
        params = oas["paths"][f"/collections/{layer.id}/items"]["get"]["parameters"]
        limit = next(p for p in params if p.get("name") == "limit")
        assert limit["schema"]["default"] == DEFAULT_LIMIT == 1000
        assert limit["schema"]["maximum"] == MAX_LIMIT == 10_000
        lang = next(p for p in params if p.get("name") == "filter-lang")
        assert "cql-text" in lang["schema"]["enum"]  # what GDAL looks for before sending -where as CQL


def test_default_page_is_the_advertised_limit_and_max_is_enforced(client, conn):
    n = sql_count(conn, "streets")
    assert n > MAX_LIMIT
    assert items(client, "streets")["numberReturned"] == DEFAULT_LIMIT
    assert items(client, "streets", limit=50_000)["numberReturned"] == MAX_LIMIT


def test_paging_walks_every_feature_exactly_once(client, conn):
    got = [f["id"] for f in walk(client, "cad_incidents", limit=700)]
    want = [r[0] for r in conn.execute("SELECT id FROM cad_incidents WHERE geom IS NOT NULL")]
    assert len(got) == len(set(got)) == len(want)
    assert set(got) == set(want)
    got = [f["id"] for f in walk(client, "cameras", limit=100, sortby="-name")]
    assert sorted(got) == sorted(r[0] for r in conn.execute("SELECT id FROM cameras"))
    assert len(got) == len(set(got))


def test_bbox_matches_sql(client, conn):
    for layer in ("cad_incidents", "cameras", "streets", "districts"):
        src = get_layer(layer).source
        want = sql_count(conn, src, "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", BBOX)
        got = walk(client, layer, bbox=",".join(map(str, BBOX)), limit=MAX_LIMIT)
        assert len(got) == want > 0, layer


def test_bbox_edges_are_exact(client, conn):
    """A point 4e-6 degrees (~0.4 m) outside the bbox is out: index boxes are float4, the filter is not."""
    fid, x, y = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM cad_incidents WHERE geom IS NOT NULL "
                             "ORDER BY id LIMIT 1").fetchone()
    for dx, inside in ((4e-6, True), (-4e-6, False)):
        bbox = f"{x - 0.01!r},{y - 0.01!r},{x + dx!r},{y + 0.01!r}"
        ids = {f["id"] for f in walk(client, "cad_incidents", bbox=bbox, limit=MAX_LIMIT)}
        assert (fid in ids) is inside, dx


def test_datetime_instants_intervals_and_open_ends(client, conn):
    lo, hi = conn.execute("SELECT min(observed_at), max(observed_at) FROM cad_incidents").fetchone()
    mid = lo + (hi - lo) / 2
    tz = get_settings().timezone
    day = conn.execute("SELECT (%s::timestamptz AT TIME ZONE %s)::date", (lo, tz)).fetchone()[0]  # lo's local day
    cases = {
        f"{lo.isoformat()}/{mid.isoformat()}": ("observed_at BETWEEN %s AND %s", (lo, mid)),
        f"../{mid.isoformat()}": ("observed_at <= %s", (mid,)),
        f"{mid.isoformat()}/..": ("observed_at >= %s", (mid,)),
        f"{mid.isoformat()}/": ("observed_at >= %s", (mid,)),
        lo.isoformat(): ("observed_at = %s", (lo,)),
        # a bare date is the whole agency-local day (services/query/times.py), as on /tiles and tasks
        day.isoformat(): ("observed_at >= (%s::date)::timestamp AT TIME ZONE %s "
                          "AND observed_at < (%s::date + 1)::timestamp AT TIME ZONE %s", (day, tz, day, tz)),
    }
    for dt, (where, params) in cases.items():
        want = sql_count(conn, "cad_incidents", where, params)
        got = walk(client, "cad_incidents", datetime=dt, limit=MAX_LIMIT)
        assert len(got) == want, dt
    assert 0 < sql_count(conn, "cad_incidents", *cases[f"../{mid.isoformat()}"]) < sql_count(conn, "cad_incidents")


def test_property_filter_and_numbers_matched(client, conn):
    district = conn.execute("SELECT district FROM cad_incidents WHERE district IS NOT NULL LIMIT 1").fetchone()[0]
    got = walk(client, "cad_incidents", district=district, limit=MAX_LIMIT)
    assert len(got) == sql_count(conn, "cad_incidents", "district = %s", (district,))
    assert all(f["properties"]["district"] == district for f in got)
    # small tables: exact numberMatched; large ones: no count(*) per page
    page = items(client, "cameras", kind="cctv", limit=5)
    assert page["numberMatched"] == sql_count(conn, "cameras", "kind = 'cctv'")
    assert "numberMatched" not in items(client, "cad_incidents", limit=5)
    hits = items(client, "cad_incidents", resulttype="hits")
    assert hits["numberMatched"] == sql_count(conn, "cad_incidents") and hits["features"] == []


@pytest.mark.parametrize("cql,where", [
    ("district = 'Central' AND priority IS NULL", "district = 'Central' AND priority IS NULL"),
    ("type LIKE 'WEAPON%'", "type LIKE 'WEAPON%%'"),
    ("district IN ('Central', 'Eastern') OR loc_score < 0.5", "district IN ('Central','Eastern') OR loc_score < 0.5"),
    ("S_INTERSECTS(geom, POLYGON((-76.64 39.28, -76.59 39.28, -76.59 39.31, -76.64 39.31, -76.64 39.28)))",
     "ST_Intersects(geom, ST_MakeEnvelope(-76.64, 39.28, -76.59, 39.31, 4326))"),
    ("observed_at > TIMESTAMP('2025-06-01T00:00:00Z')", "observed_at > '2025-06-01T00:00:00Z'"),
    ("T_DURING(observed_at, INTERVAL('2025-01-01T00:00:00Z', '2025-03-01T00:00:00Z'))",
     "observed_at BETWEEN '2025-01-01T00:00:00Z' AND '2025-03-01T00:00:00Z'"),
    ("CASEI(district) = casei('CENTRAL')", "lower(district) = 'central'"),
    ("DWITHIN(geom, POINT(-76.6122 39.2904), 800, meters)",  # metres on the geography
     "ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(-76.6122, 39.2904), 4326)::geography, 800)"),
])
def test_cql2_text_filter_matches_sql(client, conn, cql, where):
    want = sql_count(conn, "cad_incidents", where)
    got = walk(client, "cad_incidents", filter=cql, limit=MAX_LIMIT)
    assert len(got) == want
    got = walk(client, "cad_incidents", filter=cql, **{"filter-lang": "cql2-text"}, limit=MAX_LIMIT)
    assert len(got) == want


def test_cql2_json_filter_get_and_post(client, conn):
    expr = {"op": "and", "args": [{"op": "=", "args": [{"property": "district"}, "Central"]},
                                  {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(BBOX)}]}]}
    want = sql_count(conn, "cad_incidents", "district = 'Central' AND geom && ST_MakeEnvelope(%s,%s,%s,%s,4326)",
                     BBOX)
    got = walk(client, "cad_incidents", filter=json.dumps(expr), **{"filter-lang": "cql2-json"}, limit=MAX_LIMIT)
    assert len(got) == want > 0
    r = client.post(f"{OGC}/collections/cad_incidents/items?limit={MAX_LIMIT}", content=json.dumps(expr),
                    headers={"Content-Type": "application/query-cql-json"})
    assert r.status_code == 200, r.text
    assert r.json()["numberReturned"] == want


def test_sortby(client, conn):
    got = items(client, "streets", sortby="-speed_kmh,fullname", limit=200)["features"]
    speeds = [f["properties"]["speed_kmh"] for f in got]
    assert speeds == sorted(speeds, reverse=True)
    assert speeds[0] == conn.execute("SELECT max(speed_kmh) FROM streets").fetchone()[0]


def test_crs_3857_and_4326_axis_order(client, conn):
    fid, lon, lat = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM cameras ORDER BY id LIMIT 1").fetchone()
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    f = items(client, "cameras", crs="http://www.opengis.net/def/crs/EPSG/0/3857", limit=1)["features"][0]
    assert f["id"] == fid
    assert f["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.05)  # metres
    r = client.get(f"{OGC}/collections/cameras/items", params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
                                                                "limit": 1, "f": "json"})
    assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    assert r.json()["features"][0]["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-6)  # lat, lon
    f = items(client, "cameras", limit=1)["features"][0]
    assert f["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)  # CRS84: lon, lat


def test_get_one_item_and_404(client, conn):
    fid = conn.execute("SELECT id FROM cad_incidents WHERE geom IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()[0]
    r = client.get(f"{OGC}/collections/cad_incidents/items/{fid}", params={"f": "json"})
    assert r.status_code == 200 and r.json()["id"] == fid
    cam = conn.execute("SELECT id FROM cameras LIMIT 1").fetchone()[0]
    assert client.get(f"{OGC}/collections/cameras/items/{quote(cam)}", params={"f": "json"}).json()["id"] == cam
    assert client.get(f"{OGC}/collections/cad_incidents/items/999999999", params={"f": "json"}).status_code == 404
    assert client.get(f"{OGC}/collections/cad_incidents/items/not-a-number", params={"f": "json"}).status_code == 404
    assert client.get(f"{OGC}/collections/nope/items", params={"f": "json"}).status_code == 404


def test_queryables_and_html(client):
    q = client.get(f"{OGC}/collections/gunshots/queryables", params={"f": "json"}).json()
    assert {p.name for p in get_layer("gunshots").properties} <= set(q["properties"])
    r = client.get(f"{OGC}/collections/gunshots/items", params={"f": "html", "limit": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("params", [
    {"bbox": "1,2,3"},
    {"bbox": "a,b,c,d"},
    {"bbox": "10,10,0,0"},
    {"datetime": "yesterday"},
    {"datetime": "2025-01-01/2024-01-01"},
    {"datetime": "2025-01-01/2025-02-01/2025-03-01"},
    {"filter": "priority >>> 2"},
    {"filter": "nosuchfield = 1"},
    {"filter": "priority = 'abc'"},
    {"filter": "{\"op\": \"=\", \"args\": [{\"property\": \"nosuch\"}, 1]}", "filter-lang": "cql2-json"},
    {"filter": "district = 'x'", "filter-lang": "sql"},
    {"nosuchparam": "1"},
    {"priority": "high"},
    {"sortby": "nosuch"},
    {"limit": "abc"},
    {"limit": "0"},
    {"offset": "-1"},
    {"crs": "http://www.opengis.net/def/crs/EPSG/0/2248"},
])
def test_bad_input_is_a_400_with_a_sentence(client, params):
    r = client.get(f"{OGC}/collections/cad_incidents/items", params={"f": "json", **params})
    assert r.status_code == 400, (params, r.status_code, r.text[:300])
    assert len(r.json()["description"]) > 10


def test_alpr_reads_are_audited(client, conn):
    before = conn.execute("SELECT count(*) FROM audit_log WHERE resource = 'collections/alpr_reads'").fetchone()[0]
    r = client.get(f"{OGC}/collections/alpr_reads/items", params={"f": "json", "limit": 5},
                   headers={"X-RTCC-Reason": "stolen car", "X-RTCC-Case-Number": "25-1234"})
    assert r.status_code == 200
    refused = client.get(f"{OGC}/collections/alpr_reads/items", params={"f": "json", "limit": 5})
    assert refused.status_code == 403 and "case_number" in refused.json()["detail"]
    r2 = client.get(f"{OGC}/collections/alpr_reads/items", params={"f": "json", "limit": 5, "reason": "hit check",
                                                                   "case_number": "25-99"})
    assert r2.status_code == 200, r2.text
    rows = conn.execute("SELECT who, reason, case_number, action, detail FROM audit_log "
                        "WHERE resource = 'collections/alpr_reads' ORDER BY id DESC LIMIT 2").fetchall()
    assert conn.execute("SELECT count(*) FROM audit_log WHERE resource = 'collections/alpr_reads'").fetchone()[0] \
        == before + 2
    assert rows[1][:4] == ("test-admin", "stolen car", "25-1234", "ogc.query")
    assert rows[1][4]["returned"] == r.json()["numberReturned"]
    assert rows[0][:3] == ("test-admin", "hit check", "25-99")
    # other layers leave no trace
    client.get(f"{OGC}/collections/gunshots/items", params={"f": "json", "limit": 5})
    assert conn.execute("SELECT count(*) FROM audit_log WHERE resource LIKE 'collections/gunshots%'").fetchone()[0] == 0


def test_csv_holds_features_without_geometry_and_empty_sortby_is_ignored(client, conn):
    """An incident that could not be geocoded has no geometry; the CSV page still answers."""
    import csv
    import io
    import uuid
    ids = [f"csv-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    rows = [{"id": ids[0], "observed_at": "2026-11-01T10:00:00Z", "type": "X", "address": "99999 NOWHERE IMAGINARY BLVD"},
            {"id": ids[1], "observed_at": "2026-11-01T10:01:00Z", "type": "X", "lon": -76.61, "lat": 39.29}]
    assert client.post("/api/ingest/cad", json=rows).json()["accepted"] == 2
    r = client.get(f"{OGC}/collections/cad_incidents/items", params={
        "f": "csv", "filter": f"feed_id IN ('{ids[0]}', '{ids[1]}')", "sortby": "observed_at"})
    assert r.status_code == 200, r.text[:300]
    got = list(csv.DictReader(io.StringIO(r.text)))
    assert [g["feed_id"] for g in got] == ids[1:]  # the unlocated one is not a feature of a spatial collection
    assert float(got[0]["x"]) == pytest.approx(-76.61)
    r = client.get(f"{OGC}/collections/unlocated_events/items", params={"f": "csv", "filter": f"feed_id = '{ids[0]}'"})
    assert r.status_code == 200, r.text[:300]
    got = list(csv.DictReader(io.StringIO(r.text)))
    assert [g["feed_id"] for g in got] == ids[:1] and got[0].get("x", "") == ""
    r = client.get(f"{OGC}/collections/cad_incidents/items", params={"f": "json", "sortby": "", "limit": 1})
    assert r.status_code == 200 and len(r.json()["features"]) == 1
