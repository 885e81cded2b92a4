"""GET /api/correlate: everything within R metres and ±T minutes of an incident (or a point and a
time), across every feed, for the timeline beside the map.

One statement: events of every kind in one scan of the (kind, geom, observed_at) GiST index
(sql/051), and the patrol units that were there (their closest AVL position in the window, from the
(geom, observed_at) index of sql/140). Plate reads are personal data: they are included only with
a stated reason and case number (security's rule), and then audited; without them the answer says
they were left out.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from starlette.responses import Response

from services import auth, db
from services.investigations import common
from services.investigations.common import Purpose
from services.investigations.near import anchor
from services.query.params import parse_kinds

router = APIRouter(prefix="/api", tags=["investigations"])


def correlate_sql(lon: float, lat: float, at: datetime, radius_m: float, minutes: float,
                  kinds: tuple[str, ...] | None, with_alpr: bool, with_units: bool, exclude_id: int | None,
                  limit: int) -> sql.Composed:
    L = sql.Literal
    pt = sql.SQL("ST_SetSRID(ST_MakePoint({}, {}), 4326)").format(L(lon), L(lat))
    w = []
    if kinds:
        w.append(sql.SQL("e.kind = ANY({})").format(L(list(kinds))))
    if not with_alpr:
        w.append(sql.SQL("e.kind <> 'alpr_read'"))
    if exclude_id is not None:
        w.append(sql.SQL("e.id <> {}").format(L(exclude_id)))
    extra = sql.SQL("").join(sql.SQL(" AND ") + c for c in w)
    units = sql.SQL("""(SELECT COALESCE(json_agg(u ORDER BY u.distance_m), '[]') FROM (
                SELECT DISTINCT ON (p.unit_id) p.unit_id, un.callsign, p.status, p.observed_at,
                       round(extract(epoch FROM p.observed_at - {at})::numeric) AS offset_s,
                       round(ST_Distance(p.geom::geography, {pt}::geography)::numeric, 1) AS distance_m,
                       ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
                FROM unit_positions p LEFT JOIN units un ON un.id = p.unit_id
                WHERE p.geom && rtcc_box_m({pt}, {rad}) AND p.observed_at BETWEEN {lo} AND {hi}
                  AND ST_DWithin(p.geom::geography, {pt}::geography, {rad})
                ORDER BY p.unit_id, ST_Distance(p.geom::geography, {pt}::geography)) u)""") if with_units \
        else sql.SQL("'[]'::json")
    units = units.format(pt=pt, rad=L(radius_m), at=L(at), lo=L(at - timedelta(minutes=minutes)),
                         hi=L(at + timedelta(minutes=minutes)))
    return sql.SQL("""
        SELECT json_build_object(
            'events', (SELECT COALESCE(json_agg(r ORDER BY r.observed_at, r.id), '[]') FROM (
                SELECT e.id, e.kind, e.observed_at, round(extract(epoch FROM e.observed_at - {at})::numeric) AS offset_s,
                       round(ST_Distance(e.geom::geography, {pt}::geography)::numeric, 1) AS distance_m,
                       e.type, e.priority, e.address, e.plate, e.attrs->>'camera_id' AS camera_id,
                       e.attrs->>'text' AS text, e.attrs->>'source' AS source, e.attrs->>'rounds' AS rounds,
                       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat
                FROM events e
                WHERE e.geom && rtcc_box_m({pt}, {rad}) AND e.observed_at BETWEEN {lo} AND {hi}
                  AND ST_DWithin(e.geom::geography, {pt}::geography, {rad}){extra}
                ORDER BY e.observed_at, e.id LIMIT {lim}) r),
            'units', {units})::text""").format(
        pt=pt, rad=L(radius_m), at=L(at), lo=L(at - timedelta(minutes=minutes)),
        hi=L(at + timedelta(minutes=minutes)), extra=extra, lim=L(limit), units=units)


@router.get("/correlate", summary="Everything within R metres and ±T minutes of an incident, every feed",
            response_class=Response, responses={404: {"description": "unknown event"},
                                                400: {"description": "no point or event"}})
def correlate(request: Request,
              event_id: int | None = Query(None, ge=1, le=2**63 - 1, description="The incident"),
              lon: float | None = Query(None, ge=-180, le=180), lat: float | None = Query(None, ge=-90, le=90),
              at: str | None = Query(None, description=common.TIME_DOC + " (default: the incident's time, else now)"),
              radius_m: float = Query(500, gt=0, le=5000, description="Metres"),
              minutes: float = Query(30, gt=0, le=1440, description="± minutes"),
              kinds: str | None = Query(None, description="Comma-separated event kinds (default all)"),
              units: bool = Query(True, description="Include patrol units' positions"),
              limit: int = Query(2000, ge=1, le=10000),
              p: Purpose | None = Depends(common.optional_purpose),
              _: auth.Principal = Depends(auth.require("events:read"))) -> Response:
    common.finite("lon", lon), common.finite("lat", lat)
    ks = parse_kinds(kinds)
    with_alpr = p is not None and (ks is None or "alpr_read" in ks)
    with db.pool().connection() as conn:
        x, y, t, ev = anchor(conn, event_id, lon, lat, at)
        body = conn.execute(correlate_sql(x, y, t, radius_m, minutes, ks, with_alpr, units, event_id,
                                          limit)).fetchone()[0]
        alpr = body.count('"kind":"alpr_read"')  # json_agg of rows writes no spaces
        if alpr:
            common.record(conn, request, "correlate", "api/correlate", p,
                          {"event_id": event_id, "lon": x, "lat": y, "at": t, "radius_m": radius_m,
                           "minutes": minutes, "alpr_reads": alpr})
    omitted = None if with_alpr or (ks is not None and "alpr_read" not in ks) else \
        common.OMITTED
    head = common.json_head({"lon": x, "lat": y, "at": t, "event": ev, "radius_m": radius_m,
                             "minutes": minutes, "alpr_omitted": omitted})
    return Response(head + b"," + body.encode()[1:], media_type="application/json")
