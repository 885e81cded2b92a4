"""The RTCC task tracker: /api/tasks (create, update, close, list, CSV) and /api/dashboard.

An RTCC measures what it does: every request it works is a task with its analyst, requester,
linked incidents, activity types, crime type, outcome and minutes spent. Aggregates are computed
in PostgreSQL; each change is announced on /api/live (`event: task`) so dashboards refresh live.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from services import audit, auth, bus, db
from services.errors import BadRequest, NotFound, Unprocessable
from services.query.times import accepted_bounds, outside_accepted, parse_instant
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["tasks"])

TASK_JSON = """json_build_object(
    'id', t.id, 'created_at', t.created_at, 'updated_at', t.updated_at, 'closed_at', t.closed_at,
    'status', t.status, 'title', t.title, 'analyst', t.analyst, 'requested_by', t.requested_by,
    'incident_ids', t.incident_ids, 'activity_types', t.activity_types, 'crime_type', t.crime_type,
    'outcome', t.outcome, 'minutes_spent', t.minutes_spent, 'notes', t.notes,
    'lon', ST_X(t.geom), 'lat', ST_Y(t.geom))::text"""


class TaskIn(BaseModel):
    """A new task. Without lon/lat it takes the location of its first linked incident."""
    analyst: str = Field(min_length=1, max_length=200)
    title: str = Field("", max_length=500)
    requested_by: str | None = Field(None, max_length=200, description="Requesting unit or detective")
    incident_ids: list[int] = Field(default_factory=list, max_length=100)
    activity_types: list[str] = Field(default_factory=list, max_length=20)
    crime_type: str | None = Field(None, max_length=200)
    minutes_spent: int = Field(0, ge=0, le=100_000, description="Minutes")
    notes: str | None = Field(None, max_length=10_000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    created_at: datetime | None = Field(None, description="RFC 3339; default now (for back-entry)")
    outcome: str | None = Field(None, description="With closed_at (or alone): create the task closed")
    closed_at: datetime | None = None


class TaskPatch(BaseModel):
    """Fields to change; absent fields stay as they are."""
    analyst: str | None = Field(None, min_length=1, max_length=200)
    title: str | None = Field(None, max_length=500)
    requested_by: str | None = Field(None, max_length=200)
    incident_ids: list[int] | None = Field(None, max_length=100)
    activity_types: list[str] | None = Field(None, max_length=20)
    crime_type: str | None = Field(None, max_length=200)
    minutes_spent: int | None = Field(None, ge=0, le=100_000)
    notes: str | None = Field(None, max_length=10_000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    outcome: str | None = None


# Columns a PATCH may change but never empty (NOT NULL in sql/migrations/040_tasks.sql).
NOT_NULL = ("analyst", "title", "incident_ids", "activity_types", "minutes_spent")


class TaskClose(BaseModel):
    outcome: str
    minutes_spent: int | None = Field(None, ge=0, le=100_000, description="Minutes; replaces the total")
    closed_at: datetime | None = None


def _csv_list(v: str | None) -> list[str] | None:
    return [s.strip() for s in v.split(",") if s.strip()] if v else None


class TaskFilter:
    """The filters shared by the list, the CSV export and the dashboard."""

    def __init__(self,
                 start: str | None = Query(None, description="Created at or after (RFC 3339, or YYYY-MM-DD: "
                                                             "from the start of that agency-local day)"),
                 end: str | None = Query(None, description="Created at or before (RFC 3339, or YYYY-MM-DD: "
                                                           "to the end of that agency-local day)"),
                 status: Literal["open", "closed"] | None = Query(None),
                 analyst: str | None = Query(None),
                 requested_by: str | None = Query(None),
                 activity: str | None = Query(None, description="Comma-separated activity codes (any of)"),
                 crime_type: str | None = Query(None, description="Comma-separated crime types"),
                 outcome: str | None = Query(None, description="Comma-separated outcome codes"),
                 incident_id: int | None = Query(None, ge=1, le=2**63 - 1, description="Tasks linked to this incident")):
        self.start = parse_instant(start, "start") if start else None
        self.end = parse_instant(end, "end", end=True) if end else None
        if self.start and self.end and self.end < self.start:
            raise BadRequest("end is before start")
        self.status, self.analyst, self.requested_by = status, analyst, requested_by
        self.activity, self.crime_type, self.outcome = _csv_list(activity), _csv_list(crime_type), _csv_list(outcome)
        self.incident_id = incident_id

    def where(self) -> tuple[str, list]:
        w, p = ["TRUE"], []
        for cond, val in (("t.created_at >= %s", self.start), ("t.created_at <= %s", self.end),
                          ("t.status = %s", self.status), ("t.analyst = %s", self.analyst),
                          ("t.requested_by = %s", self.requested_by),
                          ("t.activity_types && %s::text[]", self.activity),
                          ("t.crime_type = ANY(%s)", self.crime_type), ("t.outcome = ANY(%s)", self.outcome),
                          ("t.incident_ids @> ARRAY[%s]::bigint[]", self.incident_id)):
            if val is not None:
                w.append(cond)
                p.append(val)
        return " AND ".join(w), p


def _check_codes(conn, activity_types: list[str] | None, outcome: str | None) -> None:
    if activity_types:
        known = {r[0] for r in conn.execute("SELECT code FROM task_activity_types")}
        bad = [a for a in activity_types if a not in known]
        if bad:
            raise Unprocessable(f"unknown activity type(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
    if outcome is not None:
        known = {r[0] for r in conn.execute("SELECT code FROM task_outcomes")}
        if outcome not in known:
            raise Unprocessable(f"unknown outcome '{outcome}'; known: {', '.join(sorted(known))}")


def _incidents(conn, ids: list[int]) -> list[tuple]:
    """(id, lon, lat, type) of the linked incidents, in the given order; 422 when one is unknown."""
    if not ids:
        return []
    rows = {r[0]: r for r in conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom), type FROM events WHERE id = ANY(%s)", (ids,))}
    missing = [str(i) for i in ids if i not in rows]
    if missing:
        raise Unprocessable(f"unknown incident id(s) {', '.join(missing)}")
    return [rows[i] for i in ids]


def _check_position(lon: float | None, lat: float | None) -> None:
    if (lon is None) != (lat is None):
        raise Unprocessable("give both lon and lat, or neither")
    if lon is not None:
        x0, y0, x1, y1 = get_settings().service_area
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            raise Unprocessable(f"position {lon}, {lat} is outside the service area")


def _check_time(t: datetime | None, name: str) -> None:
    """A stored time must lie inside the accepted time window (naive times are UTC on the wire)."""
    if t is None:
        return
    why = outside_accepted(t if t.tzinfo else t.replace(tzinfo=timezone.utc))
    if why:
        raise Unprocessable(f"{name} {t.isoformat()} {why}")


def _get(conn, task_id: int) -> dict:
    row = conn.execute(f"SELECT {TASK_JSON} FROM tasks t WHERE t.id = %s", (task_id,)).fetchone()
    if row is None:
        raise NotFound(f"no task {task_id}")
    return orjson.loads(row[0])


def _announce(conn, task: dict, action: str, request: Request) -> None:
    """`event: task` on /api/live (a payload with "data" passes through the live hub as is)."""
    bus.publish(conn, "task", {"data": {"action": action, "id": task["id"], "status": task["status"]}})
    audit.record(conn, request, f"task.{action}", f"tasks/{task['id']}", {"status": task.get("status")})


@router.get("/tasks/meta", summary="Activity types, outcomes and known crime types (for forms and filters)",
            dependencies=[Depends(auth.require("tasks:read"))])
def meta() -> dict:
    with db.pool().connection() as conn:
        acts = [{"code": c, "label": lb} for c, lb in conn.execute(
            "SELECT code, label FROM task_activity_types ORDER BY sort, code")]
        outs = [{"code": c, "label": lb, "solved": s} for c, lb, s in conn.execute(
            "SELECT code, label, solved FROM task_outcomes ORDER BY sort, code")]
        # Crime types: those of recent incidents (bounded scan) and those already used by tasks.
        crimes = [r[0] for r in conn.execute("""
            SELECT type FROM (
                (SELECT type FROM events WHERE kind IN ('cad_incident', 'call') AND type IS NOT NULL
                 ORDER BY observed_at DESC LIMIT 20000)
                UNION ALL SELECT crime_type FROM tasks WHERE crime_type IS NOT NULL) s
            GROUP BY type ORDER BY count(*) DESC, type LIMIT 200""")]
    return {"activity_types": acts, "outcomes": outs, "crime_types": crimes}


@router.post("/tasks", status_code=201, summary="Create a task", dependencies=[Depends(auth.require("tasks:write"))])
def create_task(body: TaskIn, request: Request) -> dict:
    _check_position(body.lon, body.lat)
    if body.closed_at is not None and body.outcome is None:
        raise Unprocessable("a closed task needs an outcome")
    with db.pool().connection() as conn:
        _check_codes(conn, body.activity_types, body.outcome)
        inc = _incidents(conn, body.incident_ids)
        lon, lat = body.lon, body.lat
        located = [r for r in inc if r[1] is not None]
        if lon is None and located:
            lon, lat = located[0][1], located[0][2]
        crime = body.crime_type or next((r[3] for r in inc if r[3]), None)
        created = body.created_at or datetime.now(timezone.utc)
        closed = body.closed_at or (datetime.now(timezone.utc) if body.outcome else None)
        _check_time(body.created_at, "created_at")
        _check_time(body.closed_at, "closed_at")
        if closed is not None and closed < created:
            raise Unprocessable("closed_at is before created_at")
        with conn.transaction():
            tid = conn.execute("""
                INSERT INTO tasks (created_at, closed_at, title, analyst, requested_by, incident_ids,
                                   activity_types, crime_type, outcome, minutes_spent, notes, geom)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                        CASE WHEN %s::float8 IS NULL THEN NULL
                             ELSE ST_SetSRID(ST_MakePoint(%s::float8, %s::float8), 4326) END)
                RETURNING id""",
                (created, closed, body.title, body.analyst.strip(), body.requested_by, body.incident_ids,
                 body.activity_types, crime, body.outcome, body.minutes_spent, body.notes, lon, lon, lat)
            ).fetchone()[0]
            task = _get(conn, tid)
            _announce(conn, task, "created", request)
    return task


@router.get("/tasks", summary="List tasks, newest first, with filters", dependencies=[Depends(auth.require("tasks:read"))])
def list_tasks(f: TaskFilter = Depends(), limit: int = Query(100, ge=1, le=1000),
               offset: int = Query(0, ge=0, le=2**62)) -> dict:
    where, params = f.where()
    with db.pool().connection() as conn:
        total = conn.execute(f"SELECT count(*) FROM tasks t WHERE {where}", params).fetchone()[0]
        rows = conn.execute(f"SELECT {TASK_JSON} FROM tasks t WHERE {where} "
                            "ORDER BY t.created_at DESC, t.id DESC LIMIT %s OFFSET %s",
                            params + [limit, offset]).fetchall()
    return {"total": total, "limit": limit, "offset": offset, "tasks": [orjson.loads(r[0]) for r in rows]}


CSV_COLUMNS = ("id", "created_at", "closed_at", "status", "title", "analyst", "requested_by", "incident_ids",
               "activity_types", "crime_type", "outcome", "minutes_spent", "lon", "lat", "notes")


@router.get("/tasks.csv", summary="The filtered tasks as CSV (lists joined with ';')", dependencies=[Depends(auth.require("tasks:read"))],
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_csv(request: Request, f: TaskFilter = Depends()) -> Response:
    where, params = f.where()
    with db.pool().connection() as conn:
        rows = conn.execute(f"SELECT {TASK_JSON} FROM tasks t WHERE {where} ORDER BY t.created_at, t.id",
                            params).fetchall()
        audit.record(conn, request, "export", "api/tasks.csv", {"rows": len(rows), **dict(request.query_params)})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for (txt,) in rows:
        t = orjson.loads(txt)
        t["incident_ids"] = ";".join(str(i) for i in t["incident_ids"])
        t["activity_types"] = ";".join(t["activity_types"])
        w.writerow(["" if t[c] is None else t[c] for c in CSV_COLUMNS])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="rtcc-tasks.csv"'})


@router.get("/tasks/{task_id}", summary="One task", dependencies=[Depends(auth.require("tasks:read"))])
def get_task(task_id: int) -> dict:
    with db.pool().connection() as conn:
        return _get(conn, task_id)


@router.patch("/tasks/{task_id}", summary="Update a task (only the fields given)", dependencies=[Depends(auth.require("tasks:write"))])
def update_task(task_id: int, body: TaskPatch, request: Request) -> dict:
    given = body.model_dump(exclude_unset=True)
    if not given:
        raise Unprocessable("nothing to update")
    nulls = sorted(k for k in NOT_NULL if k in given and given[k] is None)
    if nulls:
        raise Unprocessable(f"{', '.join(nulls)} cannot be null: leave a field out to keep it, or give a value")
    if ("lon" in given) != ("lat" in given):  # {"lon": null} alone once reached SQL without its lat (500)
        raise Unprocessable("give lon and lat together (both null clears the position)")
    if "lon" in given:
        _check_position(given["lon"], given["lat"])
    with db.pool().connection() as conn:
        _check_codes(conn, given.get("activity_types"), given.get("outcome"))
        if given.get("incident_ids"):
            _incidents(conn, given["incident_ids"])
        sets, params = [], []
        for k, v in given.items():
            if k in ("lon", "lat"):
                continue
            sets.append(f"{k} = %s")
            params.append(v)
        if "lon" in given:
            sets.append("geom = CASE WHEN %s::float8 IS NULL THEN NULL "
                        "ELSE ST_SetSRID(ST_MakePoint(%s::float8, %s::float8), 4326) END")
            params += [given["lon"], given["lon"], given["lat"]]
        with conn.transaction():
            status = conn.execute("SELECT status FROM tasks WHERE id = %s FOR UPDATE", (task_id,)).fetchone()
            if status is None:
                raise NotFound(f"no task {task_id}")
            if status[0] == "closed" and "outcome" in given and given["outcome"] is None:
                raise Unprocessable("a closed task needs an outcome: it cannot be set to null")
            conn.execute(f"UPDATE tasks SET {', '.join(sets)}, updated_at = now() WHERE id = %s", params + [task_id])
            task = _get(conn, task_id)
            _announce(conn, task, "updated", request)
    return task


@router.post("/tasks/{task_id}/close", summary="Close a task with its outcome", dependencies=[Depends(auth.require("tasks:write"))])
def close_task(task_id: int, body: TaskClose, request: Request) -> dict:
    with db.pool().connection() as conn:
        _check_codes(conn, None, body.outcome)
        with conn.transaction():
            task = _get(conn, task_id)
            closed = body.closed_at or datetime.now(timezone.utc)
            _check_time(body.closed_at, "closed_at")
            if closed < datetime.fromisoformat(task["created_at"]):
                raise Unprocessable("closed_at is before created_at")
            conn.execute("UPDATE tasks SET closed_at = %s, outcome = %s, "
                         "minutes_spent = COALESCE(%s, minutes_spent), updated_at = now() WHERE id = %s",
                         (closed, body.outcome, body.minutes_spent, task_id))
            task = _get(conn, task_id)
            _announce(conn, task, "closed", request)
    return task


DASHBOARD_SQL = """
WITH f AS (SELECT t.* FROM tasks t WHERE {where}),
bounds AS (  -- clamped to the accepted time window: at most ~1,050 weeks, whatever start and end say
    SELECT date_trunc(%(iv)s, greatest(COALESCE(%(start)s::timestamptz, min(created_at)), %(wlo)s)
                              AT TIME ZONE %(tz)s) AS lo,
           date_trunc(%(iv)s, least(COALESCE(%(end)s::timestamptz, greatest(max(created_at), now())), %(whi)s)
                              AT TIME ZONE %(tz)s) AS hi
    FROM f),
periods AS (
    SELECT g::date AS period FROM bounds, generate_series(lo, hi, ('1 ' || %(iv)s)::interval) g
    WHERE lo IS NOT NULL AND hi >= lo),
per AS (
    SELECT date_trunc(%(iv)s, created_at AT TIME ZONE %(tz)s)::date AS period, count(*) AS tasks,
           sum(minutes_spent) AS minutes, count(*) FILTER (WHERE status = 'closed') AS closed,
           count(*) FILTER (WHERE o.solved) AS solved
    FROM f LEFT JOIN task_outcomes o ON o.code = f.outcome GROUP BY 1)
SELECT json_build_object(
  'totals', (SELECT json_build_object(
        'tasks', count(*), 'open', count(*) FILTER (WHERE status = 'open'),
        'closed', count(*) FILTER (WHERE status = 'closed'), 'minutes', COALESCE(sum(minutes_spent), 0),
        'solved', count(*) FILTER (WHERE o.solved),
        'solve_rate', round((count(*) FILTER (WHERE o.solved))::numeric
                            / NULLIF(count(*) FILTER (WHERE status = 'closed'), 0), 4),
        'avg_hours_to_close', round((avg(extract(epoch FROM closed_at - created_at)) / 3600)::numeric, 2))
      FROM f LEFT JOIN task_outcomes o ON o.code = f.outcome),
  'by_period', COALESCE((SELECT json_agg(json_build_object('period', p.period, 'tasks', COALESCE(per.tasks, 0),
        'minutes', COALESCE(per.minutes, 0), 'closed', COALESCE(per.closed, 0), 'solved', COALESCE(per.solved, 0))
        ORDER BY p.period) FROM periods p LEFT JOIN per USING (period)), '[]'),
  'by_activity', COALESCE((SELECT json_agg(json_build_object('code', a.code, 'label', a.label,
        'tasks', COALESCE(x.tasks, 0), 'minutes', COALESCE(x.minutes, 0)) ORDER BY a.sort, a.code)
        FROM task_activity_types a LEFT JOIN (
            SELECT act, count(*) AS tasks, round(sum(minutes_spent::numeric / cardinality(activity_types)), 1) AS minutes
            FROM f, unnest(activity_types) act GROUP BY act) x ON x.act = a.code), '[]'),
  'by_crime_type', COALESCE((SELECT json_agg(json_build_object('crime_type', c, 'tasks', n, 'minutes', m,
        'solved', s) ORDER BY n DESC, c) FROM (
            SELECT COALESCE(crime_type, '(none)') AS c, count(*) AS n, sum(minutes_spent) AS m,
                   count(*) FILTER (WHERE o.solved) AS s
            FROM f LEFT JOIN task_outcomes o ON o.code = f.outcome GROUP BY 1) y), '[]'),
  'by_outcome', COALESCE((SELECT json_agg(json_build_object('code', o.code, 'label', o.label, 'solved', o.solved,
        'tasks', (SELECT count(*) FROM f WHERE f.outcome = o.code),
        'minutes', (SELECT COALESCE(sum(minutes_spent), 0) FROM f WHERE f.outcome = o.code)) ORDER BY o.sort)
        FROM task_outcomes o), '[]')
)::text"""


@router.get("/dashboard", summary="Task counts and time spent per period, activity, crime type and outcome",
            dependencies=[Depends(auth.require("tasks:read"))])
def dashboard(f: TaskFilter = Depends(),
              interval: Literal["week", "month"] = Query("week", description="Period of the time series")) -> dict:
    """Periods are calendar weeks (ISO, Monday) or months in the agency's time zone, by creation time,
    listed within the accepted time window (services/query/times.py) however wide start..end is.
    A task's minutes are split evenly between its activity types, so by_activity minutes add up to the total;
    solve_rate = solved outcomes / closed tasks."""
    where, params = f.where()
    wlo, whi = accepted_bounds()
    names = {"iv": interval, "tz": get_settings().timezone, "start": f.start, "end": f.end, "wlo": wlo, "whi": whi}
    # The filter's positional %s become named parameters so both kinds can share one statement.
    for i, v in enumerate(params):
        where = where.replace("%s", f"%(p{i})s", 1)
        names[f"p{i}"] = v
    with db.pool().connection() as conn:
        out = orjson.loads(conn.execute(DASHBOARD_SQL.format(where=where), names).fetchone()[0])
    out["filters"] = {"start": f.start, "end": f.end, "activity": f.activity, "crime_type": f.crime_type,
                      "status": f.status, "analyst": f.analyst, "outcome": f.outcome, "interval": interval,
                      "timezone": names["tz"]}
    return out
