"""What every investigation route shares: the stated purpose of plate reads, time windows (read by
the one time parser, services/query/times.py), bounding boxes (the shared parser,
services/query/params.py) and places, and the audit record.

Errors follow the one rule of services/errors.py: a bad query or path parameter is 400 (an
unusable pattern, a bbox, a case number in the path), 422 only for a body that parses but cannot
be processed.

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
from services.errors import BadRequest, RTCCError
from services.query.times import parse_instant
from services.settings import get_settings

CASE_NUMBER = auth.CASE_NUMBER  # the cases table's CHECK, and security's


TIME_DOC = "RFC 3339 date-time (without an offset: agency-local) or a date (its whole agency-local day)"


def check_case_number(n: str, error: type[RTCCError] = BadRequest) -> str:
    """A case number from the query or the path (400), or with `error=Unprocessable` from a body."""
    n = n.strip()
    if not CASE_NUMBER.match(n):
        raise error(f"case number {n[:80]!r} must be 1-64 letters, digits or . _ / - "
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


def instant(text: str | None, what: str = "at") -> datetime | None:
    return parse_instant(text, what) if text else None


def window(lo: str | None, hi: str | None) -> tuple[datetime | None, datetime | None]:
    """`from` and `to`: a date as `to` is its day's last instant, so from=to=2026-05-01 is that day."""
    t0 = parse_instant(lo, "from") if lo else None
    t1 = parse_instant(hi, "to", end=True) if hi else None
    if t0 and t1 and t1 < t0:
        raise BadRequest("'to' is before 'from'")
    return t0, t1


def csv_list(text: str | None, what: str, limit: int = 200) -> list[str] | None:
    if not text:
        return None
    items = [s.strip() for s in text.split(",") if s.strip()]
    if len(items) > limit:
        raise BadRequest(f"at most {limit} {what}")
    return items or None


def check_point(lon: float | None, lat: float | None) -> tuple[float, float]:
    if lon is None or lat is None:
        raise BadRequest("give lon and lat (WGS 84 degrees)")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise BadRequest("lon and lat must be finite numbers")
    return lon, lat


def finite(name: str, v: float | None) -> float | None:
    if v is not None and not math.isfinite(v):
        raise BadRequest(f"{name} must be a finite number")
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
