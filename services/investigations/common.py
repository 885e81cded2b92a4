"""What every investigation route shares: the stated purpose of plate reads, time windows,
bounding boxes and places, and the audit record.

Plate reads are personal data (DESIGN.md): the purpose rule is security's, one for every route
(`auth.require_purpose`: a role holding alpr:read, a reason and a case number, else 403 with a
sentence). Investigations only add that a search made under a case number is filed in the case.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

import orjson
import psycopg
from fastapi import Request
from starlette.requests import HTTPConnection

from services import audit, auth
from services.auth import Purpose
from services.errors import Unprocessable
from services.settings import get_settings

CASE_NUMBER = auth.CASE_NUMBER  # the cases table's CHECK, and security's


def check_case_number(n: str) -> str:
    n = n.strip()
    if not CASE_NUMBER.match(n):
        raise Unprocessable(f"case number {n[:80]!r} must be 1-64 letters, digits or . _ / - "
                            "(starting with a letter or digit)")
    return n


def purpose(request: Request) -> Purpose:
    """Routes that always show plate reads: security's rule (403 without reason and case number)."""
    return auth.require_purpose(request)


OMITTED = ("plate reads are left out: they need the alpr:read permission and a stated reason and case number "
           "(reason= and case_number=, or the X-RTCC-Reason and X-RTCC-Case-Number headers)")


def optional_purpose(request: HTTPConnection) -> Purpose | None:
    """Routes that answer with or without plate reads (correlation, replay): the purpose when this
    caller may see them under security's rule, else None and the reads are left out."""
    return request.scope["state"]["purpose"] if auth.may_read_plates(request) else None


def record(conn: psycopg.Connection, request: Request, action: str, resource: str, p: Purpose,
           detail: dict) -> None:
    """One audit row (security's: the authenticated principal, the purpose in its own columns and in
    the detail); the search is also filed in its case."""
    audit.record(conn, request, action, resource, {**p.detail(), **detail})
    from services.investigations import cases  # cases imports us
    cases.file_search(conn, request, p.case_number, action, {**detail, "reason": p.reason})


def utc(t: datetime | None) -> datetime | None:
    """RFC 3339 on the wire is UTC: a time without an offset is read as UTC."""
    if t is None:
        return None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def window(lo: datetime | None, hi: datetime | None) -> tuple[datetime | None, datetime | None]:
    lo, hi = utc(lo), utc(hi)
    if lo and hi and hi < lo:
        raise Unprocessable("'to' is before 'from'")
    return lo, hi


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """minLon,minLat,maxLon,maxLat in WGS 84 degrees."""
    if not text:
        return None
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        raise Unprocessable(f"bbox '{text[:100]}' is not four numbers minLon,minLat,maxLon,maxLat") from None
    if len(v) != 4 or not all(math.isfinite(x) for x in v):
        raise Unprocessable("bbox needs four finite numbers: minLon,minLat,maxLon,maxLat")
    if v[0] > v[2] or v[1] > v[3] or not (-180 <= v[0] <= 180 and -180 <= v[2] <= 180
                                            and -90 <= v[1] <= 90 and -90 <= v[3] <= 90):
        raise Unprocessable("bbox must be minLon,minLat,maxLon,maxLat within -180..180 and -90..90")
    return v[0], v[1], v[2], v[3]


def csv_list(text: str | None, what: str, limit: int = 200) -> list[str] | None:
    if not text:
        return None
    items = [s.strip() for s in text.split(",") if s.strip()]
    if len(items) > limit:
        raise Unprocessable(f"at most {limit} {what}")
    return items or None


def check_point(lon: float | None, lat: float | None) -> tuple[float, float]:
    if lon is None or lat is None:
        raise Unprocessable("give lon and lat (WGS 84 degrees)")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise Unprocessable("lon and lat must be finite numbers")
    return lon, lat


def finite(name: str, v: float | None) -> float | None:
    if v is not None and not math.isfinite(v):
        raise Unprocessable(f"{name} must be a finite number")
    return v


def agency() -> str:
    return get_settings().agency_name


def json_head(d: dict) -> bytes:
    """A JSON object left open (no closing brace), so an array PostgreSQL built as JSON text is
    appended as bytes (`head + b',"reads":' + text + b"}"`) without parsing it in Python."""
    return orjson.dumps(d, default=str)[:-1]


def fetch_one(conn: psycopg.Connection, query, params: dict) -> tuple:
    """One row of a prepared statement under a generic plan, without parallel workers.

    events has a partition per month (184 in the demo city + synth data): planning a search
    with no time window costs 100-400 ms; the generic plan is made once per connection and pruned
    at run time. Parallel workers cost ~150 ms to start on a busy 2-core machine for a few rows."""
    with conn.transaction():
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan; "
                     "SET LOCAL max_parallel_workers_per_gather = 0")
        return conn.execute(query, params, prepare=True).fetchone()
