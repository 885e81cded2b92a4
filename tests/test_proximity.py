"""Nearest cameras and view cones: the SQL engine against a brute force in Python (pyproj + shapely)
over the same camera rows, on random points; and the API's answers to bad input."""
from __future__ import annotations

import random

import pytest
import shapely

from geo import fov
from services.settings import get_settings
from tests.conftest import PURPOSE

# Downtown box (degrees) where the test cameras are scattered and the random points fall.
BOX = (-76.630, 39.280, -76.595, 39.300)


@pytest.fixture(scope="module")
def test_cameras(database_url):
    """200 directional cameras with random heading/fov/range, plus hand-made wrap-around cases."""
    import psycopg
    rnd = random.Random(5)
    rows = []
    for i in range(200):
        heading = rnd.choice([None, rnd.uniform(0, 359.9), 350.0, 5.0, 0.0])
        fov_deg = None if heading is None else rnd.choice([20.0, 40.0, 90.0, 180.0, 300.0, 360.0])
        rows.append((f"TST-{i:03d}", rnd.uniform(BOX[0], BOX[2]), rnd.uniform(BOX[1], BOX[3]), heading, fov_deg,
                     rnd.choice([None, 60.0, 120.0, 300.0])))
    with psycopg.connect(database_url, autocommit=True) as c:
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO cameras (id, name, owner, heading_deg, fov_deg, range_m, stream_url, geom) "
                "VALUES (%s, 'test camera', 'partner', %s, %s, %s, 'rtsp://cam.example/' || %s, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                [(cid, h, f, r, cid, x, y) for cid, x, y, h, f, r in rows])
    yield rows
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("DELETE FROM cameras WHERE id LIKE 'TST-%'")


def all_cameras(conn) -> list[fov.CameraView]:
    return [fov.CameraView(*r) for r in conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom), heading_deg, fov_deg, range_m FROM cameras")]


def test_wraparound_verdicts_match_between_python_and_sql(conn):
    assert fov.in_sector(5, 350, 40) and fov.in_sector(330, 350, 40) and fov.in_sector(10, 350, 40)
    assert not fov.in_sector(15, 350, 40) and not fov.in_sector(325, 350, 40)
    assert fov.in_sector(355, 10, 40) and not fov.in_sector(345, 10, 40)
    rnd = random.Random(11)
    cases = [(5.0, 350.0, 40.0), (355.0, 10.0, 40.0), (0.0, 359.0, 4.0), (180.0, 0.0, 359.0), (90.0, 270.0, 180.0)]
    cases += [(rnd.uniform(0, 360), rnd.uniform(0, 359.9), rnd.choice([10.0, 40.0, 90.0, 200.0])) for _ in range(400)]
    got = conn.execute(
        "SELECT rtcc_camera_sees(10, b, h::real, f::real, 100, 150) FROM unnest(%s::float8[], %s::float8[], "
        "%s::float8[]) AS t(b, h, f)", ([c[0] for c in cases], [c[1] for c in cases], [c[2] for c in cases])
    ).fetchall()
    for (b, h, f), (sql_verdict,) in zip(cases, got):
        if abs(fov.angle_diff(b, h) - f / 2) < 1e-4:  # on the cone's edge: float32 heading may decide either way
            continue
        assert sql_verdict == fov.in_sector(b, h, f), (b, h, f)


def test_wraparound_camera_end_to_end(client, conn):
    """A camera heading 350 with fov 40 sees a point at bearing 5, not one at bearing 15."""
    lon, lat = -76.5000, 39.2000  # a quiet corner: no other camera within 150 m
    conn.execute("INSERT INTO cameras (id, name, heading_deg, fov_deg, range_m, geom) "
                 "VALUES ('WRAP-1', 'wrap', 350, 40, 100, ST_SetSRID(ST_MakePoint(%s, %s), 4326))", (lon, lat))
    try:
        for bearing, expected in ((5.0, True), (15.0, False), (331.0, True), (325.0, False)):
            x, y, _ = fov.GEOD.fwd(lon, lat, bearing, 60.0)
            r = client.get("/api/nearest", params={"lon": x, "lat": y, "cameras": 1, "units": 0, "recent_m": 0})
            assert r.status_code == 200
            cam = r.json()["cameras"][0]
            assert cam["id"] == "WRAP-1" and cam["sees_location"] is expected, (bearing, cam)
            assert abs(cam["bearing_deg"] - bearing) < 0.11 and abs(cam["distance_m"] - 60.0) < 0.11
    finally:
        conn.execute("DELETE FROM cameras WHERE id = 'WRAP-1'")


def _near_tie(a: fov.Ranked, b: fov.Ranked) -> bool:
    return a.sees == b.sees and abs(a.distance_m - b.distance_m) < 0.01


@pytest.mark.parametrize("k,radius_m", [(5, 1500.0), (12, 250.0), (40, 400.0), (3, 60.0)])
def test_cameras_match_brute_force_on_random_points(client, conn, test_cameras, k, radius_m):
    cams = all_cameras(conn)
    by_id = {c.id: c for c in cams}
    default_range = get_settings().camera_default_range_m
    rnd = random.Random(k * 1000 + int(radius_m))
    seen_any = 0
    for _ in range(25):
        lon, lat = rnd.uniform(BOX[0], BOX[2]), rnd.uniform(BOX[1], BOX[3])
        r = client.get("/api/nearest", params={"lon": lon, "lat": lat, "cameras": k, "radius_m": radius_m,
                                               "units": 0, "recent_m": 0})
        assert r.status_code == 200, r.text
        got = r.json()["cameras"]
        ref = fov.rank_cameras(cams, lon, lat, k, radius_m, default_range)
        assert len(got) == len(ref)
        for i, (g, e) in enumerate(zip(got, ref)):
            if g["id"] != e.camera.id:  # only a tie in distance may swap two cameras
                other = next(x for x in ref if x.camera.id == g["id"])
                assert _near_tie(other, e), (g, e)
                continue
            assert g["sees_location"] == e.sees, (g, e)
            assert abs(g["distance_m"] - e.distance_m) <= 0.051
            if e.bearing_deg is not None:
                assert fov.angle_diff(g["bearing_deg"], e.bearing_deg) <= 0.051
            # the same verdict from the shapely cone polygon, away from its edge
            cone = fov.cone(e.camera, default_range, segments=720)
            pt = shapely.Point(lon, lat)
            if cone.exterior.distance(pt) > 2e-5:
                assert cone.contains(pt) == e.sees, (g, e)
            seen_any += e.sees
        # seeing cameras first, then by distance
        keys = [(not c["sees_location"], c["distance_m"]) for c in got]
        assert keys == sorted(keys)
        assert all(by_id[c["id"]] for c in got)
    if radius_m >= 250:
        assert seen_any > 0  # the comparison covered cameras that see the point


def test_camera_fields(client, test_cameras):
    r = client.get("/api/nearest", params={"lon": test_cameras[0][1], "lat": test_cameras[0][2], "cameras": 1,
                                           "units": 0})
    body = r.json()
    assert set(body) == {"location", "cameras", "units", "recent"}
    assert body["location"] == {"lon": test_cameras[0][1], "lat": test_cameras[0][2], "source": "given",
                                "geocode": None}
    cam = body["cameras"][0]
    assert cam["id"] == test_cameras[0][0] and cam["distance_m"] == 0 and cam["sees_location"] is True
    assert {"id", "name", "distance_m", "bearing_deg", "sees_location", "owner", "stream_url"} <= set(cam)
    assert cam["owner"] == "partner" and cam["stream_url"].endswith(cam["id"])


def test_address_is_geocoded_through_geo(client, conn):
    from geo.geocode import geocode_best
    num, street = conn.execute("SELECT number, street FROM addresses ORDER BY id LIMIT 1").fetchone()
    text = f"{num} {street}"
    g = geocode_best(conn, text)
    r = client.get("/api/nearest", params={"address": text, "units": 0})
    if not g.ok:  # whatever the geocoder says, the API agrees with it
        assert r.status_code == 400
        return
    assert r.status_code == 200, r.text
    loc = r.json()["location"]
    assert loc["source"] == "geocoded" and abs(loc["lon"] - g.lon) < 1e-9 and abs(loc["lat"] - g.lat) < 1e-9
    assert loc["geocode"]["match_type"] == g.match_type


@pytest.mark.parametrize("params,fragment", [
    ({"address": "qqqq zzzz nowhere"}, "geocoded"),
    ({"address": "99999 NO SUCH STREET"}, "geocoded"),
    ({}, "address"),
    ({"address": "   "}, "address"),
    ({"lon": -76.6}, "lat"),
    ({"lat": 39.3}, "lon"),
    ({"lon": "abc", "lat": 39.3}, "lon"),
    ({"lon": 200, "lat": 39.3}, "lon"),
    ({"lon": "nan", "lat": 39.3}, "lon"),
    ({"lon": -76.6, "lat": "inf"}, "lat"),
    ({"lon": -76.6, "lat": 39.3, "cameras": -1}, "cameras"),
    ({"lon": -76.6, "lat": 39.3, "cameras": 1000}, "cameras"),
    ({"lon": -76.6, "lat": 39.3, "units": "many"}, "units"),
    ({"lon": -76.6, "lat": 39.3, "radius_m": 0}, "radius_m"),
    ({"lon": -76.6, "lat": 39.3, "at": "yesterday"}, "at"),
])
def test_bad_query_parameters_are_400_with_a_reason(client, params, fragment):
    r = client.get("/api/nearest", params=params)
    assert r.status_code == 400, r.text
    assert fragment in r.json()["detail"]


def test_recent_context_window_and_hotlist(client, conn):
    """Events within R metres and T minutes before `at` are listed (newest first); ALPR reads only when
    the plate is hotlisted, and such an answer is audited."""
    from datetime import datetime, timedelta, timezone

    from services.ingest.pipeline import ingest_rows
    lon, lat = -76.4800, 39.1700  # a quiet corner of the service area
    at = datetime.now(timezone.utc).replace(microsecond=0)
    tag = f"rc{random.randrange(10**6)}"
    plate = f"HOT{random.randrange(10**4):04d}"
    conn.execute("INSERT INTO hotlists (plate, state, reason) VALUES (%s, '', 'stolen vehicle') "
                 "ON CONFLICT DO NOTHING", (plate,))

    def pos(dist_m, bearing=45.0):
        x, y, _ = fov.GEOD.fwd(lon, lat, bearing, dist_m)
        return {"lon": x, "lat": y}

    def t(minutes):
        return (at - timedelta(minutes=minutes)).isoformat()
    cases = {  # id: (feed, row, expected in the answer)
        f"{tag}-g1": ("gunshot", {"observed_at": t(10), **pos(100)}, True),
        f"{tag}-c1": ("call", {"observed_at": t(30), **pos(400, 200)}, True),
        f"{tag}-far": ("cad", {"observed_at": t(5), **pos(600)}, False),
        f"{tag}-old": ("gunshot", {"observed_at": t(120), **pos(100)}, False),
        f"{tag}-after": ("gunshot", {"observed_at": t(-5), **pos(100)}, False),
        f"{tag}-hot": ("alpr", {"observed_at": t(3), "plate": plate, **pos(50)}, True),
        f"{tag}-cold": ("alpr", {"observed_at": t(4), "plate": "NOTHOT1", **pos(50)}, False),
    }
    for fid, (feed, row, _) in cases.items():
        assert ingest_rows(conn, feed, [{"id": fid, **row}], origin="synth").accepted == 1
    n_audit = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'proximity.nearest'").fetchone()[0]
    q = {"lon": lon, "lat": lat, "cameras": 0, "units": 0, "recent_m": 500, "recent_min": 60, "at": at.isoformat()}
    # without a stated purpose the hotlisted plate is left out (and nothing is audited)
    plain = client.get("/api/nearest", params=q).json()
    assert plain["plates_withheld"] == 1 and all(e["kind"] != "alpr_read" for e in plain["recent"])
    r = client.get("/api/nearest", params=q, headers=PURPOSE)
    assert r.status_code == 200, r.text
    recent = r.json()["recent"]
    ids = dict(conn.execute("SELECT feed_id, id FROM events WHERE feed_id LIKE %s", (f"{tag}-%",)).fetchall())
    expected = {ids[f] for f, (_, _, inside) in cases.items() if inside}
    assert {e["id"] for e in recent} == expected
    times = [e["observed_at"] for e in recent]
    assert times == sorted(times, reverse=True)
    hot = next(e for e in recent if e["kind"] == "alpr_read")
    assert hot["plate"] == plate and hot["hotlist"] == "stolen vehicle" and abs(hot["distance_m"] - 50) < 0.2
    assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'proximity.nearest'").fetchone()[0] == n_audit + 1


def test_knn_overfetch_falls_back_to_an_exact_scan(client, conn):
    """Planar KNN in degrees prefers north-south neighbours (a degree of longitude is shorter): 11
    cameras 110 m north come before one 100 m east, which is the nearest in metres and must win."""
    lon, lat = -76.4700, 39.1600
    rows = [(f"KNN-N{i}", *fov.GEOD.fwd(lon, lat, 0.0, 110.0 + i * 0.1)[:2], 0.0) for i in range(11)]
    rows.append(("KNN-E", *fov.GEOD.fwd(lon, lat, 90.0, 100.0)[:2], 90.0))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO cameras (id, name, heading_deg, fov_deg, range_m, geom) "
                        "VALUES (%s, 'knn', %s, 40, 300, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                        [(cid, h, x, y) for cid, x, y, h in rows])
    try:
        r = client.get("/api/nearest", params={"lon": lon, "lat": lat, "cameras": 1, "units": 0, "recent_m": 0})
        [cam] = r.json()["cameras"]
        assert cam["id"] == "KNN-E" and cam["sees_location"] is False and abs(cam["distance_m"] - 100) < 0.11
        cams = [fov.CameraView(cid, x, y, h, 40.0, 300.0) for cid, x, y, h in rows]
        assert fov.rank_cameras(cams, lon, lat, 1, 1500, 150)[0].camera.id == "KNN-E"
    finally:
        conn.execute("DELETE FROM cameras WHERE id LIKE 'KNN-%'")


def test_recent_context_leaves_out_the_incident_asked_about(client, conn):
    """A CAD integration asking about the incident it just sent (event_id=) does not get that incident
    back as 'recent nearby' at 0 m; without event_id it is listed like any other event."""
    from datetime import datetime, timezone

    from services.ingest.pipeline import ingest_rows
    lon, lat = -76.4850, 39.1750
    fid = f"self{random.randrange(10**6)}"
    ingest_rows(conn, "cad", [{"id": fid, "observed_at": datetime.now(timezone.utc).isoformat(), "type": "SELF",
                               "priority": 2, "lon": lon, "lat": lat}], origin="test")
    eid = conn.execute("SELECT id FROM event_keys WHERE feed = 'cad' AND feed_id = %s", (fid,)).fetchone()[0]
    plain = client.get("/api/nearest", params={"lon": lon, "lat": lat, "units": 0, "cameras": 0}).json()
    assert eid in [r["id"] for r in plain["recent"]]
    own = client.get("/api/nearest", params={"lon": lon, "lat": lat, "units": 0, "cameras": 0, "event_id": eid})
    assert own.status_code == 200 and eid not in [r["id"] for r in own.json()["recent"]]
    assert client.get("/api/nearest", params={"lon": lon, "lat": lat, "event_id": 0}).status_code == 400  # a bad query parameter
