"""Hotlists: named NCIC-style plate lists (stolen vehicle, stolen plate, wanted person, AMBER, BOLO).

Loaded whole (replace) or added to (append) from CSV or JSON; a bad row is rejected with its reason
and the rest load. ALPR reads are checked against them set-based in SQL (services/alerts/evaluate.py).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Literal

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from services import audit, auth, db
from services.errors import BadRequest, NotFound, Unprocessable
from services.ingest import parsers
from services.ingest.routes import read_body

router = APIRouter(prefix="/api", tags=["alerts"])

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PLATE_RE = re.compile(r"^[A-Z0-9]{1,10}$")
STATE_RE = re.compile(r"^[A-Z]{2}$")
MAX_ROWS = 1_000_000
COLUMNS = ("plate", "state", "reason", "expires", "source", "notes")


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise BadRequest(f"hotlist name '{name[:80]}' must be 1-64 letters, digits, '-' or '_'")
    return name


def normalise_plate(v) -> str:
    return re.sub(r"[\s\-.]", "", str(v or "")).upper()


def parse_row(row: dict) -> tuple:
    """(plate, state, reason, expires, source, notes) or ValueError with the reason."""
    if not isinstance(row, dict):
        raise ValueError("row is not an object")
    plate = normalise_plate(row.get("plate"))
    if not plate:
        raise ValueError("missing plate")
    if not PLATE_RE.match(plate):
        raise ValueError(f"plate '{plate[:20]}' is not 1-10 letters and digits")
    state = str(row.get("state") or "").strip().upper()
    if state and not STATE_RE.match(state):
        raise ValueError(f"state '{state[:20]}' is not a two-letter code")
    reason = str(row.get("reason") or "").strip()
    if not reason:
        raise ValueError("missing reason")
    if len(reason) > 200:
        raise ValueError("reason is longer than 200 characters")
    expires = row.get("expires")
    if expires in (None, ""):
        expires = None
    else:
        try:
            s = str(expires).strip()
            expires = datetime.fromisoformat(s + "T00:00:00+00:00" if len(s) == 10 else s.replace("Z", "+00:00"))
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)
        except ValueError:
            raise ValueError(f"expires '{str(expires)[:40]}' is not an RFC 3339 date or date-time") from None
    text = [str(row.get(k) or "").strip() or None for k in ("source", "notes")]
    for k, v in zip(("plate", "reason", "source", "notes"), (plate, reason, *text)):
        if v and "\x00" in v:
            raise ValueError(f"{k} contains a NUL character")
    return plate, state, reason, expires, text[0], (text[1] or "")[:2000] or None


def load(conn: psycopg.Connection, name: str, rows: list[dict], mode: str = "replace") -> dict:
    """Store a list in one transaction: replace drops the list's entries first. Duplicated
    (plate, state) rows in one load: the last wins."""
    check_name(name)
    if len(rows) > MAX_ROWS:
        raise Unprocessable(f"{len(rows)} rows exceed the {MAX_ROWS}-row limit of one load")
    good: dict[tuple[str, str], tuple] = {}
    rejected = []
    for i, row in enumerate(rows):
        try:
            r = parse_row(row)
        except ValueError as e:
            rejected.append({"row": i, "reason": str(e)})
            continue
        good[(r[0], r[1])] = r
    with conn.transaction():
        if mode == "replace":
            conn.execute("DELETE FROM hotlists WHERE list = %s", (name,))
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS hotlist_stage (plate text, state text, reason text, "
                     "expires timestamptz, source text, notes text) ON COMMIT DELETE ROWS")
        with conn.cursor().copy("COPY hotlist_stage FROM STDIN") as cp:
            for r in good.values():
                cp.write_row(r)
        conn.execute("""
            INSERT INTO hotlists (list, plate, state, reason, expires, source, notes)
            SELECT %s, plate, state, reason, expires, source, notes FROM hotlist_stage
            ON CONFLICT (list, plate, state) DO UPDATE SET reason = EXCLUDED.reason, expires = EXCLUDED.expires,
                source = EXCLUDED.source, notes = EXCLUDED.notes, added_at = now()""", (name,))
        total = conn.execute("SELECT count(*) FROM hotlists WHERE list = %s", (name,)).fetchone()[0]
    return {"list": name, "mode": mode, "loaded": len(good), "rejected": rejected, "total": total}


@router.post("/hotlists/{name}", summary="Load a hotlist (CSV or JSON rows: plate, state, reason, expires, "
             "source, notes)", description="`mode=replace` (default) swaps the whole list; `append` adds or "
             "updates entries. Bad rows are listed under `rejected` with their reason; the rest load.")
async def post_hotlist(name: str, request: Request, mode: Literal["replace", "append"] = "replace",
                       principal: auth.Principal = Depends(auth.require("hotlists:write"))) -> dict:
    check_name(name)
    body = await read_body(request, 200 * 1024 * 1024)
    rows, _ = parsers.parse_body(body, request.headers.get("content-type"))

    def run():
        with db.pool().connection() as conn:
            out = load(conn, name, rows, mode)
            audit.record(conn, request, "hotlist.load", f"hotlists/{name}",
                         {"mode": mode, "loaded": out["loaded"], "rejected": len(out["rejected"])})
            return out
    return await run_in_threadpool(run)


@router.get("/hotlists", summary="The hotlists with their entry counts")
def list_hotlists(_: auth.Principal = Depends(auth.require("alerts:read"))) -> list[dict]:
    with db.pool().connection() as conn:
        rows = conn.execute("""
            SELECT list, count(*), count(*) FILTER (WHERE expires IS NULL OR expires > now()), max(added_at)
            FROM hotlists GROUP BY list ORDER BY list""").fetchall()
    return [{"list": r[0], "entries": r[1], "active": r[2], "updated_at": r[3]} for r in rows]


@router.get("/hotlists/{name}", summary="Entries of one hotlist (personal data: audited)")
def get_hotlist(name: str, request: Request, limit: int = Query(1000, ge=1, le=100_000), offset: int = Query(0, ge=0),
                _: auth.Principal = Depends(auth.require("alpr:read"))) -> dict:
    check_name(name)
    with db.pool().connection() as conn:
        rows = conn.execute("""
            SELECT plate, state, reason, expires, source, notes, added_at FROM hotlists WHERE list = %s
            ORDER BY plate, state LIMIT %s OFFSET %s""", (name, limit, offset)).fetchall()
        if not rows and offset == 0 and not conn.execute("SELECT 1 FROM hotlists WHERE list = %s LIMIT 1",
                                                         (name,)).fetchone():
            raise NotFound(f"no hotlist named '{name}'")
        audit.record(conn, request, "hotlist.read", f"hotlists/{name}", {"limit": limit, "offset": offset})
    keys = ("plate", "state", "reason", "expires", "source", "notes", "added_at")
    return {"list": name, "entries": [dict(zip(keys, r)) for r in rows]}


@router.delete("/hotlists/{name}/{plate}", summary="Remove a plate from a hotlist (every state)")
def delete_entry(name: str, plate: str, request: Request,
                 _: auth.Principal = Depends(auth.require("hotlists:write"))) -> dict:
    check_name(name)
    with db.pool().connection() as conn:
        n = conn.execute("DELETE FROM hotlists WHERE list = %s AND plate = %s",
                         (name, normalise_plate(plate))).rowcount
        if not n:
            raise NotFound(f"plate '{plate[:20]}' is not on hotlist '{name}'")
        audit.record(conn, request, "hotlist.delete", f"hotlists/{name}/{plate}", {})
    return {"deleted": n}
