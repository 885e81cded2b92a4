"""GET /api/nearest: the CAD integration call (cameras that can see it, units that get there first)."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import orjson
import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from geo import geocode as geocoder
from services import audit, auth, db
from services.errors import BadRequest
from services.proximity import engine

router = APIRouter(prefix="/api", tags=["proximity"], dependencies=[Depends(auth.require("events:read"))])
ALPR_MARK = b'"kind" : "alpr_read"'  # how json_build_object writes an ALPR read in the recent context


@router.get("/nearest", summary="Nearest cameras that can see a location, nearest available units by drive time",
            response_class=Response, responses={200: {"content": {"application/json": {}}},
                                                400: {"description": "No location, bad parameters, or an address "
                                                                     "that cannot be geocoded"}})
async def nearest(
    request: Request,
    address: str | None = Query(None, max_length=300, description="Street address or intersection to geocode"),
    lon: float | None = Query(None, ge=-180, le=180, description="Longitude (WGS 84 degrees)"),
    lat: float | None = Query(None, ge=-90, le=90, description="Latitude (WGS 84 degrees)"),
    cameras: int | None = Query(None, ge=0, le=100, description="How many cameras (default 5)"),
    units: int | None = Query(None, ge=0, le=50, description="How many units (default 5)"),
    radius_m: float | None = Query(None, gt=0, le=20000, description="Camera search radius (metres)"),
    recent_m: float | None = Query(None, ge=0, le=5000, description="Recent-context radius (metres)"),
    recent_min: float | None = Query(None, ge=0, le=10080, description="Recent-context window (minutes)"),
    at: datetime | None = Query(None, description="End of the recent-context window (RFC 3339, default now)"),
    event_id: int | None = Query(None, ge=1, le=2**63 - 1, description="The incident asked about: left out of its "
                                 "own recent context"),
) -> Response:
    if (lon is None) != (lat is None):
        raise BadRequest("give both lon and lat, or an address")
    if lon is None and not (address and address.strip()):
        raise BadRequest("give an address, or lon and lat")
    for name, v in (("lon", lon), ("lat", lat), ("radius_m", radius_m), ("recent_m", recent_m),
                    ("recent_min", recent_min)):
        if v is not None and not math.isfinite(v):
            raise BadRequest(f"{name} must be a finite number")
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)  # RFC 3339 on the wire is UTC
    p = engine.params(cameras=cameras, units=units, radius_m=radius_m, recent_m=recent_m,
                      recent_min=recent_min, at=at)
    if event_id is not None:
        p["exclude_id"] = event_id
    if lon is None:  # the geocoder is synchronous: geocode and answer on a worker thread
        return await run_in_threadpool(_by_address, request, address, p)
    # By coordinates (the CAD call): on the event loop with the async pool, no threadpool hop.
    location = {"lon": lon, "lat": lat, "source": "given", "geocode": None}
    async with (await db.apool()).connection() as aconn:
        body = await engine.answer_json_async(aconn, lon, lat, p)
    if ALPR_MARK in body:
        if auth.may_read_plates(request):
            await run_in_threadpool(_audit_alpr, request, location, body)
        else:
            body = _without_plates(body)
    return Response(engine.with_location(location, body), media_type="application/json")


def _by_address(request: Request, address: str, p: dict) -> Response:
    with db.pool().connection() as conn:
        g = _geocode(conn, address)
        location = {"lon": g.lon, "lat": g.lat, "source": "geocoded", "geocode": g.as_dict()}
        body = engine.answer_json(conn, g.lon, g.lat, p)
    if ALPR_MARK in body:
        if auth.may_read_plates(request):
            _audit_alpr(request, location, body)
        else:
            body = _without_plates(body)
    return Response(engine.with_location(location, body), media_type="application/json")


def _without_plates(body: bytes) -> bytes:
    """The answer for a caller who may not see plates now (no alpr:read, or no stated purpose): the
    recent context keeps everything but the ALPR reads, and says how many were left out."""
    d = orjson.loads(body)
    recent = d.get("recent") or []
    d["recent"] = [r for r in recent if r.get("kind") != "alpr_read"]
    d["plates_withheld"] = len(recent) - len(d["recent"])
    return orjson.dumps(d)


def _audit_alpr(request: Request, location: dict, body: bytes) -> None:
    """The recent context shows hotlisted plates: personal data, audited."""
    with db.pool().connection() as conn:
        plates = sorted({r.get("plate") for r in orjson.loads(body).get("recent") or ()
                         if r.get("kind") == "alpr_read" and r.get("plate")})
        audit.record(conn, request, "proximity.nearest", "api/nearest",
                     {"lon": location["lon"], "lat": location["lat"], "alpr_reads": body.count(ALPR_MARK),
                      "plates": plates})


def _geocode(conn: psycopg.Connection, address: str) -> geocoder.GeocodeResult:
    """Geocode or answer 400 with the geocoder's reason."""
    try:
        g = geocoder.geocode_best(conn, address)
    except (ValueError, TypeError, psycopg.DataError) as e:
        raise BadRequest(f"address could not be geocoded: {e}", address=address)
    if not g.ok:
        raise BadRequest(f"address could not be geocoded: {g.reason or 'no match'}", address=address,
                            geocode=g.as_dict())
    return g
