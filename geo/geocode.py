"""Geocoding entry point used by ingest, the proximity engine and the API.

This first version matches address points exactly on house number and street name; the
geocoder issue replaces the matching with the full cascade behind the same functions.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import psycopg

THRESHOLD = 0.6  # below this score an answer is "no match"


@dataclass(slots=True)
class GeocodeResult:
    lon: float | None
    lat: float | None
    match_type: str | None      # address_point, range, intersection, block, place; None when no match
    score: float                # 0..1
    normalized: str
    reason: str | None = None   # why there is no match

    @property
    def ok(self) -> bool:
        return self.lon is not None and self.score >= THRESHOLD

    def as_dict(self) -> dict:
        return asdict(self)


_NUM_STREET = re.compile(r"^\s*(\d+)\s+(.+?)\s*$")


def geocode(conn: psycopg.Connection, text: str, limit: int = 5) -> list[GeocodeResult]:
    """Candidates best first; an empty list when nothing matches."""
    m = _NUM_STREET.match(text or "")
    if not m:
        return []
    number, street = int(m.group(1)), m.group(2).upper()
    rows = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom), number || ' ' || upper(street) FROM addresses "
        "WHERE number = %s AND upper(street) = %s LIMIT %s", (number, street, limit)).fetchall()
    return [GeocodeResult(x, y, "address_point", 1.0, n) for x, y, n in rows]


def geocode_best(conn: psycopg.Connection, text: str) -> GeocodeResult:
    """The best candidate, or a no-match result carrying the reason."""
    if not text or not text.strip():
        return GeocodeResult(None, None, None, 0.0, "", reason="empty address")
    cands = geocode(conn, text, limit=1)
    if cands and cands[0].ok:
        return cands[0]
    return GeocodeResult(None, None, None, cands[0].score if cands else 0.0, text.strip().upper(),
                         reason="no address matched")


def geocode_many(conn: psycopg.Connection, texts: list[str]) -> list[GeocodeResult]:
    return [geocode_best(conn, t) for t in texts]
