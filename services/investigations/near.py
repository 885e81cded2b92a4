"""Vehicles near X around T, and co-travel.

- GET /api/alpr/near: every plate read within R metres of a point (or an incident) and within ±T
  minutes of a time, grouped by plate and ranked by closeness in space and time together:
  score = min over its reads of sqrt((d/R)² + (Δt/T)²), 0 at the point at the moment, 1 at the edge.
- GET /api/alpr/cotravel: plates read at N or more of the same cameras as a target plate within
  Δt seconds of it (the convoy, the follow car, the stolen-plate swap).
Both read the events' (kind, geom, observed_at) GiST index (sql/051): box and window in one scan.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from starlette.responses import Response

from services import auth, db
from services.errors import BadRequest, NotFound
from services.investigations import common
from services.investigations.alpr_search import parse_plate
from services.investigations.common import Purpose

router = APIRouter(prefix="/api/alpr", tags=["investigations"])


def anchor(conn: psycopg.Connection, event_id: int | None, lon: float | None, lat: float | None,
           at: str | None) -> tuple[float, float, datetime, dict | None]:
    """The point and moment asked about: an event's (its location and time), or lon/lat/at."""
    if event_id is not None:
        # By its key (id, observed_at): by id alone every monthly partition is planned and probed.
        # `= ANY` rather than `=` on the time: with `observed_at = t` the planner takes the GiST
        # (kind, geom, observed_at) index and reads all of it (~0.5 s on 1M events).
        key = conn.execute("SELECT observed_at FROM event_keys WHERE id = %s", (event_id,)).fetchone()
        row = key and conn.execute("SELECT ST_X(geom), ST_Y(geom), observed_at, kind, type, address FROM events "
                                   "WHERE id = %s AND observed_at = ANY(%s)", (event_id, [key[0]])).fetchone()
        if row is None:
            raise NotFound(f"no event {event_id}")
        if row[0] is None:
            raise BadRequest(f"event {event_id} has no location (its address could not be placed)")
        ev = {"id": event_id, "kind": row[3], "type": row[4], "address": row[5], "observed_at": row[2]}
        return row[0], row[1], common.instant(at) or row[2], ev
    lon, lat = common.check_point(lon, lat)
    return lon, lat, common.instant(at) or datetime.now(timezone.utc), None


def near_sql(lon: float, lat: float, at: datetime, radius_m: float, minutes: float, limit: int) -> sql.Composed:
    L = sql.Literal
    pt = sql.SQL("ST_SetSRID(ST_MakePoint({}, {}), 4326)").format(L(lon), L(lat))
    return sql.SQL("""
        SELECT count(*), COALESCE(json_agg(g ORDER BY g.score, g.plate), '[]')::text FROM (
            SELECT r.plate, r.state, count(*) AS reads, round(min(r.d)::numeric, 1) AS nearest_m,
                   round(min(abs(r.dt))::numeric) AS closest_s,
                   round(min(sqrt((r.d / {rad})^2 + (r.dt / {sec})^2))::numeric, 3) AS score,
                   min(r.observed_at) AS first_seen, max(r.observed_at) AS last_seen,
                   array_remove(array_agg(DISTINCT r.camera_id), NULL) AS cameras,
                   json_agg(json_build_object('id', r.id, 'observed_at', r.observed_at, 'camera_id', r.camera_id,
                            'distance_m', round(r.d::numeric, 1), 'offset_s', round(r.dt::numeric),
                            'lon', ST_X(r.geom), 'lat', ST_Y(r.geom)) ORDER BY r.observed_at) AS sightings
            FROM (SELECT e.id, e.plate, e.attrs->>'state' AS state, e.attrs->>'camera_id' AS camera_id,
                         e.observed_at, e.geom, ST_Distance(e.geom::geography, {pt}::geography) AS d,
                         extract(epoch FROM e.observed_at - {at}) AS dt
                  FROM events e
                  WHERE e.kind = 'alpr_read' AND e.geom && rtcc_box_m({pt}, {rad})
                    AND e.observed_at BETWEEN {lo} AND {hi}
                    AND ST_DWithin(e.geom::geography, {pt}::geography, {rad})) r
            GROUP BY r.plate, r.state
            ORDER BY score, r.plate LIMIT {lim}) g""").format(
        pt=pt, rad=L(radius_m), sec=L(minutes * 60.0), at=L(at), lo=L(at - timedelta(minutes=minutes)),
        hi=L(at + timedelta(minutes=minutes)), lim=L(limit))


@router.get("/near", summary="Plates read within R metres and ±T minutes of a point or incident, ranked",
            response_class=Response, responses={404: {"description": "unknown event"},
                                                400: {"description": "no point"},
                                                403: {"description": "no stated reason and case number"}})
def near(request: Request,
         event_id: int | None = Query(None, ge=1, le=2**63 - 1, description="An incident: its place and time"),
         lon: float | None = Query(None, ge=-180, le=180), lat: float | None = Query(None, ge=-90, le=90),
         at: str | None = Query(None, description=common.TIME_DOC + " (default: the incident's time, else now)"),
         radius_m: float = Query(300, gt=0, le=5000, description="Metres"),
         minutes: float = Query(20, gt=0, le=1440, description="± minutes around `at`"),
         limit: int = Query(200, ge=1, le=2000, description="Plates"),
         p: Purpose = Depends(common.purpose),
         _: auth.Principal = Depends(auth.require("alpr:read"))) -> Response:
    common.finite("lon", lon), common.finite("lat", lat)
    with db.pool().connection() as conn:
        x, y, t, ev = anchor(conn, event_id, lon, lat, at)
        n, plates = conn.execute(near_sql(x, y, t, radius_m, minutes, limit)).fetchone()
        common.record(conn, request, "alpr.near", "api/alpr/near", p,
                      {"event_id": event_id, "lon": x, "lat": y, "at": t, "radius_m": radius_m,
                       "minutes": minutes, "plates": n})
    head = common.json_head({"lon": x, "lat": y, "at": t, "event": ev, "radius_m": radius_m,
                             "minutes": minutes, "count": n})
    return Response(head + b',"plates":' + plates.encode() + b"}", media_type="application/json")


def cotravel_sql(lo: datetime | None, hi: datetime | None, site_m: float) -> sql.Composed:
    """The query; its parameters: plate, lo, hi, win (interval), n (shared cameras), lim."""
    L = sql.Literal
    w = [sql.SQL("e.plate = %(plate)s")]
    if lo:
        w.append(sql.SQL("e.observed_at >= %(lo)s"))
    if hi:
        w.append(sql.SQL("e.observed_at <= %(hi)s"))
    # A "site" is the target's camera (or its position to ~30 m when the read has no camera id);
    # another read is at the same site when it has the same camera, or is within site_m without one.
    return sql.SQL("""
        WITH t AS (SELECT e.id, e.observed_at, e.geom, e.attrs->>'camera_id' AS cam FROM events e
                   WHERE {where} ORDER BY e.observed_at DESC LIMIT 2000),
        m AS (SELECT o.plate, o.attrs->>'state' AS state, o.id, o.observed_at,
                     COALESCE(t.cam, ST_AsText(ST_SnapToGrid(t.geom, 0.0003))) AS site,
                     abs(extract(epoch FROM o.observed_at - t.observed_at)) AS dt
              FROM t JOIN events o ON o.kind = 'alpr_read' AND o.geom && rtcc_box_m(t.geom, {site_m})
                   AND o.observed_at BETWEEN t.observed_at - %(win)s AND t.observed_at + %(win)s
                   AND o.plate <> %(plate)s
                   AND (t.cam IS NOT NULL AND o.attrs->>'camera_id' = t.cam
                        OR (t.cam IS NULL OR o.attrs->>'camera_id' IS NULL)
                           AND ST_DWithin(o.geom::geography, t.geom::geography, {site_m})))
        SELECT (SELECT count(*) FROM t), COALESCE(json_agg(g ORDER BY g.shared_cameras DESC, g.reads DESC,
                                                           g.mean_offset_s, g.plate), '[]')::text
        FROM (SELECT plate, state, count(DISTINCT site) AS shared_cameras, count(DISTINCT id) AS reads,
                     round(avg(dt)::numeric) AS mean_offset_s, array_agg(DISTINCT site) AS sites,
                     min(observed_at) AS first_seen, max(observed_at) AS last_seen
              FROM m GROUP BY plate, state HAVING count(DISTINCT site) >= %(n)s
              ORDER BY shared_cameras DESC, reads DESC, mean_offset_s, plate LIMIT %(lim)s) g""").format(
        where=sql.SQL(" AND ").join(w), site_m=L(site_m))


@router.get("/cotravel", summary="Plates seen at N or more of the same cameras as a target within Δt",
            response_class=Response, responses={400: {"description": "no exact plate"},
                                                  403: {"description": "no stated reason and case number"}})
def cotravel(request: Request,
             plate: str = Query("", max_length=20, description="The target plate (exact)"),
             from_: str | None = Query(None, alias="from", description=common.TIME_DOC), to: str | None = Query(None, description=common.TIME_DOC),
             window_s: float = Query(120, gt=0, le=3600, description="± seconds around each target read"),
             min_cameras: int = Query(2, ge=1, le=100, description="Shared cameras at least"),
             site_m: float = Query(30, gt=0, le=500, description="Metres: same site without a camera id"),
             limit: int = Query(100, ge=1, le=1000),
             p: Purpose = Depends(common.purpose),
             _: auth.Principal = Depends(auth.require("alpr:read"))) -> Response:
    pattern = parse_plate(plate)
    if not pattern.exact:
        raise BadRequest("co-travel follows one plate: give it without wildcards")
    lo, hi = common.window(from_, to)
    with db.pool().connection() as conn:
        targets, plates = common.fetch_one(conn, cotravel_sql(lo, hi, site_m), {
            "plate": pattern.exact, "lo": lo, "hi": hi, "win": timedelta(seconds=window_s), "n": min_cameras,
            "lim": limit})
        common.record(conn, request, "alpr.cotravel", "api/alpr/cotravel", p,
                      {"plate": pattern.exact, "from": lo, "to": hi, "window_s": window_s,
                       "min_cameras": min_cameras, "target_reads": targets})
    head = common.json_head({"plate": pattern.exact, "target_reads": targets, "window_s": window_s,
                             "min_cameras": min_cameras})
    return Response(head + b',"plates":' + plates.encode() + b"}", media_type="application/json")
