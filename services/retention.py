"""Retention and legal hold: expired events are removed (whole monthly partitions when every row of
the month is past the longest retention, else row by row per kind), events cited by an active legal
hold are kept whatever their age, and every purge is audited with its counts. Run by
`rtcc retention run` and by a periodic job in the server (one process at a time: advisory lock).

Days per kind: RTCC_RETENTION_DAYS (JSON) over DEFAULT_DAYS; `alpr_hit` is an ALPR read of a plate on
a hotlist, `alpr_read` one that is not.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from services import audit, auth, db
from services.errors import NotFound, Unprocessable
from services.settings import get_settings

log = logging.getLogger("rtcc.retention")
router = APIRouter(prefix="/api", tags=["retention"])

# Defaults an agency would recognise; every one configurable (RTCC_RETENTION_DAYS).
DEFAULT_DAYS = {"alpr_read": 30, "alpr_hit": 365 * 5, "gunshot": 365 * 5, "cad_incident": 365 * 20,
                "call": 365 * 20, "tip": 365 * 5, "unit_positions": 90}
LOCK = 7419101  # advisory lock: one retention run at a time across processes
HIT = "EXISTS (SELECT 1 FROM hotlists h WHERE h.plate = e.plate)"


def policy() -> dict[str, int]:
    return {**DEFAULT_DAYS, **get_settings().retention_days}


def _purge_kind(conn: psycopg.Connection, kind: str, cutoff: datetime, hit: bool | None) -> int:
    cond = "" if hit is None else (f" AND {HIT}" if hit else f" AND NOT {HIT}")
    row = conn.execute(f"""
        WITH gone AS (
            DELETE FROM events e WHERE e.kind = %s AND e.observed_at < %s{cond} AND NOT rtcc_held(e.id, e.plate)
            RETURNING e.id),
        k AS (DELETE FROM event_keys USING gone WHERE event_keys.id = gone.id),
        r AS (DELETE FROM proximity_results USING gone WHERE proximity_results.event_id = gone.id),
        j AS (DELETE FROM proximity_jobs USING gone WHERE proximity_jobs.event_id = gone.id)
        SELECT count(*) FROM gone""", (kind, cutoff)).fetchone()
    return int(row[0])


def run(conn: psycopg.Connection, now: datetime | None = None, who: str = "retention") -> dict:
    """One retention pass; returns (and audits) what was removed."""
    now = now or datetime.now(timezone.utc)
    days = policy()
    out: dict = {"at": now.isoformat(), "partitions_dropped": [], "rows": {}}
    if not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK,)).fetchone()[0]:
        return {**out, "skipped": "another retention run is in progress"}
    try:
        event_days = [v for k, v in days.items() if k != "unit_positions"]
        oldest_kept = now - timedelta(days=max(event_days))
        parts = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_y[0-9]{4}m[0-9]{2}$' ORDER BY 1")]
        for part in parts:
            n = conn.execute("SELECT rtcc_drop_event_partition(%s, %s)", (part, oldest_kept)).fetchone()[0]
            if n or conn.execute("SELECT to_regclass(%s) IS NULL", (part,)).fetchone()[0]:
                out["partitions_dropped"].append(part)
                out["rows"]["in_dropped_partitions"] = out["rows"].get("in_dropped_partitions", 0) + n
        for kind, d in days.items():
            cutoff = now - timedelta(days=d)
            if kind == "unit_positions":
                n = conn.execute("DELETE FROM unit_positions WHERE observed_at < %s", (cutoff,)).rowcount
            elif kind == "alpr_read":
                n = _purge_kind(conn, "alpr_read", cutoff, hit=False)
            elif kind == "alpr_hit":
                n = _purge_kind(conn, "alpr_read", cutoff, hit=True)
            else:
                n = _purge_kind(conn, kind, cutoff, hit=None)
            if n:
                out["rows"][kind] = n
        out["held"] = conn.execute("SELECT count(*) FROM legal_holds WHERE released_at IS NULL").fetchone()[0]
        audit.write(conn, who, "system", "retention.purge", "events",
                    {"rows": out["rows"], "partitions_dropped": out["partitions_dropped"],
                     "purged": sum(out["rows"].values()), "policy_days": days})
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
    return out


async def periodic() -> None:
    """The server's retention job: every RTCC_RETENTION_INTERVAL_S (0: off)."""
    interval = get_settings().retention_interval_s
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            def once():
                with db.pool().connection() as conn:
                    return run(conn)
            out = await run_in_threadpool(once)
            log.info("retention: %s", out.get("rows"))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a failed pass is retried next interval
            log.warning("retention run failed: %s", e)


# -- legal holds ---------------------------------------------------------------------------------
class Hold(BaseModel):
    case_number: str = Field(..., min_length=1, max_length=64)
    reason: str = Field(..., min_length=3, max_length=500)
    event_ids: list[int] = Field(default_factory=list, max_length=100_000)
    plates: list[str] = Field(default_factory=list, max_length=1000)


def place_hold(conn: psycopg.Connection, h: Hold, who: str) -> dict:
    if not auth.CASE_NUMBER.match(h.case_number):
        raise Unprocessable("case number must be 1-64 letters, digits or . _ / -")
    if not h.event_ids and not h.plates:
        raise Unprocessable("name the events (event_ids) or plates the hold keeps")
    with conn.transaction():
        conn.execute("INSERT INTO legal_holds (case_number, reason, created_by) VALUES (%s, %s, %s) "
                     "ON CONFLICT (case_number) DO UPDATE SET released_at = NULL, reason = EXCLUDED.reason",
                     (h.case_number, h.reason, who))
        if h.event_ids:
            conn.execute("INSERT INTO legal_hold_items (case_number, event_id) SELECT %s, unnest(%s::bigint[])",
                         (h.case_number, h.event_ids))
        if h.plates:
            plates = [p.upper().replace(" ", "").replace("-", "") for p in h.plates]
            conn.execute("INSERT INTO legal_hold_items (case_number, plate) SELECT %s, unnest(%s::text[])",
                         (h.case_number, plates))
    return {"case_number": h.case_number, "events": len(h.event_ids), "plates": len(h.plates)}


def release_hold(conn: psycopg.Connection, case_number: str) -> None:
    if conn.execute("UPDATE legal_holds SET released_at = now() WHERE case_number = %s AND released_at IS NULL",
                    (case_number,)).rowcount == 0:
        raise NotFound(f"no active legal hold on case {case_number}")


@router.post("/legal-holds", status_code=201, summary="Place a legal hold: the cited events are kept past retention")
def create_hold(body: Hold, request: Request, p: auth.Principal = Depends(auth.require("retention:admin"))) -> dict:
    with db.pool().connection() as conn:
        out = place_hold(conn, body, p.name)
        audit.record(conn, request, "legal_hold.place", f"legal-holds/{body.case_number}", out)
    return out


@router.get("/legal-holds", summary="Legal holds (active and released)")
def list_holds(_: auth.Principal = Depends(auth.require("retention:admin"))) -> list[dict]:
    with db.pool().connection() as conn:
        cur = conn.execute("SELECT h.case_number, h.reason, h.created_by, h.created_at, h.released_at, "
                           "count(i.event_id) AS events, count(i.plate) AS plates FROM legal_holds h "
                           "LEFT JOIN legal_hold_items i USING (case_number) GROUP BY h.case_number ORDER BY h.created_at DESC")
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


@router.delete("/legal-holds/{case_number}", summary="Release a legal hold (its events follow retention again)")
def delete_hold(case_number: str, request: Request, _: auth.Principal = Depends(auth.require("retention:admin"))) -> dict:
    with db.pool().connection() as conn:
        release_hold(conn, case_number)
        audit.record(conn, request, "legal_hold.release", f"legal-holds/{case_number}", {})
    return {"case_number": case_number, "released": True}


class RunNow(BaseModel):
    confirm: bool = Field(..., description="true: remove every expired event now")


@router.post("/retention/run", summary="Run retention now (counts of what was removed)")
def run_now(body: RunNow, p: auth.Principal = Depends(auth.require("retention:admin"))) -> dict:
    if not body.confirm:
        raise Unprocessable("send {\"confirm\": true} to remove expired events now")
    with db.pool().connection() as conn:
        return run(conn, who=p.name)


# -- transparency --------------------------------------------------------------------------------
REASON_CATEGORIES = ("investigation", "hotlist", "missing person", "amber alert", "training", "audit")


@router.get("/transparency", summary="Monthly public summary: plate-data reads by reason category, hits, "
                                      "data purged (no personal data)")
def transparency(months: int = Query(12, ge=1, le=60)) -> dict:
    cats = list(REASON_CATEGORIES)
    with db.pool().connection() as conn:
        rows = conn.execute("""
            WITH m AS (SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => %(n)s - 1),
                                              date_trunc('month', now() AT TIME ZONE 'UTC'), interval '1 month') AS month)
            SELECT to_char(m.month, 'YYYY-MM'),
                   (SELECT coalesce(jsonb_object_agg(cat, n), '{}') FROM (
                        SELECT coalesce((SELECT c FROM unnest(%(cats)s::text[]) c WHERE lower(a.reason) LIKE c || '%%' LIMIT 1),
                                        'other') AS cat, count(*) AS n
                        FROM audit_log a WHERE a.reason IS NOT NULL AND a.at >= m.month AT TIME ZONE 'UTC'
                          AND a.at < (m.month + interval '1 month') AT TIME ZONE 'UTC' GROUP BY 1) s),
                   (SELECT count(*) FROM audit_log a WHERE a.reason IS NOT NULL AND a.at >= m.month AT TIME ZONE 'UTC'
                          AND a.at < (m.month + interval '1 month') AT TIME ZONE 'UTC'),
                   (SELECT count(*) FROM events e WHERE e.kind = 'alpr_read' AND e.observed_at >= m.month AT TIME ZONE 'UTC'
                          AND e.observed_at < (m.month + interval '1 month') AT TIME ZONE 'UTC'),
                   (SELECT count(*) FROM events e WHERE e.kind = 'alpr_read' AND e.observed_at >= m.month AT TIME ZONE 'UTC'
                          AND e.observed_at < (m.month + interval '1 month') AT TIME ZONE 'UTC'
                          AND EXISTS (SELECT 1 FROM hotlists h WHERE h.plate = e.plate)),
                   (SELECT coalesce(sum((a.detail->>'purged')::bigint), 0) FROM audit_log a WHERE a.action = 'retention.purge'
                          AND a.at >= m.month AT TIME ZONE 'UTC' AND a.at < (m.month + interval '1 month') AT TIME ZONE 'UTC')
            FROM m ORDER BY m.month DESC""", {"n": months, "cats": cats}).fetchall()
        active_holds = conn.execute("SELECT count(*) FROM legal_holds WHERE released_at IS NULL").fetchone()[0]
    return {"agency": get_settings().agency_name, "retention_days": policy(), "active_legal_holds": active_holds,
            "reason_categories": cats + ["other"],
            "months": [{"month": r[0], "plate_data_reads_by_reason": r[1], "plate_data_reads": r[2],
                        "alpr_reads_collected": r[3], "alpr_hotlist_hits": r[4], "records_purged": r[5]}
                       for r in rows]}
