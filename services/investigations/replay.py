"""GET /api/replay: the located events of a window (an hour, a shift, a day) in time order, in
pages (keyset `after=` cursor, never OFFSET), for the map's replay slider. Plate reads only with
a stated reason and case number (security's rule), and then audited."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from starlette.responses import Response

from services import auth, db
from services.errors import BadRequest
from services.investigations import common
from services.investigations.common import Purpose
from services.query import params as P
from services.query.params import parse_kinds

router = APIRouter(prefix="/api", tags=["investigations"])


def _cursor(text: str | None) -> tuple[datetime, int] | None:
    """`after=` is the `next` of the previous page: '<RFC 3339>,<event id>'."""
    if not text:
        return None
    t, _, i = text.rpartition(",")
    try:
        return common.utc(datetime.fromisoformat(t.replace("Z", "+00:00"))), int(i)
    except ValueError:
        raise BadRequest("after must be the `next` value of the previous page") from None


@router.get("/replay", summary="Located events of a time window in time order, paged",
            response_class=Response, responses={400: {"description": "no window, bad cursor"}})
def replay(request: Request,
           from_: str = Query(..., alias="from", description="Start: " + common.TIME_DOC),
           to: str = Query(..., description="End: " + common.TIME_DOC),
           bbox: str | None = Query(None, description="minLon,minLat,maxLon,maxLat"),
           kinds: str | None = Query(None, description="Comma-separated event kinds (default all)"),
           limit: int = Query(1000, ge=1, le=10000),
           after: str | None = Query(None, description="The previous page's `next`"),
           p: Purpose | None = Depends(common.optional_purpose),
           _: auth.Principal = Depends(auth.require("events:read"))) -> Response:
    lo, hi = common.window(from_, to)
    ks = parse_kinds(kinds)
    box = P.parse_bbox(bbox)
    cur = _cursor(after)
    with_alpr = p is not None and (ks is None or "alpr_read" in ks)
    L = sql.Literal
    w = [sql.SQL("e.geom IS NOT NULL AND e.observed_at BETWEEN {} AND {}").format(L(lo), L(hi))]
    if cur:
        w.append(sql.SQL("(e.observed_at, e.id) > ({}, {})").format(L(cur[0]), L(cur[1])))
    if box:
        w.append(sql.SQL("e.geom && ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(*map(L, box)))
    if ks:
        w.append(sql.SQL("e.kind = ANY({})").format(L(list(ks))))
    if not with_alpr:
        w.append(sql.SQL("e.kind <> 'alpr_read'"))
    q = sql.SQL("""
        SELECT count(*), count(*) FILTER (WHERE r.kind = 'alpr_read'), max(r.observed_at),
               (array_agg(r.id ORDER BY r.observed_at DESC, r.id DESC))[1],
               COALESCE(json_agg(r ORDER BY r.observed_at, r.id), '[]')::text
        FROM (SELECT e.id, e.kind, e.observed_at, e.type, e.priority, e.address, e.plate,
                     ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat
              FROM events e WHERE {w} ORDER BY e.observed_at, e.id LIMIT {lim}) r""").format(
        w=sql.SQL(" AND ").join(w), lim=L(limit))
    with db.pool().connection() as conn:
        n, alpr, last_t, last_id, events = conn.execute(q).fetchone()
        if alpr:
            common.record(conn, request, "replay", "api/replay", p,
                          {"from": lo, "to": hi, "bbox": bbox, "alpr_reads": alpr})
    nxt = f"{last_t.isoformat()},{last_id}" if n == limit else None
    head = common.json_head({"from": lo, "to": hi, "count": n, "next": nxt,
                             "alpr_omitted": None if with_alpr or (ks and "alpr_read" not in ks) else
                             common.OMITTED})
    return Response(head + b',"events":' + events.encode() + b"}", media_type="application/json")
