"""Vector tiles: decoded with mapbox-vector-tile and checked against SQL on the same rows."""
from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import datetime, timezone

import mapbox_vector_tile
import pytest

from geo import tiles as T
from layers import catalog
from layers.catalog import CATALOG
from services.tiles.cache import cache
from tests.conftest import PURPOSE


@pytest.fixture(autouse=True)
def _stated_purpose(client):
    """These tests read every layer's tiles, plate reads included: they state a purpose (test_audit.py
    checks the refusal without one)."""
    client.headers.update(PURPOSE)
    yield
    for k in PURPOSE:
        client.headers.pop(k, None)

EXT, BUF = T.EXTENT, T.BUFFER
CENTRE = (-76.6122, 39.2904)   # downtown Baltimore: dense in the demo city


def tile_at(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    t = T.TMS.tile(lon, lat, z)
    return t.z, t.x, t.y


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}) if body else {}


def coords(geom: dict):
    """Every vertex of a decoded MVT geometry, in tile units."""
    def walk(c):
        if c and isinstance(c[0], (int, float)):
            yield c
        else:
            for sub in c:
                yield from walk(sub)
    yield from walk(geom["coordinates"])


def get_tile(client, layer, z, x, y, **params):
    r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return r


def sql_in_tile(conn, source, z, x, y, where="true", params=()):
    """Ids whose geometry meets the tile grown by the buffer (independently of the server's SQL)."""
    return {r[0] for r in conn.execute(
        f"SELECT id FROM {source} WHERE ST_Intersects(ST_Transform(geom, 3857), "
        f"ST_TileEnvelope(%s, %s, %s, margin => %s)) AND {where}", (z, x, y, BUF / EXT, *params))}


def wait_ready():
    cache.start()
    assert cache.ready.wait(10), "tile cache listener did not connect"


# -- TileJSON ------------------------------------------------------------------------------------

def test_tilejson_for_every_catalog_layer(client):
    index = client.get("/tiles").json()
    assert [l["id"] for l in index["layers"]] == [l.id for l in CATALOG if l.spatial]
    for layer in (l for l in CATALOG if l.spatial):
        r = client.get(f"/tiles/{layer.id}.json")
        assert r.status_code == 200, layer.id
        tj = r.json()
        assert tj["tilejson"] == "3.0.0"
        assert tj["tiles"][0].endswith(f"/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt")
        assert tj["minzoom"] == layer.minzoom and tj["maxzoom"] >= tj["minzoom"]
        w, s, e, n = tj["bounds"]
        assert -180 <= w < e <= 180 and -90 <= s < n <= 90
        (vl,) = tj["vector_layers"]
        assert vl["id"] == layer.id
        assert {p.name for p in layer.properties} <= set(vl["fields"])
    assert client.get("/tiles/index.json").json() == index
    # the map client reads the name inside each tile from the catalog, not from TileJSON
    named = {l["id"]: l["source_layer"] for l in client.get("/api/layers").json()["layers"]}
    for layer in index["layers"]:
        assert named[layer["id"]] == layer["vector_layers"][0]["id"], layer["id"]


def test_tilejson_carries_filters_into_the_tile_url(client):
    tj = client.get("/tiles/cad_incidents.json", params={"datetime": "2015-01-01T00:00:00Z/..",
                                                           "priority": "1"}).json()
    assert "datetime=2015-01-01T00:00:00Z/.." in tj["tiles"][0] and "priority=1" in tj["tiles"][0]
    assert client.get("/tiles/cad_incidents.json", params={"datetime": "nope"}).status_code == 400


# -- tiles against SQL ---------------------------------------------------------------------------

@pytest.mark.parametrize("z", [14, 15, 16])
def test_point_tile_has_the_rows_of_the_buffered_envelope(client, conn, z):
    z, x, y = tile_at(*CENTRE, z)
    tile = decode(get_tile(client, "cad_incidents", z, x, y).content)
    want = sql_in_tile(conn, "cad_incidents", z, x, y)
    assert want, "the demo city should have incidents downtown"
    feats = tile["cad_incidents"]["features"]
    assert {f["properties"]["id"] for f in feats} == want
    assert {f["id"] for f in feats} == want  # integer ids are also the MVT feature ids
    for f in feats:
        px, py = f["geometry"]["coordinates"]
        assert -BUF <= px <= EXT + BUF and -BUF <= py <= EXT + BUF
        assert f["properties"]["observed_at"].endswith("Z")  # RFC 3339, UTC


def test_point_positions_match_the_database(client, conn):
    z, x, y = tile_at(*CENTRE, 16)
    feats = decode(get_tile(client, "cad_incidents", z, x, y).content)["cad_incidents"]["features"]
    b = T.TMS.xy_bounds(x, y, z)
    rows = dict(conn.execute("SELECT id, ARRAY[ST_X(ST_Transform(geom, 3857)), ST_Y(ST_Transform(geom, 3857))] "
                             "FROM cad_incidents WHERE id = ANY(%s)", ([f["id"] for f in feats],)).fetchall())
    for f in feats:
        mx, my = rows[f["id"]]
        px = (mx - b.left) / (b.right - b.left) * EXT
        py = (b.top - my) / (b.top - b.bottom) * EXT
        assert abs(px - f["geometry"]["coordinates"][0]) <= 1 and abs(py - f["geometry"]["coordinates"][1]) <= 1


def test_lines_and_polygons_are_simplified_to_the_tiles_resolution(client, conn):
    """Below z16 a tile's lines and polygons carry no more vertices than a screen can show
    (T.simplify_tolerance_m, a quarter pixel): every feature is kept, with far fewer vertices than
    the raw geometry clipped to the tile; z16 tiles (the deepest the map asks) keep full detail."""
    def raw_vertices(z, x, y):
        return conn.execute("""SELECT sum(ST_NPoints(ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s),
                                4096, 64, true))) FROM districts""", (z, x, y)).fetchone()[0]
    for z, shrink in ((12, 0.5), (16, 1.0)):
        x, y = tile_at(*CENTRE, z)[1:]
        feats = decode(get_tile(client, "districts", z, x, y).content)["districts"]["features"]
        served = sum(len(list(coords(f["geometry"]))) for f in feats)
        assert {f["properties"]["id"] for f in feats} == sql_in_tile(conn, "districts", z, x, y)
        if shrink < 1:
            assert served < shrink * raw_vertices(z, x, y), (served, raw_vertices(z, x, y))
        else:
            assert served >= 0.95 * raw_vertices(z, x, y)


@pytest.mark.parametrize("layer", ["streets", "districts", "neighborhoods", "camera_cones", "beats"])
def test_lines_and_polygons_stay_inside_the_buffer(client, conn, layer):
    z, x, y = tile_at(*CENTRE, 14)
    tile = decode(get_tile(client, layer, z, x, y).content)
    src = catalog.get_layer(layer).source
    want = sql_in_tile(conn, src, z, x, y)
    feats = tile.get(layer, {"features": []})["features"]
    assert len(feats) <= len(want)
    # Every feature in the tile meets the buffered envelope; at most a few tiny ones are dropped by clipping.
    assert {f["properties"]["id"] for f in feats} <= want
    assert len(feats) >= 0.95 * len(want)
    for f in feats:
        for px, py in coords(f["geometry"]):
            assert -BUF - 1 <= px <= EXT + BUF + 1 and -BUF - 1 <= py <= EXT + BUF + 1


def test_every_catalog_layer_serves_a_tile(client):
    z, x, y = tile_at(*CENTRE, 14)
    for layer in (l for l in CATALOG if l.spatial):
        r = client.get(f"/tiles/{layer.id}/{z}/{x}/{y}.mvt")
        assert r.status_code in (200, 503), (layer.id, r.text)  # 503: a source view not migrated yet
        if r.status_code == 200 and r.content:
            assert set(decode(r.content)) == {layer.id}


def test_feature_cap_is_respected(client, conn, monkeypatch):
    layer = catalog.get_layer("cad_incidents")
    monkeypatch.setitem(catalog._BY_ID, "cad_incidents", dataclasses.replace(layer, tile_feature_cap=25))
    cache.clear()
    z, x, y = tile_at(*CENTRE, 14)
    assert len(sql_in_tile(conn, "cad_incidents", z, x, y)) > 25
    feats = decode(get_tile(client, "cad_incidents", z, x, y).content)["cad_incidents"]["features"]
    assert len(feats) == 25
    cache.clear()


def test_thinned_tile_counts_add_up(client, conn):
    z, x, y = tile_at(*CENTRE, 11)
    assert z < catalog.get_layer("cad_incidents").thin_below_zoom
    feats = decode(get_tile(client, "cad_incidents", z, x, y).content)["cad_incidents"]["features"]
    # Thinned tiles keep whole grid cells: the tile grown by one cell (= the buffer) on each side.
    want = sql_in_tile(conn, "cad_incidents", z, x, y)
    assert sum(f["properties"]["count"] for f in feats) == len(want)
    assert len(feats) <= (T.THIN_CELLS + 2) ** 2 < len(want)
    assert all(f["properties"]["count"] >= 1 for f in feats)
    raw = decode(get_tile(client, "cad_incidents", z, x, y, thin="false").content)["cad_incidents"]["features"]
    assert len(raw) == min(len(want), catalog.get_layer("cad_incidents").tile_feature_cap)


def test_filters_agree_with_sql(client, conn):
    z, x, y = tile_at(*CENTRE, 14)
    typ = conn.execute("SELECT type FROM cad_incidents WHERE type IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC "
                       "LIMIT 1").fetchone()[0]

    def ids(**params):
        tile = decode(get_tile(client, "cad_incidents", z, x, y, **params).content)
        return {f["properties"]["id"] for f in tile.get("cad_incidents", {"features": []})["features"]}

    assert ids(type=typ) == sql_in_tile(conn, "cad_incidents", z, x, y, "type = %s", (typ,))
    assert ids(filter=f"type = '{typ}' AND priority IS NULL") == sql_in_tile(
        conn, "cad_incidents", z, x, y, "type = %s AND priority IS NULL", (typ,))
    assert ids(filter=f"type LIKE '{typ[:3]}%'") == sql_in_tile(conn, "cad_incidents", z, x, y, "type LIKE %s",
                                                               (typ[:3] + "%",))
    assert ids(**{"filter-lang": "cql2-json", "filter": '{"op": "=", "args": [{"property": "type"}, "%s"]}' % typ}) \
        == ids(type=typ)
    lo, hi = "2018-01-01T00:00:00Z", "2020-12-31T23:59:59Z"
    assert ids(datetime=f"{lo}/{hi}") == sql_in_tile(conn, "cad_incidents", z, x, y,
                                                     "observed_at BETWEEN %s AND %s", (lo, hi))
    assert ids(datetime=f"{lo}/..") == sql_in_tile(conn, "cad_incidents", z, x, y, "observed_at >= %s", (lo,))
    assert ids(since=lo) == ids(datetime=f"{lo}/..")
    assert ids(hours="1") == sql_in_tile(conn, "cad_incidents", z, x, y, "observed_at >= now() - interval '61 min'")


# -- H3 hexbins ----------------------------------------------------------------------------------

def hexbin_group_by(conn, res, z, x, y, where="true", params=()) -> dict[str, tuple[int, float]]:
    """h3 index → (events, area of the cell inside the buffered tile in tile units²) by a plain GROUP BY."""
    rows = conn.execute(f"""
        WITH env AS (SELECT ST_TileEnvelope(%s, %s, %s, margin => %s) AS g,
                            (ST_XMax(ST_TileEnvelope(%s, %s, %s)) - ST_XMin(ST_TileEnvelope(%s, %s, %s))) / %s AS unit)
        SELECT to_hex(e.h3_r{res}), count(*),
               min(ST_Area(ST_Intersection(ST_Transform(c.geom, 3857), env.g))) / min(env.unit) ^ 2
        FROM events e JOIN h3_cells c ON c.cell = e.h3_r{res}, env
        WHERE ST_Intersects(ST_Transform(c.geom, 3857), env.g) AND {where}
        GROUP BY 1""", (z, x, y, BUF / EXT, z, x, y, z, x, y, EXT, *params)).fetchall()
    return {h: (n, a) for h, n, a in rows}


@pytest.mark.parametrize("z", [11, 13, 15])
def test_hexbin_counts_agree_with_a_group_by(client, conn, z):
    z, x, y = tile_at(*CENTRE, z)
    res = T.h3_res_for_zoom(z)
    tile = decode(get_tile(client, "event_hexbins", z, x, y).content)
    got = {f["properties"]["h3"]: f["properties"]["count"] for f in tile["event_hexbins"]["features"]}
    assert all(f["properties"]["res"] == res for f in tile["event_hexbins"]["features"])
    want = hexbin_group_by(conn, res, z, x, y)
    assert got and all(got[c] == want[c][0] for c in got)
    # Cells missing from the tile are only slivers that collapse when snapped to the tile grid.
    assert all(area_px < 4 for c, (_, area_px) in want.items() if c not in got)


def test_hexbins_filter_by_time_and_kind(client, conn):
    z, x, y = tile_at(*CENTRE, 12)
    res = T.h3_res_for_zoom(z)
    lo, hi = "2016-01-01T00:00:00Z", "2019-01-01T00:00:00Z"
    tile = decode(get_tile(client, "event_hexbins", z, x, y, datetime=f"{lo}/{hi}", kinds="cad_incident").content)
    got = {f["properties"]["h3"]: f["properties"]["count"] for f in tile["event_hexbins"]["features"]}
    want = hexbin_group_by(conn, res, z, x, y, "e.kind = 'cad_incident' AND e.observed_at BETWEEN %s AND %s", (lo, hi))
    assert got and all(got[c] == want[c][0] for c in got)
    assert all(area_px < 4 for c, (_, area_px) in want.items() if c not in got)
    none = decode(get_tile(client, "event_hexbins", z, x, y, datetime=f"{lo}/{hi}", kinds="gunshot").content)
    assert not none.get("event_hexbins", {}).get("features")


def test_hexbins_geojson_agrees_with_a_group_by(client, conn):
    bbox = (-76.64, 39.27, -76.58, 39.31)
    r = client.get("/api/hexbins", params={"res": 9, "bbox": ",".join(map(str, bbox))})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    got = {f["properties"]["h3"]: f["properties"]["count"] for f in r.json()["features"]}
    want = dict(conn.execute("""
        SELECT to_hex(h3_r9), count(*) FROM events
        WHERE h3_r9 IN (SELECT cell FROM h3_cells WHERE res = 9 AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326))
        GROUP BY 1""", bbox).fetchall())
    assert got and got == want
    f = r.json()["features"][0]
    assert f["geometry"]["type"] == "Polygon" and len(f["geometry"]["coordinates"][0]) >= 7


# -- HTTP caching and invalidation ---------------------------------------------------------------

def test_etag_and_304(client):
    z, x, y = tile_at(*CENTRE, 15)
    r = get_tile(client, "cad_incidents", z, x, y)
    assert r.headers["etag"].startswith('"') and "max-age" in r.headers["cache-control"]
    again = client.get(f"/tiles/cad_incidents/{z}/{x}/{y}.mvt", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == r.headers["etag"] and not again.content
    other = client.get(f"/tiles/cad_incidents/{z}/{x}/{y}.mvt", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == r.content


def test_cache_size_and_browser_max_age_come_from_settings(client, monkeypatch):
    from services.settings import get_settings
    z, x, y = tile_at(*CENTRE, 15)
    url = f"/tiles/cad_incidents/{z}/{x}/{y}.mvt"
    monkeypatch.setenv("RTCC_TILE_CACHE_MB", "0")          # off: every request renders
    monkeypatch.setenv("RTCC_TILE_BROWSER_MAX_AGE_S", "42")
    get_settings.cache_clear()
    try:
        cache.clear()
        assert client.get(url).headers["x-tile-cache"] == "miss"
        assert client.get(url).headers["x-tile-cache"] == "miss"
        assert "max-age=42" in client.get(f"/tiles/streets/{z}/{x}/{y}.mvt").headers["cache-control"]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert cache.max_bytes == 256 * 2 ** 20
    client.get(url)
    assert client.get(url).headers["x-tile-cache"] == "hit"


def _wait_for_batch(batch: int) -> None:
    deadline = time.monotonic() + 5
    while (cache.last_batch or 0) < batch:
        assert time.monotonic() < deadline, "the NOTIFY of the batch never reached the tile cache"
        time.sleep(0.01)


def test_ingest_invalidates_exactly_the_touched_tiles(client):
    wait_ready()
    lon, lat = -76.6050, 39.2950
    z, x, y = tile_at(lon, lat, 15)
    far = tile_at(-76.70, 39.34, 15)                     # north-west of the city: untouched
    hz, hx, hy = tile_at(lon, lat, 13)
    old_window = {"datetime": "2015-01-01T00:00:00Z/2015-12-31T23:59:59Z"}   # the new event is not in it
    urls = [f"/tiles/cad_incidents/{z}/{x}/{y}.mvt", "/tiles/cad_incidents/{}/{}/{}.mvt".format(*far),
            f"/tiles/event_hexbins/{hz}/{hx}/{hy}.mvt"]
    before = {u: client.get(u) for u in urls}
    before_old = client.get(urls[0], params=old_window)
    for u in urls:
        assert client.get(u).headers["x-tile-cache"] == "hit", u   # cached now
    assert client.get(urls[0], params=old_window).headers["x-tile-cache"] == "hit"

    fid = f"tiles-{uuid.uuid4().hex[:8]}"
    now = datetime.now(timezone.utc).isoformat()
    r = client.post("/api/ingest/cad", json=[{"id": fid, "observed_at": now, "type": "TEST", "lon": lon, "lat": lat}])
    assert r.status_code == 200 and r.json()["accepted"] == 1
    _wait_for_batch(r.json()["batch_id"])

    touched = client.get(urls[0])
    assert touched.headers["x-tile-cache"] == "miss" and touched.headers["etag"] != before[urls[0]].headers["etag"]
    feats = decode(touched.content)["cad_incidents"]["features"]
    assert any(f["properties"]["feed_id"] == fid for f in feats)
    assert len(feats) == len(decode(before[urls[0]].content).get("cad_incidents", {"features": []})["features"]) + 1
    untouched = client.get(urls[1])
    assert untouched.headers["x-tile-cache"] == "hit" and untouched.content == before[urls[1]].content
    hexes = client.get(urls[2])
    assert hexes.headers["x-tile-cache"] == "miss" and hexes.content != before[urls[2]].content
    # A window the new event is not in keeps its cached tile.
    kept = client.get(urls[0], params=old_window)
    assert kept.headers["x-tile-cache"] == "hit" and kept.content == before_old.content


def test_an_ingest_by_another_process_invalidates_too(client, database_url):
    """The write comes from another connection (another app process, the CLI): NOTIFY reaches us."""
    import psycopg
    from services.ingest.pipeline import ingest_rows
    wait_ready()
    lon, lat = -76.6200, 39.3000
    z, x, y = tile_at(lon, lat, 16)
    url = f"/tiles/gunshots/{z}/{x}/{y}.mvt"
    client.get(url)
    assert client.get(url).headers["x-tile-cache"] == "hit"
    with psycopg.connect(database_url, autocommit=True) as other:
        res = ingest_rows(other, "gunshot", [{"id": f"tiles-{uuid.uuid4().hex[:8]}", "rounds": 3,
                                              "observed_at": datetime.now(timezone.utc).isoformat(),
                                              "lon": lon, "lat": lat}], origin="cli")
    assert res.accepted == 1
    _wait_for_batch(res.batch_id)
    r = client.get(url)
    assert r.headers["x-tile-cache"] == "miss"
    assert len(decode(r.content)["gunshots"]["features"]) >= 1


def test_units_and_cameras_notices_flush_their_layers(client):
    wait_ready()
    z, x, y = tile_at(*CENTRE, 13)
    url = f"/tiles/units/{z}/{x}/{y}.mvt"
    client.get(url)
    assert client.get(url).headers["x-tile-cache"] == "hit"
    r = client.post("/api/ingest/avl", json=[{"unit_id": "TILES-1", "callsign": "T1",
                                              "observed_at": datetime.now(timezone.utc).isoformat(),
                                              "lon": CENTRE[0], "lat": CENTRE[1]}])
    assert r.json()["accepted"] == 1
    _wait_for_batch(r.json()["batch_id"])
    r = client.get(url)
    assert r.headers["x-tile-cache"] == "miss"
    assert any(f["properties"]["id"] == "TILES-1" for f in decode(r.content)["units"]["features"])


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path,status", [
    ("/tiles/cad_incidents/25/0/0.mvt", 404),        # zoom past WebMercatorQuad
    ("/tiles/cad_incidents/3/8/0.mvt", 404),         # x out of range
    ("/tiles/cad_incidents/3/0/-1.mvt", 404),
    ("/tiles/cad_incidents/a/0/0.mvt", 400),
    ("/tiles/no_such_layer/1/0/0.mvt", 404),
    ("/tiles/no_such_layer.json", 404),
    ("/tiles/cad_incidents/14/4661/6245.mvt?datetime=yesterday", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?datetime=2020-02-01T00:00:00Z/2020-01-01T00:00:00Z", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?hours=-3", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?since=2020-01-01&hours=3", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?filter=priority%20%3E", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?filter=nosuch%20%3D%201", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?filter=priority%20%3E%20%27high%27", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?filter=type%3D1&filter-lang=ecql", 400),
    ("/tiles/cad_incidents/14/4661/6245.mvt?priority=high", 400),
    ("/tiles/event_hexbins/14/4661/6245.mvt?kinds=parking", 400),
    ("/tiles/event_hexbins/14/4661/6245.mvt?filter=count%3E1", 400),
    ("/api/hexbins?res=12", 400),
    ("/api/hexbins?bbox=1,2,3", 400),
])
def test_bad_requests_are_4xx_with_a_sentence(client, path, status):
    r = client.get(path)
    assert r.status_code == status, (path, r.status_code, r.text)
    assert r.json()["detail"]


def test_a_citywide_batch_drops_only_the_tiles_holding_its_events(client):
    """The batch's bbox spans the city, but only tiles with one of its events change."""
    wait_ready()
    sw, ne = (-76.700, 39.215), (-76.535, 39.365)
    middle = tile_at(*CENTRE, 15)                        # inside the batch's bbox, holds none of its events
    corner = tile_at(*sw, 15)
    urls = ["/tiles/cad_incidents/{}/{}/{}.mvt".format(*t) for t in (middle, corner)]
    for u in urls:
        client.get(u)
        assert client.get(u).headers["x-tile-cache"] == "hit"
    now = datetime.now(timezone.utc).isoformat()
    r = client.post("/api/ingest/cad", json=[
        {"id": f"tiles-{uuid.uuid4().hex[:8]}", "observed_at": now, "type": "TEST", "lon": lon, "lat": lat}
        for lon, lat in (sw, ne)])
    assert r.json()["accepted"] == 2
    _wait_for_batch(r.json()["batch_id"])
    assert client.get(urls[0]).headers["x-tile-cache"] == "hit"
    assert client.get(urls[1]).headers["x-tile-cache"] == "miss"
