"""One call into PostgreSQL per answer: parameters in, JSON text out (no Python re-encoding). With
units asked for, their drive times come first from the in-memory graph (eta.py) as p["routed"]."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import psycopg

from services.proximity import eta
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
    p = p | {"routed": eta.routed(conn, lon, lat, p)}
    return conn.execute(SQL, (lon, lat, orjson.dumps(p).decode())).fetchone()[0].encode()


async def answer_json_async(aconn: psycopg.AsyncConnection, lon: float, lat: float, p: dict[str, Any]) -> bytes:
    """answer_json on an async connection (routes on the event loop)."""
    p = p | {"routed": await eta.routed_async(aconn, lon, lat, p)}
    cur = await aconn.execute(SQL, (lon, lat, orjson.dumps(p).decode()))
    return (await cur.fetchone())[0].encode()


def run_job(conn: psycopg.Connection, event_id: int, p: dict[str, Any]) -> None:
    """Compute, store and announce the answer for a queued event (rtcc_proximity_run), in the
    caller's transaction."""
    loc = conn.execute("SELECT ST_X(e.geom), ST_Y(e.geom) FROM proximity_jobs j JOIN events e "
                       "ON e.id = j.event_id AND e.observed_at = j.observed_at WHERE j.event_id = %s",
                       (event_id,)).fetchone()
    if loc is not None and loc[0] is not None:
        p = p | {"routed": eta.routed(conn, loc[0], loc[1], p)}
    conn.execute("SELECT rtcc_proximity_run(%s, %s::jsonb)", (event_id, orjson.dumps(p).decode()))


def with_location(location: dict[str, Any], body: bytes) -> bytes:
    """Prepend the location object to the JSON object PostgreSQL built."""
    return b'{"location":' + orjson.dumps(location) + b"," + body.lstrip()[1:]
