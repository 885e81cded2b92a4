"""Geocoder against the demo city in PostGIS: each match type, typos, no-match, reverse, API, ingest.

Expected positions come from the reference tables themselves (address points, segments, named
intersections) and are checked with pyproj/shapely in EPSG:26985 (metres), not from the geocoder.
"""
from __future__ import annotations

import csv
import gzip

import psycopg
import pytest
import shapely
from pyproj import Transformer

from geo import geocode as G
from geo.address import split_street
from services.settings import get_settings

_TO_M = Transformer.from_crs(4326, 26985, always_xy=True)


def metric(lon: float, lat: float) -> shapely.Point:
    return shapely.Point(*_TO_M.transform(lon, lat))


def metric_line(wkt: str) -> shapely.LineString:
    g = shapely.from_wkt(wkt)
    return shapely.LineString([_TO_M.transform(x, y) for x, y in g.coords])


def dist_m(r: G.GeocodeResult, lon: float, lat: float) -> float:
    return metric(r.lon, r.lat).distance(metric(lon, lat))


class _Rollback(Exception):
    pass


def test_sql_and_python_normalise_reference_names_alike(conn):
    names = [r[0] for r in conn.execute(
        "SELECT DISTINCT street FROM addresses UNION "
        "SELECT DISTINCT btrim(unnest(string_to_array(name, ' & '))) FROM intersections")]
    sql = dict(conn.execute(
        "SELECT n, geocode_key(p.predir, p.name, p.stype, p.sufdir) FROM unnest(%s::text[]) n, "
        "LATERAL geocode_split(n) p", (names,)).fetchall())
    differ = [(n, split_street(n).key, sql[n]) for n in names if split_street(n).key != sql[n]]
    assert len(names) > 4000 and differ == []


def test_address_points_match_exactly(conn):
    rows = conn.execute("SELECT number, street, ST_X(geom), ST_Y(geom) FROM addresses "
                        "ORDER BY md5(id) LIMIT 25").fetchall()
    for number, street, x, y in rows:
        r = G.geocode_best(conn, f"{number} {street}")
        assert r.ok and r.match_type == "address_point" and r.score == 1.0, (number, street, r)
        assert dist_m(r, x, y) < 0.5


def _range_cases(conn, limit=8):
    """Segments of streets without address points, opposite parity on each side, unique number."""
    return conn.execute("""
        SELECT g.key, g.l_from, g.l_to, g.r_from, g.r_to, ST_AsText(s.geom)
        FROM geo_segments g JOIN streets s ON s.id = g.street_id
        WHERE NOT g.alley AND g.l_to - g.l_from >= 20 AND g.r_to - g.r_from >= 20
          AND g.l_from %% 2 = 1 AND g.l_to %% 2 = 1 AND g.r_from %% 2 = 0 AND g.r_to %% 2 = 0
          AND g.key ~ '^[NSEW] ' AND ST_Length(s.geom::geography) > 60
          AND NOT EXISTS (SELECT 1 FROM geo_addresses a WHERE a.key = g.key)
          AND NOT EXISTS (SELECT 1 FROM geo_segments o WHERE o.key = g.key AND o.street_id <> g.street_id
                          AND greatest(o.l_from, o.l_to, o.r_from, o.r_to) >= least(g.l_from, g.r_from)
                          AND least(o.l_from, o.r_from) <= greatest(g.l_to, g.r_to))
        ORDER BY md5(g.key) LIMIT %s""", (limit,)).fetchall()


def _side(line: shapely.LineString, p: shapely.Point) -> int:
    """+1 left of the digitised direction, -1 right (cross product at the nearest point)."""
    t = line.project(p)
    a, b = line.interpolate(max(t - 1, 0)), line.interpolate(min(t + 1, line.length))
    cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
    return 1 if cross > 0 else -1


def _calibration(conn) -> tuple[float, float, float, float]:
    return conn.execute("SELECT range_a, range_b, max_shift_m, offset_m FROM geocode_calibration").fetchone()


def _calibrated_m(u: float, length: float, cal) -> float:
    """Metres along a rising range where the calibration puts fraction u (as documented in
    sql/migrations/210: a + b * u, moved at most max_shift_m from the linear position)."""
    a, b, cap, _ = cal
    return min(max(u * length + max(-cap, min(cap, (a + (b - 1) * u) * length)), 0.0), length)


def test_range_interpolation_side_parity_and_offset(conn):
    cases = _range_cases(conn)
    assert len(cases) >= 5
    cal = _calibration(conn)
    for key, lf, lt, rf, rt, wkt in cases:
        line = metric_line(wkt)
        for number, side, f, t in ((lf + 2 * ((lt - lf) // 4), 1, lf, lt), (rf + 2 * ((rt - rf) // 4), -1, rf, rt)):
            r = G.geocode_best(conn, f"{number} {key}")
            assert r.ok and r.match_type == "range", (number, key, r)
            p = metric(r.lon, r.lat)
            assert abs(line.distance(p) - cal[3]) < 3               # the calibrated setback
            assert _side(line, p) == side, (number, key)            # odd left, even right here
            expected = _calibrated_m((number - f) / (t - f), line.length, cal) / line.length
            assert abs(line.project(p, normalized=True) - expected) < 0.1


def test_range_calibration_comes_from_the_address_points(conn):
    """Houses stand back from the street and rarely fill a block's whole range: the calibration
    measured from the city's points says so (positions pulled in from the range ends, a setback
    near the points' median distance); without enough points it is plain linear interpolation."""
    a, b, cap, offset = _calibration(conn)
    assert 0.1 < a < 0.45 and 0.2 < b < 0.9 and 10 <= cap and 15 < offset < 30
    pts = conn.execute("""SELECT ST_AsText(a.geom), ST_AsText(s.geom) FROM geo_addresses a
        CROSS JOIN LATERAL (SELECT s.geom FROM geo_segments g JOIN streets s ON s.id = g.street_id
                            WHERE g.key = a.key ORDER BY s.geom <-> a.geom LIMIT 1) s""").fetchall()
    dists = sorted(metric_line(sw).distance(shapely.Point(*_TO_M.transform(*shapely.from_wkt(pw).coords[0])))
                   for pw, sw in pts)
    assert abs(dists[len(dists) // 2] - offset) < 3
    try:
        with conn.transaction():
            conn.execute("DELETE FROM addresses")
            assert conn.execute("SELECT range_a, range_b, offset_m, points FROM geocode_calibration").fetchone() \
                == (0, 1, 12, 0)
            raise _Rollback
    except _Rollback:
        pass


def test_calibrated_ranges_place_withheld_houses_nearer(conn):
    """Address points of 40 streets withheld (the calibration then comes from the rest): their
    range estimates land nearer the true points than linear interpolation 12 m out would."""
    streets = [r[0] for r in conn.execute(
        "SELECT street FROM addresses GROUP BY street HAVING count(*) >= 3 ORDER BY md5(street) LIMIT 40")]
    try:
        with conn.transaction():
            pts = conn.execute("""SELECT a.number, a.street, ST_X(a.geom), ST_Y(a.geom) FROM addresses a
                                  WHERE a.street = ANY(%s)""", (streets,)).fetchall()
            conn.execute("DELETE FROM addresses WHERE street = ANY(%s)", (streets,))
            got, linear = [], []
            for number, street, x, y in pts:
                r = G.geocode_best(conn, f"{number} {street}")
                if not (r.ok and r.match_type == "range"):
                    continue
                seg = conn.execute("""SELECT g.l_from, g.l_to, g.r_from, g.r_to, ST_AsText(s.geom)
                    FROM geo_segments g JOIN streets s ON s.id = g.street_id
                    WHERE g.key = %(k)s AND (%(n)s BETWEEN g.l_from AND g.l_to OR %(n)s BETWEEN g.r_from AND g.r_to)
                    ORDER BY s.geom <-> ST_Point(%(x)s, %(y)s, 4326) LIMIT 1""",
                                   {"k": split_street(street).key, "n": number, "x": r.lon, "y": r.lat}).fetchone()
                if seg is None:
                    continue
                lf, lt, rf, rt, wkt = seg
                f, t, side = (lf, lt, 1) if lf % 2 == number % 2 and lf <= number <= lt else (rf, rt, -1)
                if t <= f or not f <= number <= t or f % 2 != number % 2:
                    continue                                    # only clear cases: rising, parity fits
                line = metric_line(wkt)
                along = line.interpolate((number - f) / (t - f), normalized=True)
                ahead = line.interpolate(min(line.project(along) + 1, line.length))
                behind = line.interpolate(max(line.project(along) - 1, 0))
                dx, dy = ahead.x - behind.x, ahead.y - behind.y
                n = (dx * dx + dy * dy) ** 0.5 or 1.0
                lin = shapely.Point(along.x - side * 12 * dy / n, along.y + side * 12 * dx / n)
                truth = metric(x, y)
                got.append(metric(r.lon, r.lat).distance(truth))
                linear.append(lin.distance(truth))
            raise _Rollback
    except _Rollback:
        pass
    assert len(got) >= 20
    got.sort(); linear.sort()
    assert got[len(got) // 2] < linear[len(linear) // 2]
    assert sum(d <= 50 for d in got) > sum(d <= 50 for d in linear)


def test_interpolates_between_neighbouring_address_points(conn):
    lo_num, hi_num, num, key, lo_x, lo_y, hi_x, hi_y, street = conn.execute("""
        SELECT lo.number, hi.number, m.number, m.key, ST_X(lo.geom), ST_Y(lo.geom), ST_X(hi.geom),
               ST_Y(hi.geom), a.street
        FROM geo_addresses m JOIN addresses a ON a.id = m.id,
        LATERAL (SELECT * FROM geo_addresses x WHERE x.key = m.key AND x.number < m.number
                 AND x.number >= m.number - 100 AND x.number % 2 = m.number % 2 ORDER BY x.number DESC LIMIT 1) lo,
        LATERAL (SELECT * FROM geo_addresses x WHERE x.key = m.key AND x.number > m.number
                 AND x.number <= m.number + 100 AND x.number % 2 = m.number % 2 ORDER BY x.number LIMIT 1) hi
        WHERE m.number % 100 <> 0 AND ST_Distance(lo.geom::geography, hi.geom::geography) BETWEEN 20 AND 200
        ORDER BY md5(m.id) LIMIT 1""").fetchone()
    try:
        with conn.transaction():
            conn.execute("DELETE FROM addresses WHERE number = %s AND street = %s", (num, street))
            r = G.geocode_best(conn, f"{num} {street}")
            raise _Rollback
    except _Rollback:
        pass
    assert r.ok and r.match_type == "address_interpolated"
    seg = shapely.LineString([metric(lo_x, lo_y), metric(hi_x, hi_y)])
    p = metric(r.lon, r.lat)
    assert seg.distance(p) < 0.5
    assert abs(seg.project(p, normalized=True) - (num - lo_num) / (hi_num - lo_num)) < 0.01


def test_extrapolates_beyond_the_last_address_point(conn):
    """The highest-numbered point of a run, withheld: continue the line of its two predecessors."""
    num, street, key = conn.execute("""
        SELECT m.number, a.street, m.key FROM geo_addresses m JOIN addresses a ON a.id = m.id
        WHERE m.number % 100 <> 0
          AND NOT EXISTS (SELECT 1 FROM geo_addresses x WHERE x.key = m.key AND x.number > m.number
                          AND x.number <= m.number + 200)
          AND (SELECT count(*) FROM geo_addresses x WHERE x.key = m.key AND x.number % 2 = m.number % 2
               AND x.number BETWEEN m.number - 6 AND m.number - 2) >= 2
        ORDER BY md5(m.id) LIMIT 1""").fetchone()
    try:
        with conn.transaction():
            conn.execute("DELETE FROM addresses WHERE number = %s AND street = %s", (num, street))
            p1, p2 = conn.execute(
                "SELECT ST_X(geom), ST_Y(geom) FROM geo_addresses WHERE key = %s AND number %% 2 = %s "
                "AND number < %s ORDER BY number DESC LIMIT 2", (key, num % 2, num)).fetchall()
            r = G.geocode_best(conn, f"{num} {street}")
            raise _Rollback
    except _Rollback:
        pass
    assert r.ok and r.match_type == "address_interpolated", r
    a, b, p = metric(*p2), metric(*p1), metric(r.lon, r.lat)
    if a.distance(b) > 1:
        # on the continuation of p2 -> p1, beyond p1
        ext = shapely.LineString([a, shapely.Point(b.x + 10 * (b.x - a.x), b.y + 10 * (b.y - a.y))])
        assert ext.distance(p) < 0.5 and a.distance(p) >= a.distance(b) - 0.5
    else:
        assert b.distance(p) < 1


def test_intersection_from_the_table_in_every_form(conn):
    iid, name, x, y = conn.execute(
        "SELECT id, name, ST_X(geom), ST_Y(geom) FROM intersections WHERE name ~ '^[NSEW] [A-Z ]+ (ST|AVE) & [NSEW] [A-Z ]+ (ST|AVE)$' "
        "ORDER BY md5(id::text) LIMIT 1").fetchone()
    a, b = name.split(" & ")
    for text in (f"{a} & {b}", f"{b} and {a}", f"{a} / {b}", f"{a.lower()} at {b.lower()}"):
        r = G.geocode_best(conn, text)
        assert r.ok and r.match_type == "intersection", (text, r)
        assert dist_m(r, x, y) < 60, text


def test_intersection_from_the_street_network_when_not_in_the_table(conn):
    """Withhold named intersections: the crossing of the two centrelines must still be found."""
    rows = conn.execute(
        "SELECT id, name, ST_X(geom), ST_Y(geom) FROM intersections i WHERE name ~ '^[A-Z0-9 ]+ (ST|AVE|ROAD) & [A-Z0-9 ]+ (ST|AVE|ROAD)$' "
        "AND EXISTS (SELECT 1 FROM geo_crossings c JOIN geo_intersection_parts p ON p.intersection_id = i.id "
        "            AND p.key = c.key_a) ORDER BY md5(id::text) LIMIT 10").fetchall()
    results = []
    try:
        with conn.transaction():
            conn.execute("DELETE FROM intersections WHERE id = ANY(%s)", ([r[0] for r in rows],))
            results = G.geocode_many(conn, [r[1] for r in rows])
            raise _Rollback
    except _Rollback:
        pass
    near = [r.ok and r.match_type == "intersection" and dist_m(r, x, y) < 40 for r, (_, _, x, y) in zip(results, rows)]
    assert sum(near) >= 8, list(zip([r[1] for r in rows], results))


def test_block_forms_agree_and_lie_on_the_block(conn):
    forms = ["1500 blk W North Av", "15XX W NORTH AVE", "015XX W NORTH AVE", "1500 block of West North Avenue",
             "1500-1599 W North Ave"]
    res = G.geocode_many(conn, forms)
    assert all(r.ok and r.match_type == "block" for r in res), res
    assert max(dist_m(r, res[0].lon, res[0].lat) for r in res) < 0.5
    d = conn.execute("SELECT ST_Distance(ST_Collect(geom)::geography, ST_Point(%s, %s, 4326)::geography) FROM streets "
                     "WHERE fullname = 'W NORTH AVE' AND block_num = 1500", (res[0].lon, res[0].lat)).fetchone()[0]
    assert d < 1.0


def test_police_hundred_form_is_between_the_house_and_the_block(conn):
    """'600 N LUZERNE AV' reads as house 600 and as the 600 block: answered halfway between them."""
    from geo.address import parse
    from geo.geocode_match import search
    a, b = G.geocode_many(conn, ["600 N LUZERNE AV", "600 blk N Luzerne Ave"])
    assert a.ok and a.match_type == "block" and b.ok and b.match_type == "block"
    house = max((c for c in search(conn, [parse("600 N LUZERNE AV")])[0] if c.match_type in G.HUNDRED_HOUSE),
                key=lambda c: c.score)
    assert house.match_type == "range"              # no address points there: the two readings blend
    mid = metric((house.lon + b.lon) / 2, (house.lat + b.lat) / 2)
    assert metric(a.lon, a.lat).distance(mid) < 0.5 and dist_m(a, b.lon, b.lat) > 5
    zero = G.geocode_best(conn, "UNIT BLK S STOCKTON ST")
    assert zero.ok and zero.match_type == "block" and dist_m(zero, *_xy(G.geocode_best(conn, "0 blk S Stockton St"))) < 0.5


def test_hundred_number_among_the_citys_points_is_the_house(conn):
    """Where the city's points place house 2400 (numbers both sides of it), the police block form
    is not blended with the block face: that estimate answers."""
    from geo.address import parse
    from geo.geocode_match import search
    rows = conn.execute("""
        SELECT DISTINCT x.key, (x.number / 100 + 1) * 100 AS h FROM geo_addresses x
        WHERE EXISTS (SELECT 1 FROM geo_addresses y WHERE y.key = x.key
                      AND y.number BETWEEN (x.number / 100 + 1) * 100 + 2 AND (x.number / 100 + 1) * 100 + 60)
          AND x.number >= (x.number / 100 + 1) * 100 - 60
          AND NOT EXISTS (SELECT 1 FROM geo_addresses y WHERE y.key = x.key AND y.number = (x.number / 100 + 1) * 100)
        ORDER BY 1, 2 LIMIT 5""").fetchall()
    assert len(rows) >= 3
    for key, h in rows:
        text = f"{h} {key}"
        r = G.geocode_best(conn, text)
        house = max((c for c in search(conn, [parse(text)])[0] if c.match_type in G.HUNDRED_HOUSE),
                    key=lambda c: c.score)
        assert house.match_type == "address_interpolated", (text, house)
        assert r.ok and r.match_type == "block" and dist_m(r, house.lon, house.lat) < 0.5, (text, r)


def _xy(r):
    return r.lon, r.lat


def test_typo_scores_lower_but_lands_on_the_same_street(conn):
    good, typo = G.geocode_many(conn, ["2301 E MONUMENT ST", "2301 E MONUMNET ST"])
    assert good.ok and typo.ok and typo.score < good.score
    assert typo.normalized == good.normalized and dist_m(typo, good.lon, good.lat) < 0.5
    wild = G.geocode_best(conn, "2301 E MXNXMXNT ST")
    assert not wild.ok


def test_missing_directional_that_is_ambiguous_is_no_match(conn):
    both = conn.execute("""
        SELECT count(DISTINCT key) FROM geo_segments WHERE key IN ('E PRATT ST', 'W PRATT ST')
          AND (750 BETWEEN least(l_from, l_to) AND greatest(l_from, l_to)
            OR 750 BETWEEN least(r_from, r_to) AND greatest(r_from, r_to))""").fetchone()[0]
    assert both == 2
    r = G.geocode_best(conn, "751 PRATT ST")
    assert not r.ok and r.reason.startswith("ambiguous")
    assert G.geocode_best(conn, "751 W PRATT ST").ok


@pytest.mark.parametrize("text, reason", [
    ("123 NOWHERE LN", "not found"),
    ("99999 W NORTH AVE", "not found"),
    ("W NORTH AVE", "no house number"),
    ("", "empty"),
    ("ZZZQ AVE & XXYYQ ST", "no crossing"),
])
def test_no_match_carries_a_reason(conn, text, reason):
    r = G.geocode_best(conn, text)
    assert not r.ok and r.lon is None and reason in r.reason
    assert G.geocode(conn, text) == []


def test_geocode_many_equals_one_by_one(conn):
    texts = ["1500 blk W North Av", "N Charles St & E 25th St", "2300 E MONUMENT ST APT 2", "nowhere",
             "600 N LUZERNE AV", "", "2301 E MONUMNET ST", "751 PRATT ST"]
    assert G.geocode_many(conn, texts) == [G.geocode_best(conn, t) for t in texts]


def test_reverse_finds_the_address_point_and_the_block_face(conn):
    number, street, x, y, key = conn.execute(
        "SELECT a.number, a.street, ST_X(a.geom), ST_Y(a.geom), g.key FROM addresses a JOIN geo_addresses g "
        "USING (id) ORDER BY md5(a.id) LIMIT 1").fetchone()
    r = G.reverse(conn, x + 0.00002, y)
    assert r.match_type == "address_point" and r.normalized == f"{number} {key}" and r.distance_m < 5
    key, lf, lt, rf, rt, wkt = _range_cases(conn, 1)[0]
    mid = shapely.from_wkt(wkt).interpolate(0.5, normalized=True)
    r = G.reverse(conn, mid.x, mid.y)
    number = int(r.normalized.split()[0])
    assert r.match_type == "range" and r.normalized.endswith(key)
    assert min(lf, rf) <= number <= max(lt, rt) and r.distance_m < 1


def test_api(client):
    assert client.get("/api/geocode", params={"q": ""}).status_code == 400
    assert client.get("/api/geocode", params={"q": "   "}).status_code == 400
    assert client.get("/api/geocode").status_code == 400
    r = client.get("/api/geocode", params={"q": "123 NOWHERE LN"})
    assert r.status_code == 200 and r.json() == []
    r = client.get("/api/geocode", params={"q": "1500 blk W North Av", "limit": 3})
    best = r.json()[0]
    assert best["match_type"] == "block" and best["score"] >= G.THRESHOLD and -77 < best["lon"] < -76
    r = client.post("/api/geocode", json=["600 N LUZERNE AV", "", "nowhere at all"])
    body = r.json()
    assert r.status_code == 200 and len(body) == 3 and body[0]["lon"] and body[1]["reason"] == "empty address"
    assert client.post("/api/geocode", json={"q": "x"}).status_code == 422
    r = client.get("/api/reverse", params={"lon": body[0]["lon"], "lat": body[0]["lat"]})
    assert r.status_code == 200 and "LUZERNE" in r.json()["normalized"]
    assert client.get("/api/reverse", params={"lon": 200, "lat": 39.3}).status_code == 400


def test_demo_address_only_arrests_go_through_the_geocoder(conn):
    """The demo's arrests without coordinates are placed by ingest exactly as geocode_many decides."""
    path = get_settings().data_dir / "arrests_weapons_2025.csv.gz"
    with gzip.open(path, "rt", newline="") as f:
        only_text = {r["incident_id"]: r["incident_location"] or r["arrest_location"] for r in csv.DictReader(f)
                     if not r["lat"] and (r["incident_location"] or r["arrest_location"]).strip()}
    rows = conn.execute(
        "SELECT e.feed_id, e.loc_method, ST_X(e.geom), ST_Y(e.geom), ST_Within(e.geom, s.geom) "
        "FROM events e, service_area s WHERE e.feed = 'cad' AND e.feed_id = ANY(%s)", (list(only_text),)).fetchall()
    assert len(rows) == len(only_text) > 20
    expected = G.geocode_many(conn, [only_text[r[0]] for r in rows])
    for (fid, method, x, y, inside), g in zip(rows, expected):
        assert method == ("geocoded" if g.ok else "failed"), (only_text[fid], g)
        if g.ok:
            assert inside and abs(x - g.lon) < 1e-9 and abs(y - g.lat) < 1e-9
        else:
            assert g.reason  # e.g. '400 BROADWAY ST': both N and S BROADWAY have a 400 block
    assert sum(g.ok for g in expected) >= len(rows) // 3


def test_place_names_from_the_stations_table(conn):
    name, x, y = conn.execute("SELECT name, ST_X(geom), ST_Y(geom) FROM stations ORDER BY id DESC LIMIT 1").fetchone()
    r = G.geocode_best(conn, name.lower())
    assert r.ok and r.match_type == "place" and dist_m(r, x, y) < 0.5
    assert not G.geocode_best(conn, "Gotham City Police Plaza").ok


# --- junctions from the street network (geocode_refresh_crossings): nodes, offset T-junctions, unnoded T-junctions,
# gaps, pairs that meet twice. Nodes are computed here from the streets rows with shapely.

def _lines(conn, fullname: str) -> list[shapely.LineString]:
    return [metric_line(w) for (w,) in conn.execute(
        "SELECT ST_AsText(geom) FROM streets WHERE fullname = %s", (fullname,))]


def _shared_nodes(conn, a: str, b: str) -> list[shapely.Point]:
    """Segment end points the two streets have in common (exact coordinates), in metres."""
    ends = []
    for name in (a, b):
        ends.append({c for (w,) in conn.execute("SELECT ST_AsText(geom) FROM streets WHERE fullname = %s", (name,))
                     for c in (shapely.from_wkt(w).coords[0], shapely.from_wkt(w).coords[-1])})
    return [metric(x, y) for x, y in ends[0] & ends[1]]


def _geocode_without_named(conn, like: tuple[str, str], texts: list[str]) -> list:
    """Geocode with the named intersections of the pair withheld (rolled back afterwards)."""
    out = []
    try:
        with conn.transaction():
            conn.execute("DELETE FROM intersections WHERE name ILIKE %s AND name ILIKE %s",
                         (f"%{like[0]}%", f"%{like[1]}%"))
            out = G.geocode_many(conn, texts)
            raise _Rollback
    except _Rollback:
        pass
    return out


def test_offset_t_junction_answers_between_its_two_nodes(conn):
    """Findlay Rd meets Seidel Ave at two nodes ~57 m apart, both named by the city: the answer is
    within 30 m of each, with and without the named points."""
    nodes = _shared_nodes(conn, "FINDLAY ROAD", "SEIDEL AVE")
    assert len(nodes) == 2 and 40 < nodes[0].distance(nodes[1]) < 60
    named = G.geocode_best(conn, "Findlay Rd & Seidel Ave")
    (withheld,) = _geocode_without_named(conn, ("FINDLAY", "SEIDEL"), ["SEIDEL AVE at FINDLAY ROAD"])
    for r in (named, withheld):
        assert r.ok and r.match_type == "intersection", r
        assert max(metric(r.lon, r.lat).distance(n) for n in nodes) <= 30, r


def test_t_junction_the_data_did_not_node(conn):
    """Washingtonville Dr ends on Falls Rd without a shared node: the end on the other line is the junction."""
    assert _shared_nodes(conn, "FALLS ROAD", "WASHINGTONVILLE DR") == []
    falls = shapely.union_all(_lines(conn, "FALLS ROAD"))
    ends = [shapely.Point(c) for ln in _lines(conn, "WASHINGTONVILLE DR") for c in (ln.coords[0], ln.coords[-1])]
    touching = [e for e in ends if e.distance(falls) <= 3]
    assert touching
    (r,) = _geocode_without_named(conn, ("FALLS ROAD", "WASHINGTONVILLE"), ["FALLS RD & WASHINGTONVILLE DR"])
    assert r.ok and r.match_type == "intersection", r
    assert min(metric(r.lon, r.lat).distance(e) for e in touching) < 3


def test_gap_between_a_dead_end_and_the_other_street_scores_lower(conn):
    """Whetstone Way stops ~20-30 m short of Key Hwy: a junction across the gap, on Key Hwy, at a lower score."""
    assert _shared_nodes(conn, "WHETSTONE WAY", "KEY HWY") == []
    key = shapely.union_all(_lines(conn, "KEY HWY"))
    ends = [shapely.Point(c) for ln in _lines(conn, "WHETSTONE WAY") for c in (ln.coords[0], ln.coords[-1])]
    gaps = [e for e in ends if 3 < e.distance(key) <= 30]
    assert gaps
    (r,) = _geocode_without_named(conn, ("WHETSTONE", "KEY HWY"), ["WHETSTONE WAY & KEY HWY"])
    p = metric(r.lon, r.lat)
    assert r.ok and r.match_type == "intersection" and r.score <= 0.85 + 1e-9, r
    assert p.distance(key) < 1 and min(p.distance(e) for e in gaps) <= 30
    noded = G.geocode_best(conn, "FINDLAY RD & SEIDEL AVE")
    assert noded.score > r.score


def test_pair_meeting_twice_far_apart_is_ambiguous(conn):
    """Eldone Rd meets Parkton St at two places ~480 m apart: no confident answer, both candidates offered."""
    nodes = _shared_nodes(conn, "ELDONE ROAD", "PARKTON ST")
    assert len(nodes) == 2 and nodes[0].distance(nodes[1]) > 300
    best = G.geocode_best(conn, "ELDONE RD & PARKTON ST")
    assert not best.ok and "ambiguous" in (best.reason or ""), best
    assert G.geocode(conn, "ELDONE RD & PARKTON ST") == []
    cands = G.geocode(conn, "ELDONE RD & PARKTON ST", min_score=0.0)
    assert len(cands) == 2 and all(c.score < G.THRESHOLD for c in cands)
    near = sorted(min(range(2), key=lambda i: metric(c.lon, c.lat).distance(nodes[i])) for c in cands)
    assert near == [0, 1] and all(min(metric(c.lon, c.lat).distance(n) for n in nodes) < 30 for c in cands)


def test_block_face_cut_by_an_unnumbered_piece_is_one_face(conn):
    """The 5400 block of Bucknell Rd is two numbered stretches joined by unnumbered pieces: the
    answer is the middle of the whole face, so every part of the block is within half its length."""
    rows = conn.execute(
        "SELECT ST_AsText(geom), l_from, l_to, r_from, r_to, coalesce(block_num, -1) FROM streets "
        "WHERE fullname = 'BUCKNELL ROAD'").fetchall()
    block = [metric_line(w) for w, *rng, bn in rows
             if bn == 5400 or (max(rng) >= 5400 and min([v for v in rng if v] or [10 ** 9]) < 5500)]
    links = [metric_line(w) for w, *rng, bn in rows if not any(rng) and bn <= 0]
    groups = shapely.get_parts(shapely.union_all([ln.buffer(15) for ln in block]))
    assert len(block) >= 2 and len(groups) >= 2       # the numbered stretches do not touch
    r = G.geocode_best(conn, "5400 BLOCK BUCKNELL RD")
    assert r.ok and r.match_type == "block", r
    p = metric(r.lon, r.lat)
    assert min(ln.distance(p) for ln in block) < 1
    half = (sum(ln.length for ln in block) + sum(ln.length for ln in links if
                                                min(ln.distance(b) for b in block) < 100)) / 2
    assert max(p.distance(shapely.Point(c)) for ln in block for c in ln.coords) <= half + 30


def test_neighborhood_names_are_places_but_streets_named_after_them_are_not(conn):
    r = G.geocode_best(conn, "Patterson Park, Baltimore MD 21224")
    inside = conn.execute("SELECT ST_Contains(geom, ST_Point(%s, %s, 4326)) FROM neighborhoods "
                          "WHERE name = 'Patterson Park'", (r.lon, r.lat)).fetchone()
    assert r.ok and r.match_type == "place" and inside == (True,), r
    street = G.geocode_best(conn, "PATTERSON PARK AV")      # BPD's street-only text: no location
    assert not street.ok and street.match_type is None, street


def test_between_two_cross_streets_is_halfway_along_the_first(conn):
    ab, ac = G.geocode_many(conn, ["W NORTH AVE & N FULTON AVE", "W NORTH AVE & N MONROE ST"])
    r = G.geocode_best(conn, "W North Ave between N Fulton Ave and N Monroe St")
    assert ab.ok and ac.ok and r.ok and r.match_type == "block", r
    assert r.normalized == "W NORTH AVE BETWEEN N FULTON AVE & N MONROE ST"
    p = metric(r.lon, r.lat)
    da, dc = p.distance(metric(ab.lon, ab.lat)), p.distance(metric(ac.lon, ac.lat))
    assert da > 20 and abs(da - dc) < 0.1 * (da + dc), (da, dc)
    assert min(p.distance(ln) for ln in _lines(conn, "W NORTH AVE")) < 1.0
    # one cross street unknown: the other crossing answers, scored lower, and says so
    one = G.geocode_best(conn, "W North Ave btwn N Fulton Ave & Zzyzx Rd")
    assert one.ok and one.score < ab.score and dist_m(one, ab.lon, ab.lat) < 0.5 and "ZZYZX" in one.reason
    assert not G.geocode_best(conn, "Zzyzx Rd between Qqq St and Www St").ok


def test_near_readings_of_an_ambiguous_text_answer_between_them(conn):
    """'29 NORTH AVE': 29 W and 29 E North Ave face each other across Charles St."""
    w, e = G.geocode_many(conn, ["29 W NORTH AVE", "29 E NORTH AVE"])
    assert w.ok and e.ok and dist_m(w, e.lon, e.lat) <= 2 * G.NEAR_READINGS_M
    r = G.geocode_best(conn, "29 NORTH AVE")
    assert r.ok and G.THRESHOLD <= r.score < max(w.score, e.score), r
    assert max(dist_m(r, w.lon, w.lat), dist_m(r, e.lon, e.lat)) <= G.NEAR_READINGS_M
    assert "between the readings" in r.reason
    # far-apart readings stay no match (751 E and W Pratt St are ~1.5 km apart)
    assert not G.geocode_best(conn, "751 PRATT ST").ok


def test_mc_is_joined_in_reference_and_input_alike(conn):
    assert conn.execute("SELECT count(*) FROM geo_street_names WHERE name ~ '(^| )MC '").fetchone()[0] == 0
    spaced, joined = G.geocode_many(conn, ["2500 Mc Henry St", "2500 MCHENRY ST"])
    assert spaced.ok and (spaced.lon, spaced.lat) == (joined.lon, joined.lat)


def test_a_name_cut_at_the_front_is_read_as_the_end_of_a_longer_one(conn):
    """BPD texts lose the front of a name ('AV & ANOKA AV', 'HILL AV & BLOOM ST'); when no street crosses as
    written, the crossing streets whose name ends so are the readings, scored lower."""
    whole = conn.execute("SELECT DISTINCT key_b FROM geo_crossings WHERE key_a = 'ANOKA AVE' "
                         "AND key_b LIKE '%% AVE'").fetchall()
    assert len(whole) == 1                                   # one avenue crosses Anoka Ave
    full = G.geocode_best(conn, f"{whole[0][0]} & ANOKA AVE")
    cut = G.geocode_best(conn, "AV & ANOKA AV")
    assert cut.ok and cut.score < full.score and dist_m(cut, full.lon, full.lat) < 1, cut
    assert "end of a longer name" in cut.reason
    druid = G.geocode_best(conn, "HILL AV & BLOOM ST")
    assert druid.ok and druid.normalized == "DRUID HILL AVE & BLOOM ST", druid
    # the same name's other half (E 26TH ST at W 26TH ST) is no reading of a cut name
    assert "W 26TH ST & E 26TH ST" not in {r.normalized for r in G.geocode(conn, "ST & W 26TH ST", min_score=0)}
    assert not G.geocode_best(conn, "ZZZQ AVE & XXYYQ ST").ok


def test_reverse_prefers_the_street_the_nearest_address_point_faces(conn):
    """Beside a main road the centreline of a side street can be nearer; the city's address points say which
    street the houses face (geocode_reverse's hint). point_m=-1 keeps each point from answering for itself."""
    rows = conn.execute("""
        SELECT a.key, h.key, n.key FROM (SELECT * FROM geo_addresses ORDER BY id LIMIT 400) a
        CROSS JOIN LATERAL geocode_reverse(ST_X(a.geom), ST_Y(a.geom), -1, 200) h
        CROSS JOIN LATERAL geocode_reverse(ST_X(a.geom), ST_Y(a.geom), -1, 200, -1, 0) n""").fetchall()
    changed = [(own, hinted, nearest) for own, hinted, nearest in rows if hinted != nearest]
    assert changed, "no address point beside a nearer side street in the sample"
    assert all(hinted == own for own, hinted, _ in changed), changed[:5]


def test_parity_picks_the_segment_on_the_houses_side(conn):
    """A street the data split lengthwise (one segment per side, same hundred on both): an odd
    number goes to the segment whose range is odd, an even one to the even one, whatever order
    the segments come in."""
    cases = conn.execute("""
        SELECT a.key, a.l_from, a.l_to, b.r_from, b.r_to, ST_AsText(sa.geom), ST_AsText(sb.geom)
        FROM geo_segments a JOIN streets sa ON sa.id = a.street_id
        JOIN geo_segments b ON b.key = a.key AND b.street_id <> a.street_id JOIN streets sb ON sb.id = b.street_id
        WHERE NOT a.alley AND NOT b.alley AND a.r_from = 0 AND a.r_to = 0 AND b.l_from = 0 AND b.l_to = 0
          AND a.l_from % 2 <> b.r_from % 2 AND a.l_to % 2 = a.l_from % 2 AND b.r_to % 2 = b.r_from % 2
          AND a.l_to - a.l_from >= 6 AND b.r_to - b.r_from >= 6
          AND greatest(a.l_from, b.r_from) + 2 < least(a.l_to, b.r_to)
          AND ST_Distance(sa.geom::geography, sb.geom::geography) > 45
          AND NOT EXISTS (SELECT 1 FROM geo_addresses x WHERE x.key = a.key
                          AND x.number BETWEEN least(a.l_from, b.r_from) - 200 AND greatest(a.l_to, b.r_to) + 200)
          AND NOT EXISTS (SELECT 1 FROM geo_segments o WHERE o.key = a.key AND o.street_id NOT IN (a.street_id, b.street_id)
                          AND greatest(o.l_from, o.l_to, o.r_from, o.r_to) >= least(a.l_from, b.r_from)
                          AND least(nullif(least(o.l_from, o.r_from), 0), nullif(o.l_from, 0), nullif(o.r_from, 0))
                              <= greatest(a.l_to, b.r_to))
        ORDER BY md5(a.key || a.street_id) LIMIT 6""").fetchall()
    assert len(cases) >= 2
    for key, af, at, bf, bt, wa, wb in cases:
        lo, hi = max(af, bf), min(at, bt)
        for number, own, other in ((lo + 1, wb, wa), (lo + 2, wa, wb)) if lo % 2 == af % 2 else \
                                  ((lo + 1, wa, wb), (lo + 2, wb, wa)):
            number = min(number, hi)
            r = G.geocode_best(conn, f"{number} {key}")
            assert r.ok and r.match_type == "range", (number, key, r)
            p = metric(r.lon, r.lat)
            assert metric_line(own).distance(p) < metric_line(other).distance(p), (number, key)


def test_block_face_of_a_segment_numbered_over_several_blocks_is_the_blocks_share(conn):
    """'5300 blk' on one 600 m segment numbered 5100-6098 is the stretch the range gives 5300-5399,
    not the segment's middle."""
    from shapely.ops import substring
    cases = conn.execute("""
        SELECT g.key, g.l_from, g.l_to, ST_AsText(s.geom) FROM geo_segments g JOIN streets s ON s.id = g.street_id
        WHERE NOT g.alley AND g.l_to - g.l_from >= 400 AND g.r_to - g.r_from >= 400
          AND g.l_from / 100 = g.r_from / 100 AND g.l_to / 100 = g.r_to / 100
          AND ST_Length(s.geom::geography) > 400
          AND NOT EXISTS (SELECT 1 FROM geo_segments o WHERE o.key = g.key AND o.street_id <> g.street_id
                          AND (greatest(o.l_from, o.l_to, o.r_from, o.r_to) >= g.l_from / 100 * 100
                               AND least(nullif(least(o.l_from, o.l_to), 0), nullif(least(o.r_from, o.r_to), 0)) <= g.l_to
                               OR o.block_num BETWEEN g.l_from / 100 * 100 AND g.l_to))
        ORDER BY md5(g.key) LIMIT 5""").fetchall()
    assert len(cases) >= 3
    for key, lf, lt, wkt in cases:
        line = metric_line(wkt)
        block = lf // 100 * 100                                   # the segment's first block
        share = substring(line, max(0.0, (block - lf) / (lt - lf)), (block + 99 - lf) / (lt - lf), normalized=True)
        r = G.geocode_best(conn, f"{block} blk {key}")
        assert r.ok and r.match_type == "block", (block, key, r)
        p = metric(r.lon, r.lat)
        assert share.distance(p) < 1, (block, key)
        assert line.interpolate(0.5, normalized=True).distance(p) > 50
