"""Load the demo city (Baltimore, real public data shipped in data/baltimore) into PostGIS.

Reference layers are bulk-copied; cameras, incidents and simulated unit positions go through the
same ingest pipeline as any feed, so the demo exercises the real path.
"""
from __future__ import annotations

import csv
import gzip
import io
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import psycopg
import shapely

from services.settings import get_settings

# Travel speed by functional class (km/h), a proxy for posted limits: the city's centerlines
# carry no speed attribute.
SPEED_BY_CLASS = {"FWY": 88.0, "INT": 88.0, "PART": 56.0, "MART": 48.0, "COLL": 40.0, "LOC": 32.0}
ALLEY_SPEED = 16.0



def _text(v) -> str:
    """A text field of a GeoDataFrame row: missing values (None, NaN) are '' (`NaN or ""` is 'nan')."""
    return "" if v is None or v != v else str(v)

def _path(name: str) -> Path:
    return get_settings().data_dir / f"{name}.gz"


def read_csv(name: str) -> list[dict]:
    with gzip.open(_path(name), "rt", newline="") as f:
        return list(csv.DictReader(f))


def read_geo(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(f"/vsigzip/{_path(name)}")


def _copy(conn: psycopg.Connection, table: str, columns: list[str], rows) -> int:
    n = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)
            n += 1
    return n


def ewkb(g) -> str:
    """Hex EWKB with SRID 4326, the text form COPY accepts for a geometry(…, 4326) column."""
    return shapely.to_wkb(shapely.set_srid(g, 4326), hex=True, include_srid=True)


def _multi(g) -> shapely.MultiPolygon:
    """Any areal geometry as a valid MultiPolygon (the district file mixes collections in)."""
    g = shapely.make_valid(g)
    polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    polys += [q for p in shapely.get_parts(g) if p.geom_type == "MultiPolygon" for q in p.geoms]
    return shapely.MultiPolygon(polys)


def _single_line(g) -> shapely.LineString:
    if g.geom_type == "LineString":
        return g
    merged = shapely.line_merge(g)
    if merged.geom_type == "LineString" and not merged.is_empty:
        return merged
    parts = list(getattr(merged, "geoms", [])) or list(g.geoms)
    return max(parts, key=lambda p: p.length)


def load_reference(conn: psycopg.Connection) -> dict[str, int]:
    """Replace the reference tables with the demo city's. Returns row counts."""
    counts: dict[str, int] = {}
    with conn.transaction():
        conn.execute("TRUNCATE streets, addresses, intersections, districts, beats, neighborhoods, "
                     "stations, service_area")
        streets = read_geo("streets_centerlines.geojson")
        rows = []
        for rec, g in zip(streets.itertuples(index=False), streets.geometry):
            if g is None or g.is_empty or g.length == 0:
                continue
            alley = rec.subtype_label == "Alley"
            speed = ALLEY_SPEED if alley else SPEED_BY_CLASS.get(_text(rec.sha_class), 32.0)
            rows.append((int(rec.segment_id), _text(rec.fullname), _text(rec.dirpre), _text(rec.feanme),
                         _text(rec.featype), _text(rec.dirsuf), _text(rec.subtype_label), _text(rec.sha_class),
                         int(rec.fraddl or 0), int(rec.toaddl or 0), int(rec.fraddr or 0), int(rec.toaddr or 0),
                         int(rec.block_num) if rec.block_num == rec.block_num and rec.block_num is not None else None,
                         speed, ewkb(_single_line(g))))
        counts["streets"] = _copy(conn, "streets", ["id", "fullname", "dirpre", "name", "type", "dirsuf",
                                  "subtype", "sha_class", "l_from", "l_to", "r_from", "r_to", "block_num",
                                  "speed_kmh", "geom"], rows)

        counts["addresses"] = _copy(conn, "addresses", ["id", "number", "street", "zip", "geom"], (
            (r["address_id"], int(r["housenumber"]), r["street"], r["postcode"] or None,
             ewkb(shapely.Point(float(r["lon"]), float(r["lat"]))))
            for r in read_csv("address_points.csv") if r["housenumber"].isdigit()))

        counts["intersections"] = _copy(conn, "intersections", ["id", "name", "geom"], (
            (int(r["id"]), r["name"], ewkb(shapely.Point(float(r["lon"]), float(r["lat"]))))
            for r in read_csv("named_intersections.csv")))

        d = read_geo("police_districts_2023.geojson")
        counts["districts"] = _copy(conn, "districts", ["id", "name", "abbr", "geom"], (
            (int(r.id), r.name, r.name_abb, ewkb(_multi(g)))
            for r, g in zip(d.itertuples(), d.geometry)))
        conn.execute("UPDATE districts SET geom = ST_Multi(ST_MakeValid(geom)) WHERE NOT ST_IsValid(geom)")

        n = read_geo("neighborhoods.geojson")
        counts["neighborhoods"] = _copy(conn, "neighborhoods", ["name", "type", "geom"], (
            (r.name, r.type, ewkb(_multi(g)))
            for r, g in zip(n.itertuples(), n.geometry)))

        b = read_geo("city_boundary.geojson")
        g = b.geometry.iloc[0]
        conn.execute("INSERT INTO service_area (name, geom) VALUES (%s, ST_Multi(%s::geometry))",
                     (str(b["name"].iloc[0]), ewkb(_multi(g))))
        counts["service_area"] = 1

        counts["stations"] = _copy(conn, "stations", ["id", "name", "kind", "district", "address", "geom"], (
            (r["station_id"], r["name"], r["kind"], r["district"] or None, r["address"],
             ewkb(shapely.Point(float(r["lon"]), float(r["lat"])))) for r in read_csv("police_stations.csv")))

        counts["beats"] = _load_beats(conn)
        conn.execute("REFRESH MATERIALIZED VIEW water")  # the basemap's water: city limit less its land
    conn.execute("ANALYZE streets; ANALYZE addresses; ANALYZE intersections; ANALYZE districts; ANALYZE beats")
    return counts


def _load_beats(conn: psycopg.Connection) -> int:
    """Derive police post (beat) polygons: Voronoi cells of each post's median incident location,
    clipped to the city and to the district that holds the seed. Marked derived=true."""
    pts: dict[str, list[tuple[float, float]]] = {}
    for r in read_csv("crimes_part1.csv") + read_csv("arrests_weapons_2025.csv"):
        post, lon, lat = (r.get("post") or "").strip(), r.get("lon"), r.get("lat")
        if post.isdigit() and lon and lat:
            pts.setdefault(post, []).append((float(lon), float(lat)))
    seeds = []
    for post, xy in pts.items():
        xs, ys = sorted(p[0] for p in xy), sorted(p[1] for p in xy)
        seeds.append((post, xs[len(xs) // 2], ys[len(ys) // 2]))
    conn.execute("CREATE TEMP TABLE beat_seeds (post text, geom geometry(Point, 4326)) ON COMMIT DROP")
    _copy(conn, "beat_seeds", ["post", "geom"], ((p, ewkb(shapely.Point(x, y))) for p, x, y in seeds))
    cur = conn.execute("""
        INSERT INTO beats (id, district, derived, geom)
        SELECT s.post, d.name, true,
               ST_Multi(ST_CollectionExtract(ST_Intersection(v.cell, a.geom), 3))
        FROM (SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(geom)))).geom AS cell FROM beat_seeds) v
        JOIN beat_seeds s ON ST_Contains(v.cell, s.geom)
        CROSS JOIN LATERAL (SELECT geom FROM service_area LIMIT 1) a
        LEFT JOIN LATERAL (SELECT name FROM districts d WHERE ST_Contains(d.geom, s.geom) LIMIT 1) d ON true
        WHERE ST_Intersects(v.cell, a.geom)
        ON CONFLICT (id) DO NOTHING""")
    return cur.rowcount


SPEED_CAMERA_HEADING = {"N/B": 180.0, "S/B": 0.0, "E/B": 270.0, "W/B": 90.0}  # faces oncoming traffic


def camera_rows() -> list[dict]:
    rows = []
    for r in read_csv("cctv_cameras_citiwatch.csv"):
        rows.append({"id": f"CCTV-{r['camera_id']}", "name": r["camera_name"], "lon": r["lon"], "lat": r["lat"],
                     "owner": "agency", "kind": "cctv", "project": r["owner"], "contact": "CitiWatch (BPD)"})
    for r in read_csv("speed_cameras_fixed.csv"):
        rows.append({"id": r["camera_id"], "name": f"Speed camera {r['intersection']} ({r['direction']})",
                     "lon": r["lon"], "lat": r["lat"], "owner": "agency", "kind": "speed",
                     "project": "DOT speed cameras", "heading_deg": SPEED_CAMERA_HEADING.get(r["direction"]),
                     "fov_deg": 40, "range_m": 80})
    return rows


def incident_rows() -> list[dict]:
    rows = []
    for r in read_csv("crimes_part1.csv"):
        rows.append({"id": r["incident_id"], "observed_at": r["occurred_at"], "type": r["description"],
                     "address": r["location"], "lon": r["lon"] or None, "lat": r["lat"] or None,
                     "description": " · ".join(x for x in (r["crime_code"], r["description"], r["premise"],
                                                           r["weapon"]) if x),
                     "crime_code": r["crime_code"], "reported_district": r["district"], "post": r["post"],
                     "neighborhood": r["neighborhood"], "source": r["source"]})
    for r in read_csv("arrests_weapons_2025.csv"):
        rows.append({"id": r["incident_id"], "observed_at": r["arrest_datetime"], "type": "WEAPON ARREST",
                     "address": r["incident_location"] or r["arrest_location"], "lon": r["lon"] or None,
                     "lat": r["lat"] or None, "description": r["charges"], "reported_district": r["district"],
                     "post": r["post"], "neighborhood": r["neighborhood"], "source": "bpd_arrests_weapons_2025"})
    return rows


def unit_rows(conn: psycopg.Connection, per_district: int = 6, seed: int = 7) -> list[dict]:
    """Simulated patrol units (the city publishes no AVL): a few per district, on its streets."""
    rnd = random.Random(seed)
    conn.execute("SELECT setseed(%s)", (seed / 1000.0,))
    rows = []
    now = datetime.now(timezone.utc)
    for did, name, abbr in conn.execute("SELECT id, name, abbr FROM districts ORDER BY id").fetchall():
        pts = conn.execute("""
            SELECT ST_X(p), ST_Y(p) FROM (
                SELECT ST_LineInterpolatePoint(s.geom, random()) AS p
                FROM streets s JOIN districts d ON d.id = %s AND ST_Intersects(d.geom, s.geom)
                WHERE s.subtype = 'Paved Road' ORDER BY random() LIMIT %s) q""", (did, per_district)).fetchall()
        for k, (x, y) in enumerate(pts):
            status = rnd.choices(["available", "enroute", "onscene", "busy"], [0.65, 0.12, 0.13, 0.10])[0]
            rows.append({"unit_id": f"U-{did}{k + 1:02d}", "callsign": f"{abbr or name[:2]}{did}{k + 1:02d}",
                         "status": status, "observed_at": now.isoformat(), "lon": x, "lat": y,
                         "heading": rnd.randrange(360), "speed": 0})
    return rows


def is_loaded(conn: psycopg.Connection) -> bool:
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM streets) AND EXISTS (SELECT 1 FROM districts)").fetchone()[0])


def refresh_lookups(conn: psycopg.Connection) -> None:
    """Rebuild what ingest uses to assign district and beat (after any reference load)."""
    conn.execute("REFRESH MATERIALIZED VIEW district_parts")
    conn.execute("REFRESH MATERIALIZED VIEW beat_parts")
    _fill_h3_area(conn)


def _fill_h3_area(conn: psycopg.Connection) -> None:
    """Res-9 cells over the service area with the district/beat that covers each whole cell.
    Hexagons are grown by ~1 m (1e-5 degrees) first, so a point H3 puts in the cell is inside."""
    import h3

    from geo import h3cells
    row = conn.execute("SELECT ST_AsBinary(ST_Union(geom)) FROM service_area").fetchone()
    with conn.transaction():
        conn.execute("TRUNCATE h3_area")
        if not row or row[0] is None:
            return
        area = shapely.from_wkb(row[0]).buffer(0.003)
        cells = [h3.str_to_int(c) for c in h3.geo_to_cells(area, 9)]
        conn.execute("CREATE TEMP TABLE h3_area_stage (cell bigint, geom geometry) ON COMMIT DROP")
        _copy(conn, "h3_area_stage", ["cell", "geom"],
              ((c, ewkb(h3cells.boundary(c).buffer(1e-5))) for c in cells))
        conn.execute("CREATE INDEX ON h3_area_stage USING gist (geom)")
        conn.execute("""
            INSERT INTO h3_area (cell, district, beat)
            SELECT s.cell,
                   (SELECT CASE WHEN count(DISTINCT p.name) = 1 AND ST_Covers(ST_Union(p.geom), s.geom)
                                THEN min(p.name) END
                    FROM district_parts p WHERE ST_Intersects(p.geom, s.geom)),
                   (SELECT CASE WHEN count(DISTINCT p.id) = 1 AND ST_Covers(ST_Union(p.geom), s.geom)
                                THEN min(p.id) END
                    FROM beat_parts p WHERE ST_Intersects(p.geom, s.geom))
            FROM h3_area_stage s""")
        conn.execute("DELETE FROM h3_area WHERE district IS NULL AND beat IS NULL")
    conn.execute("ANALYZE h3_area")


def load(conn: psycopg.Connection, force: bool = False) -> str:
    """Load the demo city; a second run only tops up what is missing (ingest is idempotent)."""
    from services.ingest.pipeline import ingest_rows

    lines = []
    if force or not is_loaded(conn):
        counts = load_reference(conn)
        refresh_lookups(conn)
        lines.append("reference: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    else:
        lines.append("reference: already loaded")
    for feed, rows in (("camera", camera_rows()), ("cad", incident_rows())):
        r = ingest_rows(conn, feed, rows, origin="demo")
        lines.append(f"{feed}: accepted {r.accepted}, duplicates {r.duplicates}, rejected {len(r.rejected)}")
    # A handful of downtown cameras link a sample page and a snapshot this server serves, so "Open
    # stream" and "Snapshot" work in the demo (same-origin paths: the demo does not know its host).
    conn.execute("""UPDATE cameras SET stream_url = '/static/demo/camera.html?id=' || id,
                                       snapshot_url = '/static/demo/sample-frame.svg?camera=' || id
        WHERE id IN (SELECT id FROM cameras WHERE kind = 'cctv'
                     ORDER BY geom <-> ST_SetSRID(ST_MakePoint(-76.6105, 39.2865), 4326) LIMIT 6)""")
    fresh = conn.execute("SELECT count(*) FROM units WHERE observed_at > now() - interval '10 minutes'").fetchone()[0]
    if fresh == 0:
        r = ingest_rows(conn, "avl", unit_rows(conn), origin="demo")
        lines.append(f"units: accepted {r.accepted}")
    conn.execute("ANALYZE events; ANALYZE cameras; ANALYZE units")
    return "\n".join(lines)
