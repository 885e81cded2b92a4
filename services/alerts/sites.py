"""Sites: the places the agency watches (schools, hospitals, stations...), targets of "within N m of"
rules (the built-in "Gunshot near a school" reads kind 'school'). Loaded as GeoJSON points; the
`sites` catalog layer shows them."""
from __future__ import annotations

import math
from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from services import audit, auth, db
from services.errors import BadRequest, ErrorBody, Unprocessable
from services.bus import publish
from services.ingest.routes import read_body
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["alerts"])

# The request body as the OpenAPI document shows it (read by hand: bad features are reported, not refused).
SITES_SCHEMA = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"const": "FeatureCollection"},
    "features": {"type": "array", "items": {"type": "object", "properties": {
        "type": {"const": "Feature"},
        "geometry": {"type": "object", "properties": {"type": {"const": "Point"},
                                                      "coordinates": {"type": "array", "items": {"type": "number"}}}},
        "properties": {"type": "object", "properties": {
            "name": {"type": "string"}, "kind": {"type": "string"}, "address": {"type": "string"}}}}}}}}


def parse_feature(f, area) -> tuple:
    """(name, kind, address, lon, lat) of one GeoJSON Point feature, or ValueError with the reason."""
    if not isinstance(f, dict) or f.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    g = f.get("geometry")
    if not isinstance(g, dict) or g.get("type") != "Point":
        raise ValueError(f"a site is a Point, not {_type_of(g)}")
    c = g.get("coordinates")
    if not (isinstance(c, list) and len(c) >= 2 and all(_number(v) for v in c[:2])):
        raise ValueError("coordinates are not [lon, lat] numbers")
    lon, lat = float(c[0]), float(c[1])
    if not (area[0] <= lon <= area[2] and area[1] <= lat <= area[3]):
        raise ValueError(f"({lon}, {lat}) is outside the service area")
    p = f.get("properties") or {}
    if not isinstance(p, dict):
        raise ValueError("properties are not an object")
    name = _text(p.get("name"), "name").strip()
    if not name or len(name) > 200:
        raise ValueError("a site needs a name (at most 200 characters)")
    kind = (_text(p.get("kind"), "kind").strip().lower() or "school")[:50]
    address = _text(p.get("address"), "address")[:300] or None
    return name, kind, address, lon, lat


def _type_of(g) -> str:
    t = g.get("type") if isinstance(g, dict) else None
    return t if isinstance(t, str) and t else "an empty geometry"


def _number(v) -> bool:
    try:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    except OverflowError:  # an integer beyond any float
        return False


def _text(v, what: str) -> str:
    """A property as text: strings and numbers; PostgreSQL text cannot hold NUL."""
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise ValueError(f"{what} is not text")
    v = str(v)
    if "\x00" in v:
        raise ValueError(f"{what} holds a NUL character")
    return v


@router.post("/sites", summary="Load sites (GeoJSON FeatureCollection of Points: name, kind, address)",
             description="`mode=append` (default) adds; `replace` first removes the sites of the kinds loaded. "
                         "Bad features are listed under `rejected` with their reason; the rest load.",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/geo+json": {"schema": SITES_SCHEMA}, "application/json": {"schema": SITES_SCHEMA}}}},
             responses={413: {"model": ErrorBody, "description": "the body is larger than 50 MB"}})
async def post_sites(request: Request, mode: Literal["append", "replace"] = "append",
                     _: auth.Principal = Depends(auth.require("rules:write"))) -> dict:
    body = await read_body(request, 50 * 1024 * 1024)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"the body is not JSON: {e}") from None  # cannot be parsed: 400 (services/errors.py)
    feats = doc.get("features") if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" else None
    if not isinstance(feats, list):
        raise Unprocessable("send a GeoJSON FeatureCollection of Point features")
    area, good, rejected = get_settings().service_area, [], []
    for i, f in enumerate(feats):
        try:
            good.append(parse_feature(f, area))
        except ValueError as e:
            rejected.append({"row": i, "reason": str(e)})

    def run():
        with db.pool().connection() as conn, conn.transaction():
            if mode == "replace":
                conn.execute("DELETE FROM sites WHERE kind = ANY(%s)", (sorted({g[1] for g in good}),))
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO sites (name, kind, address, geom) "
                                "VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))", good)
            publish(conn, "layers", {"layers": ["sites"]})
            total = conn.execute("SELECT count(*) FROM sites").fetchone()[0]
        with db.pool().connection() as conn:  # after the load: an audit row holds the chain's head until commit
            audit.record(conn, request, "sites.load", "api/sites",
                         {"mode": mode, "loaded": len(good), "rejected": len(rejected)})
        return total
    total = await run_in_threadpool(run)
    return {"loaded": len(good), "rejected": rejected, "total": total}
