"""Geofences: named polygons (drawn on the map or uploaded as GeoJSON) with an owner, active hours
and an optional buffer; rules test events against them. Served as the `geofences` catalog layer."""
from __future__ import annotations

import re
from datetime import time
from typing import Any

import orjson
import psycopg
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services import audit, auth, db
from services.errors import NotFound, Unprocessable
from services.bus import publish
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["alerts"])

HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
FIELDS = ("id", "name", "owner", "active_hours", "buffer_m", "active", "created_by", "created_at")


class GeofenceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    owner: str = Field("", max_length=200)
    active_hours: str | None = Field(None, description="local 'HH:MM-HH:MM' (22:00-06:00 wraps midnight); "
                                                       "empty = always")
    buffer_m: float = Field(0, ge=0, le=5000, description="metres added around the polygon")
    active: bool = True
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon (lon/lat), or a Feature of one")


def parse_hours(text: str | None) -> tuple[time | None, time | None]:
    if not text or not text.strip() or text.strip().lower() == "always":
        return None, None
    m = HOURS_RE.match(text)
    if not m:
        raise Unprocessable(f"active_hours '{text[:40]}' is not 'HH:MM-HH:MM' (local time)")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise Unprocessable(f"active_hours '{text[:40]}' is not a time of day")
    return time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)


def polygon_json(geometry: dict) -> str:
    """The GeoJSON text of a Polygon/MultiPolygon, or a 422 saying what it is instead."""
    g = geometry
    if g.get("type") == "Feature":
        g = g.get("geometry") or {}
    elif g.get("type") == "FeatureCollection":
        feats = g.get("features") or []
        if len(feats) != 1:
            raise Unprocessable(f"a geofence is one polygon: the FeatureCollection has {len(feats)} features")
        g = feats[0].get("geometry") or {}
    kind = g.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise Unprocessable(f"a geofence must be a Polygon or MultiPolygon, not {kind or 'an empty geometry'}")
    return orjson.dumps({"type": kind, "coordinates": g.get("coordinates")}).decode()


def check_geometry(conn: psycopg.Connection, gj: str) -> None:
    """Parse and validate in PostGIS, answering with a sentence (self-intersection, too few points...)."""
    try:
        with conn.transaction():
            ok, reason, inside = conn.execute("""
                SELECT ST_IsValid(g), ST_IsValidReason(g),
                       ST_Within(g, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
                FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326) AS g) x""",
                (*get_settings().service_area, gj)).fetchone()
    except psycopg.Error as e:
        raise Unprocessable(f"the geometry is not valid GeoJSON: {str(e).splitlines()[0][:200]}") from None
    if not ok:
        reason = re.sub(r"\[([-\d.e]+) ([-\d.e]+)\]", r"near lon \1, lat \2", reason or "")
        raise Unprocessable(f"the polygon is not valid ({reason}): a geofence's outline must not cross itself")
    if not inside:
        raise Unprocessable("the polygon reaches outside the service area (RTCC_SERVICE_AREA)")


def _get(conn: psycopg.Connection, gid: int) -> dict:
    row = conn.execute(f"SELECT {', '.join(FIELDS)}, ST_AsGeoJSON(geom)::json FROM geofence_areas WHERE id = %s",
                       (gid,)).fetchone()
    if row is None:
        raise NotFound(f"no geofence {gid}")
    return {**dict(zip(FIELDS, row[:-1])), "geometry": row[-1]}


@router.get("/geofences", summary="Geofences with their polygons (GeoJSON FeatureCollection)")
def list_geofences(_: auth.Principal = Depends(auth.require("alerts:read"))) -> dict:
    with db.pool().connection() as conn:
        rows = conn.execute(f"SELECT {', '.join(FIELDS)}, ST_AsGeoJSON(geom)::json FROM geofence_areas "
                            "ORDER BY name").fetchall()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r[0], "properties": dict(zip(FIELDS, r[:-1])), "geometry": r[-1]} for r in rows]}


@router.post("/geofences", status_code=201, summary="Create a geofence (422 with a sentence for a bad polygon)")
def create_geofence(body: GeofenceIn, request: Request,
                    principal: auth.Principal = Depends(auth.require("rules:write"))) -> dict:
    lo, hi = parse_hours(body.active_hours)
    gj = polygon_json(body.geometry)
    with db.pool().connection() as conn:
        check_geometry(conn, gj)
        try:
            with conn.transaction():
                gid = conn.execute("""
                    INSERT INTO geofences (name, owner, active_from, active_to, buffer_m, active, created_by, geom, zone)
                    SELECT %s, %s, %s, %s, %s, %s, %s, g,
                           CASE WHEN %s > 0 THEN ST_Multi(ST_Buffer(g::geography, %s)::geometry) ELSE g END
                    FROM (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)) AS g) x RETURNING id""",
                    (body.name, body.owner, lo, hi, body.buffer_m, body.active, principal.name,
                     body.buffer_m, body.buffer_m, gj)).fetchone()[0]
                publish(conn, "layers", {"layers": ["geofences"]})  # flush cached tiles
        except psycopg.errors.UniqueViolation:
            raise Unprocessable(f"a geofence named '{body.name[:100]}' exists already") from None
        audit.record(conn, request, "geofence.create", f"geofences/{gid}", {"name": body.name})
        return _get(conn, gid)


@router.delete("/geofences/{gid}", summary="Delete a geofence (rules bound to it go with it)")
def delete_geofence(gid: int, request: Request, _: auth.Principal = Depends(auth.require("rules:write"))) -> dict:
    with db.pool().connection() as conn:
        if not conn.execute("DELETE FROM geofences WHERE id = %s", (gid,)).rowcount:
            raise NotFound(f"no geofence {gid}")
        publish(conn, "layers", {"layers": ["geofences"]})
        audit.record(conn, request, "geofence.delete", f"geofences/{gid}", {})
    return {"deleted": gid}
