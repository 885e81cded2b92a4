"""Unit ETAs for an answer: candidates and snaps from SQL (rtcc_unit_candidates), one bounded search
over the in-memory graph (graph.py), and the seconds handed back to rtcc_proximity as p["routed"]."""
from __future__ import annotations

from typing import Any

import orjson
import psycopg
from fastapi.concurrency import run_in_threadpool

from services.proximity import graph
from services.proximity.graph import BEYOND, Snap

CANDIDATES = ("SELECT id, dist_m, edge, frac, off_m, graph_version "
              "FROM rtcc_unit_candidates(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s::jsonb)")


def routed(conn: psycopg.Connection, lon: float, lat: float, p: dict[str, Any]) -> dict[str, float | None]:
    """{unit id: network seconds, or None for a straight-line ETA} for the units worth ranking."""
    if p["units"] <= 0:
        return {}
    return route(conn.execute(CANDIDATES, (lon, lat, orjson.dumps(p).decode())).fetchall(), p["units"])


async def routed_async(aconn: psycopg.AsyncConnection, lon: float, lat: float,
                       p: dict[str, Any]) -> dict[str, float | None]:
    if p["units"] <= 0:
        return {}
    cur = await aconn.execute(CANDIDATES, (lon, lat, orjson.dumps(p).decode()))
    rows = await cur.fetchall()
    if len(rows) < 2:
        return {}
    return await run_in_threadpool(route, rows, p["units"])  # a search is ms of CPU; a reload more


def route(rows: list[tuple], k: int) -> dict[str, float | None]:
    """rows of rtcc_unit_candidates: the destination first, then the candidates."""
    (_, _, d_edge, d_frac, d_off, version), cands = rows[0], rows[1:]
    if not cands:
        return {}
    if d_edge is None:  # the location is off the network: every unit gets a straight-line ETA
        return {c[0]: None for c in cands}
    legs = graph.current(version).legs(
        Snap(d_edge, d_frac, d_off), [None if c[2] is None else Snap(c[2], c[3], c[4]) for c in cands],
        k, [c[1] for c in cands])
    return {c[0]: (None if leg is None else leg.seconds) for c, leg in zip(cands, legs) if leg is not BEYOND}
