"""GET /api/alpr/search: plate reads by exact plate or pattern (`*` any run, `?` one character),
newest first, with the camera, its direction, the confidence and the image link.

A pattern must be able to use an index (sql/140): a literal prefix ('7AB*') reads the
(plate text_pattern_ops, observed_at) btree, a leading wildcard needs three literal characters in
a row ('*AB7*') for the trigram index. Anything vaguer is a 400, never a scan of every read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import orjson
import shapely
import shapely.geometry
from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from starlette.responses import Response

from services import auth, db
from services.errors import BadRequest
from services.investigations import common
from services.investigations.common import Purpose
from services.query import params as P

router = APIRouter(prefix="/api/alpr", tags=["investigations"])

_STRIP = re.compile(r"[\s\-.·]")
_VALID = re.compile(r"[A-Z0-9*?%_]+")
HELP = "letters and digits, * for any run of characters, ? for exactly one"

# The columns of one read, as the search, the trajectory and the case package show it.
# Direction: the feed's own, else the compass point the camera faces.
READ_COLUMNS = sql.SQL("""e.id, e.observed_at, e.plate, e.attrs->>'state' AS state,
       e.attrs->>'camera_id' AS camera_id, c.name AS camera_name,
       COALESCE(e.attrs->>'direction', (ARRAY['N','NE','E','SE','S','SW','W','NW'])
                [mod(floor((c.heading_deg + 22.5) / 45)::int, 8) + 1]) AS direction,
       (e.attrs->>'confidence')::real AS confidence,
       COALESCE(e.attrs->>'image_url', e.attrs->>'image') AS image_url,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.district""")
CAMERA_JOIN = sql.SQL("LEFT JOIN cameras c ON c.id = e.attrs->>'camera_id'")


@dataclass(frozen=True)
class PlatePattern:
    text: str                  # normalised, as the analyst typed it ('7AB*')
    exact: str | None = None   # no wildcard: the plate itself
    prefix: str | None = None  # literal characters before the first wildcard
    like: str | None = None    # the LIKE pattern ('7AB%')

    def condition(self, params: dict) -> sql.Composable:
        """SQL on events alias e, its values added to params. Plans are generic (common.fetch_one),
        so the index a pattern needs is spelled out: the btree range for a prefix, LIKE alone for
        the trigram index; a one-character prefix ('A*', 1 read in 33) is cheaper to find by
        walking the newest reads of every plate (events_kind_time) than by sorting all its reads."""
        if self.exact:
            params["plate"] = self.exact
            return sql.SQL("e.plate = %(plate)s")
        params["like"] = self.like
        if self.prefix and len(self.prefix) == 1:
            return sql.SQL("e.kind = 'alpr_read' AND (e.plate || '') LIKE %(like)s")
        if self.prefix:  # the range the text_pattern_ops index reads
            params["lo_plate"], params["hi_plate"] = self.prefix, _successor(self.prefix)
            return sql.SQL("e.plate ~>=~ %(lo_plate)s AND e.plate ~<~ %(hi_plate)s AND e.plate LIKE %(like)s")
        return sql.SQL("e.plate LIKE %(like)s")


def _successor(prefix: str) -> str:
    """The smallest string greater than every string starting with prefix ([A-Z0-9] only)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def parse_plate(text: str | None) -> PlatePattern:
    s = _STRIP.sub("", text or "").upper()
    if not s:
        raise BadRequest(f"give a plate or a plate pattern ({HELP})")
    if not _VALID.fullmatch(s):
        raise BadRequest(f"plate pattern {text[:40]!r} may hold only {HELP}")
    s = s.replace("%", "*").replace("_", "?")
    literals = re.sub(r"[*?]", "", s)
    if not literals:
        raise BadRequest("a pattern of wildcards only would match every plate read: "
                            "give at least one letter or digit at the start, or three in a row")
    if s == literals:
        return PlatePattern(s, exact=s)
    s = re.sub(r"\*+", "*", s)
    prefix = re.match(r"[A-Z0-9]*", s).group(0)
    if not prefix and max(len(run) for run in re.split(r"[*?]+", s)) < 3:
        raise BadRequest(f"pattern {s!r} is too vague to search every read: start it with a letter or "
                            "digit ('7AB*'), or give three characters in a row ('*AB7*')")
    return PlatePattern(s, prefix=prefix or None, like=s.replace("*", "%").replace("?", "_"))


def parse_geofence(text: str | None) -> str | None:
    """A GeoJSON Polygon/MultiPolygon (WGS 84) as WKT, or None."""
    if not text:
        return None
    try:
        g = shapely.geometry.shape(orjson.loads(text))
    except Exception:  # any malformed GeoJSON is the caller's error
        raise BadRequest("geofence must be a GeoJSON Polygon or MultiPolygon in lon/lat") from None
    if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty or not g.is_valid:
        raise BadRequest("geofence must be a valid, non-empty GeoJSON Polygon or MultiPolygon")
    if shapely.get_num_coordinates(g) > 10_000:
        raise BadRequest("geofence has more than 10,000 vertices")
    return g.wkt


def filters(pattern: PlatePattern, params: dict, *, state: str | None = None, lo: datetime | None = None,
            hi: datetime | None = None, bbox=None, cameras: list[str] | None = None,
            geofence_wkt: str | None = None) -> sql.Composable:
    """WHERE conditions on events alias e (only ALPR reads carry a plate); values go to params."""
    w = [pattern.condition(params)]
    for cond, name, value in (
            ("e.attrs->>'state' = %(state)s", "state", state.upper() if state else None),
            ("e.observed_at >= %(lo)s", "lo", lo), ("e.observed_at <= %(hi)s", "hi", hi),
            ("e.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)", "bbox", bbox),
            ("e.attrs->>'camera_id' = ANY(%(cameras)s)", "cameras", cameras),
            ("ST_Intersects(e.geom, ST_GeomFromText(%(fence)s, 4326))", "fence", geofence_wkt)):
        if value is None:
            continue
        w.append(sql.SQL(cond))
        if name == "bbox":
            params.update(zip(("x0", "y0", "x1", "y1"), value))
        else:
            params[name] = value
    return sql.SQL(" AND ").join(w)


def search_sql(where: sql.Composable) -> sql.Composed:
    """(count, JSON array) of the matching reads, newest first, built in PostgreSQL."""
    return sql.SQL("""
        SELECT count(*), COALESCE(json_agg(r), '[]')::text FROM (
            SELECT {cols} FROM events e {join}
            WHERE {where}
            ORDER BY e.observed_at DESC, e.id DESC LIMIT %(limit)s OFFSET %(offset)s) r""").format(
        cols=READ_COLUMNS, join=CAMERA_JOIN, where=where)


@router.get("/search", summary="Plate reads by plate or pattern (* and ? wildcards), newest first",
            response_class=Response, responses={200: {"content": {"application/json": {}}},
                                                400: {"description": "empty or all-wildcard pattern"},
                                                403: {"description": "no stated reason and case number"}})
def search(request: Request,
           plate: str = Query("", max_length=20, description="Plate or pattern: 7AB1234, 7AB*, *AB12?"),
           state: str | None = Query(None, max_length=3, pattern="^[A-Za-z]{2,3}$"),
           from_: str | None = Query(None, alias="from", description=common.TIME_DOC),
           to: str | None = Query(None, description=common.TIME_DOC),
           bbox: str | None = Query(None, description="minLon,minLat,maxLon,maxLat"),
           cameras: str | None = Query(None, description="Comma-separated camera ids"),
           geofence: str | None = Query(None, max_length=50_000, description="GeoJSON Polygon (lon/lat)"),
           # (the HTTP server refuses request lines over 64 KiB with a plain-text 400: promise less)
           limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=100_000),
           p: Purpose = Depends(common.purpose),
           _: auth.Principal = Depends(auth.require("alpr:read"))) -> Response:
    pattern = parse_plate(plate)
    lo, hi = common.window(from_, to)
    params: dict = {"limit": limit, "offset": offset}
    where = filters(pattern, params, state=state, lo=lo, hi=hi, bbox=P.parse_bbox(bbox),
                    cameras=common.csv_list(cameras, "cameras"), geofence_wkt=parse_geofence(geofence))
    with db.pool().connection() as conn:
        n, reads = common.fetch_one(conn, search_sql(where), params)
        common.record(conn, request, "alpr.search", "api/alpr/search", p,
                      {"plate": pattern.text, "state": state, "from": lo, "to": hi, "bbox": bbox,
                       "cameras": cameras, "geofence": bool(geofence), "results": n})
    page = {"plate": pattern.text, "exact": pattern.exact is not None, "limit": limit, "offset": offset,
            "count": n, "next_offset": offset + limit if n == limit else None}
    body = common.json_head(page) + b',"reads":' + reads.encode() + b"}"
    return Response(body, media_type="application/json")
