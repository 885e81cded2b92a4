"""GET /api/route: the drive path the map draws is the drive the unit ETA measured, and it follows
the street graph (checked against pgRouting's cost on the whole graph)."""
import random
from datetime import datetime, timezone

import pytest
import shapely


def _route(client, a, b):
    return client.get("/api/route", params={"from": f"{a[0]},{a[1]}", "to": f"{b[0]},{b[1]}"})


def test_route_between_vertices_costs_what_pgrouting_says(client, conn):
    rng = random.Random(3)
    nodes = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM route_nodes "
                         "WHERE geom && ST_MakeEnvelope(-76.64, 39.28, -76.59, 39.31, 4326) ORDER BY id").fetchall()
    checked = 0
    for (na, ax, ay), (nb, bx, by) in (rng.sample(nodes, 2) for _ in range(6)):
        cost = conn.execute("SELECT agg_cost FROM pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost "
                            "FROM route_edges', %s, %s, true)", (na, nb)).fetchone()
        r = _route(client, (ax, ay), (bx, by))
        if cost is None:
            continue
        assert r.status_code == 200, r.text
        f = r.json()
        line = shapely.geometry.shape(f["geometry"])
        assert line.geom_type == "LineString" and line.length > 0
        assert line.coords[0] == pytest.approx((ax, ay), abs=1e-6)
        assert line.coords[-1] == pytest.approx((bx, by), abs=1e-6)
        assert abs(f["properties"]["duration_s"] - cost[0]) < 0.2, (na, nb, f["properties"], cost)
        checked += 1
    assert checked >= 3


@pytest.fixture
def fresh_demo_units(conn):
    """The demo fleet as of now (the template's positions are older than the freshness window)."""
    before = conn.execute("SELECT id, observed_at FROM units").fetchall()
    conn.execute("UPDATE units SET observed_at = now()")
    yield
    for uid, t in before:
        conn.execute("UPDATE units SET observed_at = %s WHERE id = %s", (t, uid))


def test_route_draws_the_path_each_eta_measured(client, conn, fresh_demo_units):
    """For the units /api/nearest routes across the city, /api/route from the unit to the spot
    answers (never 'no path') with the same seconds, along a continuous line from unit to spot."""
    pts = conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p FROM streets "
                       "ORDER BY md5(id::text || 'route') LIMIT 12) q").fetchall()
    routed = 0
    for x, y in pts:
        r = client.get("/api/nearest", params={"lon": x, "lat": y, "cameras": 0, "recent_m": 0, "units": 5})
        assert r.status_code == 200, r.text
        for u in r.json()["units"]:
            if u["eta_method"] != "network":
                continue
            rr = _route(client, (u["lon"], u["lat"]), (x, y))
            assert rr.status_code == 200, (u, rr.text)
            f = rr.json()
            assert abs(f["properties"]["duration_s"] - u["eta_s"]) <= 0.11, (u, f["properties"])
            line = shapely.geometry.shape(f["geometry"])
            assert line.coords[0] == pytest.approx((u["lon"], u["lat"]), abs=1e-6)
            assert line.coords[-1] == pytest.approx((x, y), abs=1e-6)
            assert f["properties"]["length_m"] >= u["distance_m"] - 0.5  # a drive is never shorter
            routed += 1
    assert routed >= 30


def test_route_sees_street_edits(client, conn):
    """A street slowed down costs more on the next request (the graph reloads), and less once restored."""
    sid, speed, ax, ay = conn.execute(
        "SELECT id, speed_kmh, ST_X(ST_LineInterpolatePoint(geom, 0.5)), ST_Y(ST_LineInterpolatePoint(geom, 0.5)) "
        "FROM streets ORDER BY geom <-> ST_SetSRID(ST_MakePoint(-76.6122, 39.2904), 4326) LIMIT 1").fetchone()
    a, b = (ax, ay), (-76.6000, 39.3000)  # a: the middle of that street, so the drive starts along it
    before = _route(client, a, b).json()["properties"]["duration_s"]
    v0 = conn.execute("SELECT version FROM route_graph").fetchone()[0]
    conn.execute("UPDATE streets SET speed_kmh = 1 WHERE id = %s", (sid,))
    try:
        assert conn.execute("SELECT version FROM route_graph").fetchone()[0] > v0
        assert _route(client, a, b).json()["properties"]["duration_s"] > before
    finally:
        conn.execute("UPDATE streets SET speed_kmh = %s WHERE id = %s", (speed, sid))
    assert _route(client, a, b).json()["properties"]["duration_s"] == before


def test_route_bad_input_is_400(client):
    assert client.get("/api/route", params={"from": "x", "to": "-76.6,39.3"}).status_code == 400
    assert client.get("/api/route", params={"from": "-276.6,39.3", "to": "-76.6,39.3"}).status_code == 400
    assert client.get("/api/route", params={"to": "-76.6,39.3"}).status_code == 400
    r = client.get("/api/route", params={"from": "-70.0,30.0", "to": "-76.6,39.3"})  # in the Atlantic
    assert r.status_code == 400 and "from any street" in r.json()["detail"]
