"""GET /api/route: the drive path between two points over the street graph, for the map to draw a
unit's route to an incident. The same snaps, graph and search as the unit ETAs of /api/nearest
(services/proximity/graph.py), so the line drawn is the drive the ETA measured, off-street legs
included, and its duration_s is that ETA."""
from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from services import auth, db
from services.errors import BadRequest
from services.proximity import graph
from services.proximity.graph import Snap
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["proximity"], dependencies=[Depends(auth.require("events:read"))])

SNAP_SQL = """
SELECT s.edge, s.frac, s.off_m, (SELECT version FROM route_graph),
       ST_Distance(ST_SetSRID(ST_MakePoint(%(fx)s, %(fy)s), 4326)::geography,
                   ST_SetSRID(ST_MakePoint(%(tx)s, %(ty)s), 4326)::geography)
FROM (VALUES (1, ST_SetSRID(ST_MakePoint(%(fx)s, %(fy)s), 4326)),
             (2, ST_SetSRID(ST_MakePoint(%(tx)s, %(ty)s), 4326))) p(i, g)
LEFT JOIN LATERAL rtcc_route_snap(p.g, %(snap)s) s ON true
ORDER BY p.i
"""

# The drive as one line: start, the pieces of edges (fractions in driving order), end.
LINE_SQL = """
SELECT ST_AsGeoJSON(ST_MakeLine(q.g ORDER BY q.o), 6), sum(q.m)
FROM (
    SELECT 0 AS o, ST_SetSRID(ST_MakePoint(%(fx)s, %(fy)s), 4326) AS g, %(off)s::float8 AS m
    UNION ALL
    SELECT p.o, CASE WHEN p.a <= p.b THEN ST_LineSubstring(e.geom, p.a, p.b)
                     ELSE ST_Reverse(ST_LineSubstring(e.geom, p.b, p.a)) END, abs(p.b - p.a) * e.length_m
    FROM unnest(%(edges)s::integer[], %(a)s::float8[], %(b)s::float8[]) WITH ORDINALITY AS p(edge, a, b, o)
    JOIN route_edges e ON e.id = p.edge
    UNION ALL
    SELECT 1e9, ST_SetSRID(ST_MakePoint(%(tx)s, %(ty)s), 4326), 0
) q
"""


def _point(text: str, name: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise BadRequest(f"{name} must be 'lon,lat' in degrees")
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise BadRequest(f"{name} is out of range: give 'lon,lat' in degrees")
    return x, y


@router.get("/route", summary="Drive path from one point to another over the street graph (GeoJSON)",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
async def route(frm: str = Query(..., alias="from", description="start as lon,lat (e.g. a unit's position)"),
                to: str = Query(..., description="end as lon,lat (e.g. the incident)")):
    (fx, fy), (tx, ty) = _point(frm, "from"), _point(to, "to")
    args = {"fx": fx, "fy": fy, "tx": tx, "ty": ty, "snap": get_settings().route_snap_max_m}

    def run():
        with db.pool().connection() as conn:
            (o_edge, o_frac, o_off, version, dist), (d_edge, d_frac, d_off, _, _) = \
                conn.execute(SNAP_SQL, args).fetchall()
            if o_edge is None or d_edge is None:
                raise BadRequest(f"{'from' if o_edge is None else 'to'} is more than "
                                    f"{args['snap']:g} m from any street")
            [leg] = graph.current(version).legs(Snap(d_edge, d_frac, d_off), [Snap(o_edge, o_frac, o_off)],
                                                1, [dist], paths=True)
            if leg is None:
                raise BadRequest("no path between these points on the street network")
            edges, a, b = zip(*leg.pieces)
            line, metres = conn.execute(LINE_SQL, args | {"edges": list(edges), "a": list(a), "b": list(b),
                                                          "off": o_off + d_off}).fetchone()
            return line, leg.seconds, metres

    line, seconds, metres = await run_in_threadpool(run)
    feature = {"type": "Feature", "geometry": orjson.loads(line),
               "properties": {"duration_s": round(seconds, 1), "length_m": round(metres, 1)}}
    return Response(orjson.dumps(feature), media_type="application/geo+json")
