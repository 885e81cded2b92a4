"""GET /api/route: the drive path between two points over the street graph (pgRouting), for the
map to draw a unit's route to an incident. Same graph and costs as the proximity ETAs."""
from __future__ import annotations

import orjson
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from services import db
from services.errors import Unprocessable

router = APIRouter(prefix="/api", tags=["proximity"])
MARGIN_DEG = 0.01  # search box around the two ends (~1 km): routing never scans the whole city

ROUTE_SQL = """
WITH ends AS (
    SELECT (SELECT id FROM route_nodes ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%(fx)s, %(fy)s), 4326) LIMIT 1) AS a,
           (SELECT id FROM route_nodes ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%(tx)s, %(ty)s), 4326) LIMIT 1) AS b
), path AS (
    SELECT d.seq, d.node, d.edge
    FROM ends, pgr_dijkstra(
        format('SELECT id, source, target, cost, reverse_cost FROM route_edges WHERE geom && %%L::geometry',
               ST_Expand(ST_MakeEnvelope(least(%(fx)s, %(tx)s), least(%(fy)s, %(ty)s),
                                         greatest(%(fx)s, %(tx)s), greatest(%(fy)s, %(ty)s), 4326), %(m)s)),
        ends.a, ends.b, true) d
)
SELECT ST_AsGeoJSON(ST_MakeLine(
           CASE WHEN p.node = e.source THEN e.geom ELSE ST_Reverse(e.geom) END ORDER BY p.seq), 6),
       sum(CASE WHEN p.node = e.source THEN e.cost ELSE e.reverse_cost END),
       sum(e.length_m)
FROM path p JOIN route_edges e ON e.id = p.edge
"""


def _point(text: str, name: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise Unprocessable(f"{name} must be 'lon,lat' in degrees")
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise Unprocessable(f"{name} is out of range: give 'lon,lat' in degrees")
    return x, y


@router.get("/route", summary="Drive path from one point to another over the street graph (GeoJSON)",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
async def route(frm: str = Query(..., alias="from", description="start as lon,lat (e.g. a unit's position)"),
                to: str = Query(..., description="end as lon,lat (e.g. the incident)")):
    (fx, fy), (tx, ty) = _point(frm, "from"), _point(to, "to")

    def run():
        with db.pool().connection() as conn:
            return conn.execute(ROUTE_SQL, {"fx": fx, "fy": fy, "tx": tx, "ty": ty, "m": MARGIN_DEG}).fetchone()

    geom, seconds, metres = await run_in_threadpool(run)
    if geom is None:
        raise Unprocessable("no path between these points on the street network (within ~1 km around them)")
    feature = {"type": "Feature", "geometry": orjson.loads(geom),
               "properties": {"duration_s": round(seconds, 1), "length_m": round(metres, 1)}}
    return Response(orjson.dumps(feature), media_type="application/geo+json")
