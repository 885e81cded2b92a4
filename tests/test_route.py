"""GET /api/route: the drive path the map draws, checked against pgRouting's own cost."""
import shapely


def test_route_follows_the_street_graph(client, conn):
    a, b = (-76.6122, 39.2904), (-76.6000, 39.3000)
    r = client.get("/api/route", params={"from": f"{a[0]},{a[1]}", "to": f"{b[0]},{b[1]}"})
    assert r.status_code == 200, r.text
    f = r.json()
    line = shapely.geometry.shape(f["geometry"])
    assert line.geom_type == "LineString" and line.length > 0
    # it starts and ends at the graph vertices nearest the two points (metres-scale snap)
    na, nb = (conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM route_nodes "
                           "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1", p).fetchone()
              for p in (a, b))
    assert shapely.Point(line.coords[0]).distance(shapely.Point(na)) < 1e-6
    assert shapely.Point(line.coords[-1]).distance(shapely.Point(nb)) < 1e-6
    # consecutive edges join: the path is continuous
    assert all(shapely.Point(p).distance(line) < 1e-9 for p in line.coords)
    # its duration is pgRouting's cost for the same pair on the whole graph (the box is wide enough here)
    cost = conn.execute("""
        SELECT agg_cost FROM pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost FROM route_edges',
            (SELECT id FROM route_nodes ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1),
            (SELECT id FROM route_nodes ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1), true)""",
                        (*a, *b)).fetchone()[0]
    assert abs(f["properties"]["duration_s"] - cost) < 0.5


def test_route_bad_input_is_422(client):
    assert client.get("/api/route", params={"from": "x", "to": "-76.6,39.3"}).status_code == 422
    assert client.get("/api/route", params={"from": "-276.6,39.3", "to": "-76.6,39.3"}).status_code == 422
    assert client.get("/api/route", params={"to": "-76.6,39.3"}).status_code == 422
