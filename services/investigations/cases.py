"""Cases: a case number gathers events, alerts, tasks, tips, notes and plate searches.

A case exists once it is created (POST /api/cases), a plate search names it, or a tip arrives
with it. Items are links (case_items, sql/140), never copies. `gather()` is the one reader of a
whole case: the case view and every export format (services/investigations/export) use it.
"""
from __future__ import annotations

import orjson
import psycopg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from starlette.requests import HTTPConnection

from services import audit, auth, db
from services.errors import NotFound, Unprocessable
from services.investigations.common import check_case_number

router = APIRouter(prefix="/api/cases", tags=["cases"])

EVENT_COLUMNS = """e.id, e.kind, e.observed_at, e.type, e.priority, e.address, e.plate, e.district, e.beat,
    e.loc_method, e.attrs, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat"""
MAX_EVENTS = 50_000


def _who(request: HTTPConnection) -> str:
    return auth.current_principal(request).name


def ensure(conn: psycopg.Connection, request: HTTPConnection, n: str, title: str | None = None) -> None:
    conn.execute("INSERT INTO cases (case_number, title, created_by) VALUES (%s, %s, %s) "
                 "ON CONFLICT (case_number) DO NOTHING", (n, title or "", _who(request)))


def file_search(conn: psycopg.Connection, request: HTTPConnection, n: str, action: str, detail: dict) -> None:
    """A plate search made under a case number is part of the case (who, when, what, how many)."""
    ensure(conn, request, n)
    conn.execute("INSERT INTO case_items (case_number, item_type, detail, added_by) VALUES (%s, 'search', %s, %s)",
                 (n, orjson.dumps({"action": action, **detail}, default=str).decode(), _who(request)))


def exists(conn: psycopg.Connection, request: HTTPConnection, n: str) -> bool:
    """A known case; one only named by tips so far is created on first look."""
    if conn.execute("SELECT 1 FROM cases WHERE case_number = %s", (n,)).fetchone():
        return True
    if conn.execute("SELECT 1 FROM events WHERE attrs ? 'case_number' AND attrs->>'case_number' = %s LIMIT 1",
                    (n,)).fetchone():
        ensure(conn, request, n)
        return True
    return False


def _table(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]


def gather(conn: psycopg.Connection, n: str) -> dict:
    """The whole case as plain values: case, events (each with lon/lat or None), tasks, alerts,
    notes, searches. Events: linked ones and those that name the case themselves (tips)."""
    cur = conn.cursor(row_factory=dict_row)
    set_json_loads(orjson.loads, cur)  # a big case's attrs: orjson parses 5,000 in ~15 ms, json in ~150
    case = cur.execute("SELECT case_number, title, created_at, created_by FROM cases WHERE case_number = %s",
                       (n,)).fetchone()
    items = cur.execute("SELECT item_type, ref_id, detail, added_at, added_by FROM case_items "
                        "WHERE case_number = %s ORDER BY added_at, id", (n,)).fetchall()
    refs = {t: [i["ref_id"] for i in items if i["item_type"] == t] for t in ("event", "task", "alert")}
    # events is partitioned by month and its key is (id, observed_at): with the times of the linked
    # events (event_keys) the lookup touches only their partitions, not each id in every month
    # (5,000 ids x 91 partitions took 0.3-0.8 s; this takes ~10 ms).
    keys = cur.execute("SELECT id, observed_at FROM event_keys WHERE id = ANY(%s)", (refs["event"],)).fetchall()
    events = cur.execute(f"""
        SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = ANY(%(ids)s) AND e.observed_at = ANY(%(times)s)
        UNION
        SELECT {EVENT_COLUMNS} FROM events e WHERE e.attrs ? 'case_number' AND e.attrs->>'case_number' = %(n)s
        ORDER BY observed_at, id LIMIT %(lim)s""", {"ids": [k["id"] for k in keys], "times": sorted({k["observed_at"] for k in keys}),
                                                "n": n, "lim": MAX_EVENTS}).fetchall()
    tasks = cur.execute("""SELECT id, created_at, closed_at, status, title, analyst, requested_by, incident_ids,
                                  activity_types, crime_type, outcome, minutes_spent, notes,
                                  ST_X(geom) AS lon, ST_Y(geom) AS lat
                           FROM tasks WHERE id = ANY(%s) ORDER BY created_at""", (refs["task"],)).fetchall()
    alerts = []
    if refs["alert"]:
        # The alerts table belongs to the alerts service (issue 14); read it when it is there.
        alerts = ([r["a"] for r in cur.execute("SELECT to_jsonb(a) AS a FROM alerts a WHERE a.id = ANY(%s)",
                                                (refs["alert"],))]
                  if _table(conn, "alerts") else [{"id": i} for i in refs["alert"]])
    notes = cur.execute("SELECT id, at, author, text FROM case_notes WHERE case_number = %s ORDER BY at, id",
                        (n,)).fetchall()
    searches = [{"at": i["added_at"], "by": i["added_by"], **i["detail"]} for i in items if i["item_type"] == "search"]
    return {"case": case, "events": events, "tasks": tasks, "alerts": alerts, "notes": notes, "searches": searches}


def summary(data: dict) -> dict:
    ev = data["events"]
    kinds: dict[str, int] = {}
    for e in ev:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    located = [e for e in ev if e["lon"] is not None]
    bbox = ([min(e["lon"] for e in located), min(e["lat"] for e in located),
             max(e["lon"] for e in located), max(e["lat"] for e in located)] if located else None)
    return {"events": len(ev), "located": len(located), "kinds": kinds, "tasks": len(data["tasks"]),
            "alerts": len(data["alerts"]), "notes": len(data["notes"]), "searches": len(data["searches"]),
            "plates": sorted({e["plate"] for e in ev if e["plate"]}), "bbox": bbox,
            "first": ev[0]["observed_at"] if ev else None, "last": ev[-1]["observed_at"] if ev else None}


def load(conn: psycopg.Connection, request: HTTPConnection, n: str, action: str, detail: dict | None = None) -> dict:
    """gather() for a route: 404 for an unknown case; a case holding plate reads shows them only
    under security's purpose rule (reason and case number, else 403), and is audited."""
    n = check_case_number(n)
    if not exists(conn, request, n):
        raise NotFound(f"no case {n}")
    data = gather(conn, n)
    alpr = sum(e["kind"] == "alpr_read" for e in data["events"])
    if alpr:
        auth.require_purpose(request)
    if alpr or action != "cases.read":
        audit.record(conn, request, action, f"api/cases/{n}",
                     {"case_number": n, "alpr_reads": alpr, "events": len(data["events"]), **(detail or {})})
    return data


class CaseIn(BaseModel):
    case_number: str = Field(min_length=1, max_length=64)
    title: str = Field("", max_length=500)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class ItemsIn(BaseModel):
    """Links to add (ids of events, tasks, alerts); unknown event or task ids are a 422."""
    events: list[int] = Field(default_factory=list, max_length=10_000)
    tasks: list[int] = Field(default_factory=list, max_length=1000)
    alerts: list[int] = Field(default_factory=list, max_length=1000)


@router.get("", summary="Cases, newest first, with their item counts")
def list_cases(limit: int = Query(100, ge=1, le=1000), _: auth.Principal = Depends(auth.require("cases:read"))):
    with db.pool().connection() as conn:
        rows = conn.cursor(row_factory=dict_row).execute("""
            SELECT c.case_number, c.title, c.created_at, c.created_by,
                   (SELECT count(*) FROM case_items i WHERE i.case_number = c.case_number AND i.item_type = 'event')
                   + (SELECT count(*) FROM events e WHERE e.attrs ? 'case_number'
                      AND e.attrs->>'case_number' = c.case_number) AS events,
                   (SELECT count(*) FROM case_items i WHERE i.case_number = c.case_number AND i.item_type = 'task') AS tasks,
                   (SELECT count(*) FROM case_items i WHERE i.case_number = c.case_number AND i.item_type = 'search') AS searches,
                   (SELECT count(*) FROM case_notes n WHERE n.case_number = c.case_number) AS notes
            FROM cases c ORDER BY c.created_at DESC LIMIT %s""", (limit,)).fetchall()
    return {"cases": rows}


@router.post("", summary="Create a case (or give an existing one a title)")
def create_case(body: CaseIn, request: Request, _: auth.Principal = Depends(auth.require("cases:write"))):
    n = check_case_number(body.case_number, Unprocessable)  # a body: 422
    with db.pool().connection() as conn:
        ensure(conn, request, n, body.title)
        if body.title:
            conn.execute("UPDATE cases SET title = %s WHERE case_number = %s", (body.title, n))
        return conn.cursor(row_factory=dict_row).execute(
            "SELECT case_number, title, created_at, created_by FROM cases WHERE case_number = %s", (n,)).fetchone()


@router.get("/{case_number}", summary="One case: its events, tasks, alerts, notes and plate searches",
            responses={404: {"description": "unknown case"}})
def get_case(case_number: str, request: Request, _: auth.Principal = Depends(auth.require("cases:read"))):
    with db.pool().connection() as conn:
        data = load(conn, request, case_number, "cases.read")
    return {**data, "summary": summary(data),
            "exports": {f: f"/api/cases/{data['case']['case_number']}/export?format={f}"
                        for f in ("gpkg", "kml", "kmz", "pdf", "takzip")}}


@router.post("/{case_number}/notes", summary="Add a note to a case", responses={404: {"description": "unknown case"}})
def add_note(case_number: str, body: NoteIn, request: Request,
             _: auth.Principal = Depends(auth.require("cases:write"))):
    n = check_case_number(case_number)
    with db.pool().connection() as conn:
        if not exists(conn, request, n):
            raise NotFound(f"no case {n}")
        return conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO case_notes (case_number, author, text) VALUES (%s, %s, %s) RETURNING id, at, author, text",
            (n, _who(request), body.text)).fetchone()


@router.post("/{case_number}/items", summary="Link events, tasks or alerts to a case",
             responses={404: {"description": "unknown case"}, 422: {"description": "unknown event or task id"}})
def add_items(case_number: str, body: ItemsIn, request: Request,
              _: auth.Principal = Depends(auth.require("cases:write"))):
    n = check_case_number(case_number)
    with db.pool().connection() as conn, conn.transaction():
        if not exists(conn, request, n):
            raise NotFound(f"no case {n}")
        known = [("event_keys", body.events), ("tasks", body.tasks)]  # every event has its key: one table, not 91 partitions
        if _table(conn, "alerts"):  # the alerts service (issue 14) is installed: check those too
            known.append(("alerts", body.alerts))
        for table, ids in known:
            if ids:
                found = {r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE id = ANY(%s)", (ids,))}
                missing = [str(i) for i in ids if i not in found]
                if missing:
                    raise Unprocessable(f"unknown {table.split('_')[0].rstrip('s')} id(s) {', '.join(missing[:20])}")
        added = 0
        for typ, ids in (("event", body.events), ("task", body.tasks), ("alert", body.alerts)):
            if ids:
                added += conn.execute("INSERT INTO case_items (case_number, item_type, ref_id, added_by) "
                                      "SELECT %s, %s, unnest(%s::bigint[]), %s ON CONFLICT DO NOTHING",
                                      (n, typ, list(dict.fromkeys(ids)), _who(request))).rowcount
    return {"case_number": n, "added": added}
