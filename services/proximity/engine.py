"""One call into PostgreSQL per answer: parameters in, JSON text out (no Python re-encoding)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import psycopg

from services.settings import get_settings

SQL = "SELECT rtcc_proximity(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s::jsonb)::text"


def params(cameras: int | None = None, units: int | None = None, radius_m: float | None = None,
           recent_m: float | None = None, recent_min: float | None = None,
           at: datetime | None = None) -> dict[str, Any]:
    """The full parameter set of an answer, defaults from settings (stored with each incident's answer)."""
    s = get_settings()
    units = s.nearest_units if units is None else units
    p: dict[str, Any] = {
        "cameras": s.nearest_cameras if cameras is None else cameras,
        "radius_m": s.nearest_radius_m if radius_m is None else radius_m,
        "default_range_m": s.camera_default_range_m,
        "units": units,
        "candidates": max(units, s.unit_candidates),
        "max_age_s": s.unit_max_age_s,
        "unit_radius_m": s.unit_radius_m,
        "snap_max_m": s.route_snap_max_m,
        "recent_m": s.recent_radius_m if recent_m is None else recent_m,
        "recent_min": s.recent_minutes if recent_min is None else recent_min,
    }
    if at is not None:
        p["at"] = at.isoformat()
    return p


def answer_json(conn: psycopg.Connection, lon: float, lat: float, p: dict[str, Any]) -> bytes:
    """{"cameras": [...], "units": [...], "recent": [...]} as JSON bytes, built by PostgreSQL."""
    return conn.execute(SQL, (lon, lat, orjson.dumps(p).decode())).fetchone()[0].encode()


async def answer_json_async(aconn: psycopg.AsyncConnection, lon: float, lat: float, p: dict[str, Any]) -> bytes:
    """answer_json on an async connection (routes on the event loop)."""
    cur = await aconn.execute(SQL, (lon, lat, orjson.dumps(p).decode()))
    return (await cur.fetchone())[0].encode()


def with_location(location: dict[str, Any], body: bytes) -> bytes:
    """Prepend the location object to the JSON object PostgreSQL built."""
    return b'{"location":' + orjson.dumps(location) + b"," + body.lstrip()[1:]
