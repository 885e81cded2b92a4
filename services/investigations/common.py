"""What every investigation route shares: the stated purpose of an ALPR read (reason + case
number), time windows, bounding boxes and places, and the audit record.

Plate reads are personal data (DESIGN.md): every investigation that can show one states a reason
and, when there is one, a case number, and is audited with both. Until the security issue's shared
purpose check lands, both come as query parameters or the X-RTCC-Reason / X-RTCC-Case-Number
headers; `purpose()` is the one place to swap for it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson
import psycopg
from fastapi import Query, Request

from services import audit
from services.errors import Unprocessable
from services.settings import get_settings

CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")  # the cases table's CHECK


@dataclass(frozen=True)
class Purpose:
    reason: str | None
    case_number: str | None

    def detail(self) -> dict:
        return {"reason": self.reason, "case_number": self.case_number}


def check_case_number(n: str) -> str:
    n = n.strip()
    if not CASE_NUMBER.match(n):
        raise Unprocessable(f"case number {n[:80]!r} must be 1-64 letters, digits or . _ / - "
                            "(starting with a letter or digit)")
    return n


def stated_purpose(request: Request,
                   reason: str | None = Query(None, max_length=500, description="Why these plate reads are "
                                              "looked at (audited); or header X-RTCC-Reason"),
                   case_number: str | None = Query(None, max_length=64, description="Case number (audited; "
                                                   "links the search to the case); or X-RTCC-Case-Number")
                   ) -> Purpose:
    """Reason and case number as given (either may be absent): a dependency."""
    r = (reason or request.headers.get("x-rtcc-reason") or request.headers.get("x-rtcc-purpose")
         or request.query_params.get("purpose") or "").strip() or None
    c = (case_number or request.headers.get("x-rtcc-case-number") or "").strip() or None
    return Purpose(r, check_case_number(c) if c else None)


def purpose(request: Request, reason: str | None = Query(None, max_length=500),
            case_number: str | None = Query(None, max_length=64)) -> Purpose:
    """A dependency for routes that always show plate reads: no reason, no answer (422)."""
    p = stated_purpose(request, reason, case_number)
    if not p.reason:
        raise Unprocessable("state the reason for this ALPR search (reason= or the X-RTCC-Reason header): "
                            "plate reads are personal data and every search is audited")
    return p


def record(conn: psycopg.Connection, request: Request, action: str, resource: str, p: Purpose,
           detail: dict) -> None:
    """One audit row with the purpose; a search under a case number is also filed in the case."""
    audit.record(conn, request, action, resource, {**p.detail(), **detail})
    if p.case_number:
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
