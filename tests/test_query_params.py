"""One room for query parameters: the same datetime, bbox and CQL2 filter (text and JSON, spatial
included) select the same features on /ogc items and on /tiles, and a bare date is the agency-local day."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import mapbox_vector_tile
import pytest

from geo import tiles as T
from services.query.times import parse_datetime, parse_instant
from services.settings import get_settings

CENTRE = (-76.6122, 39.2904)   # downtown Baltimore: dense in the demo city
Z = 13


def _tile() -> tuple[int, int, int]:
    t = T.TMS.tile(*CENTRE, Z)
    return t.z, t.x, t.y


def _inner(bounds: tuple[float, float, float, float], f: float = 0.1) -> tuple[float, float, float, float]:
    """The box shrunk by f of its size on each side: well inside the tile, away from its buffer."""
    w, s, e, n = bounds
    dx, dy = (e - w) * f, (n - s) * f
    return w + dx, s + dy, e - dx, n - dy


def _polygon(b) -> str:
    w, s, e, n = b
    return f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"


def _busiest_local_day(conn, b) -> date:
    """The agency-local day with the most incidents inside the box (so the test has features)."""
    return conn.execute(
        "SELECT (observed_at AT TIME ZONE %s)::date d FROM cad_incidents "
        "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) GROUP BY d ORDER BY count(*) DESC, d LIMIT 1",
        (get_settings().timezone, *b)).fetchone()[0]


def ogc_ids(client, **params) -> set[int]:
    out: set[int] = set()
    r = client.get("/ogc/collections/cad_incidents/items", params={"f": "json", "limit": 10000, **params})
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        out |= {f["id"] for f in page["features"]}
        nxt = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"), None)
        if not nxt or not page["features"]:
            return out
        r = client.get(nxt)


def tile_ids(client, z, x, y, **params) -> set[int]:
    r = client.get(f"/tiles/cad_incidents/{z}/{x}/{y}.mvt", params={"thin": "false", **params})
    assert r.status_code == 200, r.text
    if not r.content:
        return set()
    layer = mapbox_vector_tile.decode(r.content).get("cad_incidents", {"features": []})
    return {f["id"] for f in layer["features"]}


def test_same_datetime_bbox_and_cql2_select_the_same_features(client, conn):
    z, x, y = _tile()
    inner = _inner(T.lonlat_bounds(z, x, y))
    day = _busiest_local_day(conn, inner)
    tz = get_settings().timezone
    types = [r[0] for r in conn.execute(
        "SELECT type FROM cad_incidents WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) GROUP BY type "
        "ORDER BY count(*) DESC LIMIT 3", inner)]
    # independent of the server: the whole local day, inside the polygon, one of three types
    want = {r[0] for r in conn.execute(
        "SELECT id FROM cad_incidents WHERE observed_at >= (%s::date)::timestamp AT TIME ZONE %s "
        "AND observed_at < (%s::date + 1)::timestamp AT TIME ZONE %s "
        "AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) AND type = ANY(%s)",
        (day, tz, day, tz, *inner, types))}
    assert want, "the demo city should have incidents downtown on its busiest day"

    text = f"S_INTERSECTS(geom, {_polygon(inner)}) AND type IN ({', '.join(repr(t) for t in types)})"
    poly = {"type": "Polygon", "coordinates": [[[inner[0], inner[1]], [inner[2], inner[1]], [inner[2], inner[3]],
                                                 [inner[0], inner[3]], [inner[0], inner[1]]]]}
    typed = {"op": "in", "args": [{"property": "type"}, types]}
    as_json = {"op": "and", "args": [{"op": "s_intersects", "args": [{"property": "geom"}, poly]}, typed]}
    # {"bbox": [...]} is the literal pygeofilter reads in the wrong order: repaired for both routes
    as_bbox = {"op": "and", "args": [{"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": list(inner)}]},
                                     typed]}
    tile_bbox = ",".join(repr(v) for v in T.lonlat_bounds(z, x, y))
    for filt, lang in ((text, "cql2-text"), (json.dumps(as_json), "cql2-json"), (json.dumps(as_bbox), "cql2-json")):
        q = {"datetime": day.isoformat(), "filter": filt, "filter-lang": lang}
        assert ogc_ids(client, bbox=tile_bbox, **q) == want, filt
        assert tile_ids(client, z, x, y, **q) == want, filt

    # an interval of dates is from the first day's start to the last day's end, on both
    q = {"datetime": f"{day.isoformat()}/{day.isoformat()}", "filter": text}
    assert ogc_ids(client, bbox=tile_bbox, **q) == want == tile_ids(client, z, x, y, **q)


def test_a_bare_date_is_the_agency_local_day():
    tz = ZoneInfo(get_settings().timezone)
    w = parse_datetime("2026-12-01")
    assert w.lo == datetime(2026, 12, 1, tzinfo=tz)
    assert w.hi == datetime(2026, 12, 2, tzinfo=tz) - timedelta(microseconds=1)
    # a DST change: the local day of 2026-03-08 is 23 hours long
    w = parse_datetime("2026-03-08/2026-03-08")
    assert w.hi - w.lo == timedelta(hours=23, microseconds=-1)
    assert parse_instant("2026-12-01T08:00:00Z") == datetime.fromisoformat("2026-12-01T08:00:00+00:00")
    assert parse_instant("2026-12-01T08:00:00") == datetime(2026, 12, 1, 8, tzinfo=tz)  # no offset: local
    assert parse_datetime("2026-12-01T08:00:00Z/..").hi is None


def test_a_date_in_cql2_is_the_whole_day(client, conn):
    day = conn.execute("SELECT (max(observed_at) AT TIME ZONE %s)::date FROM cad_incidents",
                       (get_settings().timezone,)).fetchone()[0]
    tz = get_settings().timezone

    def count(where: str) -> int:  # the collection serves located incidents only
        return conn.execute(f"SELECT count(*) FROM cad_incidents WHERE geom IS NOT NULL AND {where}",
                            (day, tz)).fetchone()[0]

    start = "(%s::date)::timestamp AT TIME ZONE %s"
    for op, sql_where in ((">=", f"observed_at >= {start}"), ("<", f"observed_at < {start}")):
        got = ogc_ids(client, filter=f"observed_at {op} DATE('{day.isoformat()}')")
        assert len(got) == count(sql_where), op
    # `<=` a day takes the whole day; `=` is within it
    end_where = "observed_at < ((%s::date + 1)::timestamp AT TIME ZONE %s)"
    assert len(ogc_ids(client, filter=f"observed_at <= DATE('{day.isoformat()}')")) == count(end_where)
    assert ogc_ids(client, filter=f"observed_at = DATE('{day.isoformat()}')") == \
        ogc_ids(client, datetime=day.isoformat()) != set()


@pytest.mark.parametrize("params", [{"datetime": "2026-13-01"}, {"datetime": "yesterday"},
                                    {"filter": "nosuch = 1"}, {"filter": "priority >"}])
def test_bad_parameters_are_400_on_both(client, params):
    z, x, y = _tile()
    assert client.get("/ogc/collections/cad_incidents/items", params=params).status_code == 400
    assert client.get(f"/tiles/cad_incidents/{z}/{x}/{y}.mvt", params=params).status_code == 400
