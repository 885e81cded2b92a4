"""Set-based candidate search in PostGIS: one call per batch, whatever its size.

Street names are matched exactly on their normalised name, else by pg_trgm similarity (typos),
and scored down for every disagreement (name similarity, directional, street type). Each match
type then looks its candidates up: address points (exact number), centreline ranges (side by
parity, interpolated and offset), block faces, and intersections (the curated table
and the street-network crossings). Python only parses and picks.
"""
from __future__ import annotations

from dataclasses import dataclass

import psycopg

from geo.address import Query, Street

# The search itself, its scoring and the interpolation offset live in
# sql/definitions/41_geocode_match.sql (a plpgsql function, so its plan is kept across calls).
SQL = """SELECT * FROM geocode_search_candidates(
    %(qi)s::int[], %(kind)s::text[], %(num)s::int[], %(s0)s::int[], %(s1)s::int[],
    %(sid)s::int[], %(pre)s::text[], %(name)s::text[], %(typ)s::text[], %(suf)s::text[], %(alt)s::text[])"""


@dataclass(slots=True)
class Candidate:
    key: str
    match_type: str   # address_point, address_interpolated, range, block, intersection (named, two
                      # streets), junction (named, more streets), crossing (street network); 'street' = best name only
    lon: float | None
    lat: float | None
    score: float
    extent_m: float = 0.0  # crossings: metres from the point to the farthest node of the junction


def search(conn: psycopg.Connection, queries: list[Query]) -> dict[int, list[Candidate]]:
    """Candidates (unsorted) per query index, from one SQL statement."""
    specs: dict[Street, int] = {}
    qi, kind, num, s0, s1 = [], [], [], [], []
    for i, q in enumerate(queries):
        if q.kind not in ("address", "block", "intersection"):
            continue
        ids = [specs.setdefault(s, len(specs)) for s in q.streets[:2]]
        qi.append(i); kind.append(q.kind); num.append(q.number)
        s0.append(ids[0]); s1.append(ids[1] if len(ids) > 1 else None)
    out: dict[int, list[Candidate]] = {}
    if not qi:
        return out
    params = {
        "qi": qi, "kind": kind, "num": num, "s0": s0, "s1": s1,
        "sid": list(specs.values()), "pre": [s.predir for s in specs], "name": [s.name for s in specs],
        "typ": [s.stype for s in specs], "suf": [s.sufdir for s in specs], "alt": [s.alt_name for s in specs],
    }
    for i, key, mt, x, y, score, extent in conn.execute(SQL, params, prepare=True):
        out.setdefault(i, []).append(Candidate(key, mt, x, y, float(score), float(extent or 0.0)))
    return out
