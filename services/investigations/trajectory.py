"""GET /api/alpr/trajectory: one plate's reads in time order as a path, with the time at each
camera (consecutive reads at one camera are one stop), gaps flagged, the implied speed of each leg,
and a leg implying an impossible speed marked as a probable misread.
"""
from __future__ import annotations


import orjson
from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from starlette.responses import Response

from services import auth, db
from services.investigations import common
from services.investigations.alpr_search import CAMERA_JOIN, READ_COLUMNS, filters, parse_plate
from services.investigations.common import Purpose
from services.errors import BadRequest

router = APIRouter(prefix="/api/alpr", tags=["investigations"])

MAX_READS = 5000
# Legs shorter than this (metres) never count as impossible: cameras on one corner, GPS jitter.
MIN_IMPOSSIBLE_M = 150.0


def legs_and_stops(reads: list[dict], gap_s: float, max_kmh: float) -> tuple[list[dict], list[dict]]:
    """Annotate time-ordered reads (with dist_m / dt_s from the previous one) into legs and stops."""
    legs, stops = [], []
    for i, r in enumerate(reads):
        r["probable_misread"] = False
        key = r.get("camera_id") or f"{r['lon']:.5f},{r['lat']:.5f}"
        if stops and stops[-1]["key"] == key:
            s = stops[-1]
            s["last_seen"], s["reads"] = r["observed_at"], s["reads"] + 1
            s["read_ids"].append(r["id"])
        else:
            stops.append({"key": key, "camera_id": r.get("camera_id"), "camera_name": r.get("camera_name"),
                          "lon": r["lon"], "lat": r["lat"], "first_seen": r["observed_at"],
                          "last_seen": r["observed_at"], "reads": 1, "read_ids": [r["id"]]})
        if i == 0:
            continue
        d, t = r.pop("dist_m"), r.pop("dt_s")
        kmh = (d / t * 3.6) if t > 0 else None
        impossible = d >= MIN_IMPOSSIBLE_M and (t <= 0 or kmh > max_kmh)
        if impossible:  # the read of the pair the camera was less sure of (the later one on a tie)
            prev = reads[i - 1]
            suspect = prev if (prev.get("confidence") or 1) < (r.get("confidence") or 1) else r
            suspect["probable_misread"] = True
        legs.append({"from_id": reads[i - 1]["id"], "to_id": r["id"], "distance_m": round(d, 1),
                     "seconds": round(t, 1), "speed_kmh": round(kmh, 1) if kmh is not None else None,
                     "gap": t > gap_s, "impossible": impossible})
    if reads:  # a plate with no reads in the window has no first read
        reads[0].pop("dist_m", None)
        reads[0].pop("dt_s", None)
    for s in stops:
        s.pop("key")
    return legs, stops


@router.get("/trajectory", summary="One plate's reads in time order: path, stops, gaps, implied speeds",
            response_class=Response, responses={400: {"description": "no exact plate"},
                                                  403: {"description": "no stated reason and case number"}})
def trajectory(request: Request,
               plate: str = Query("", max_length=20, description="The exact plate"),
               state: str | None = Query(None, max_length=3, pattern="^[A-Za-z]{2,3}$"),
               from_: str | None = Query(None, alias="from", description=common.TIME_DOC), to: str | None = Query(None, description=common.TIME_DOC),
               gap_min: float = Query(30, gt=0, le=10080, description="Minutes between reads that make a gap"),
               max_kmh: float = Query(200, gt=0, le=2000, description="Faster legs are impossible (km/h)"),
               p: Purpose = Depends(common.purpose),
               _: auth.Principal = Depends(auth.require("alpr:read"))) -> Response:
    pattern = parse_plate(plate)
    if not pattern.exact:
        raise BadRequest("a trajectory follows one plate: give it without wildcards (search first)")
    lo, hi = common.window(from_, to)
    params: dict = {"max_reads": MAX_READS}
    where = filters(pattern, params, state=state, lo=lo, hi=hi)
    # Newest MAX_READS (the recent past matters most), then in time order with each leg's geodesic
    # metres and seconds from the read before.
    q = sql.SQL("""
        SELECT COALESCE(json_agg(to_jsonb(t) - 'g' ORDER BY t.observed_at, t.id), '[]')::text FROM (
            SELECT r.*, COALESCE(ST_Distance(r.g::geography, lag(r.g) OVER w::geography), 0) AS dist_m,
                   COALESCE(extract(epoch FROM r.observed_at - lag(r.observed_at) OVER w), 0) AS dt_s
            FROM (SELECT {cols}, e.geom AS g FROM events e {join} WHERE {where}
                  ORDER BY e.observed_at DESC, e.id DESC LIMIT %(max_reads)s) r
            WINDOW w AS (ORDER BY r.observed_at, r.id)) t""").format(cols=READ_COLUMNS, join=CAMERA_JOIN, where=where)
    with db.pool().connection() as conn:
        reads = orjson.loads(common.fetch_one(conn, q, params)[0])
        common.record(conn, request, "alpr.trajectory", "api/alpr/trajectory", p,
                      {"plate": pattern.text, "state": state, "from": lo, "to": hi, "results": len(reads)})
    legs, stops = legs_and_stops(reads, gap_min * 60, max_kmh)
    path = {"type": "Feature", "properties": {"plate": pattern.exact, "reads": len(reads)},
            "geometry": {"type": "LineString", "coordinates": [[r["lon"], r["lat"]] for r in reads
                                                               if not r["probable_misread"]]}}
    return Response(orjson.dumps({
        "plate": pattern.exact, "count": len(reads), "truncated": len(reads) == MAX_READS,
        "first_seen": reads[0]["observed_at"] if reads else None,
        "last_seen": reads[-1]["observed_at"] if reads else None,
        "gaps": sum(leg["gap"] for leg in legs), "probable_misreads": sum(r["probable_misread"] for r in reads),
        "reads": reads, "legs": legs, "stops": stops, "path": path}), media_type="application/json")
