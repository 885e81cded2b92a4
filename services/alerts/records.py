"""Alert records: GET /api/alerts, the lifecycle new → acknowledged → dispatched → closed (who, when,
notes), and the `event: alert` message on /api/live."""
from __future__ import annotations


import orjson
import psycopg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services import audit, auth, db, live
from services.errors import BadRequest, NotFound, Unprocessable
from services.bus import publish

router = APIRouter(prefix="/api", tags=["alerts"])

ALERT_JSON = """jsonb_build_object(
    'id', a.id, 'rule_id', a.rule_id, 'rule', a.rule_name, 'priority', a.priority, 'status', a.status,
    'title', a.title, 'match', a.match, 'kind', a.kind, 'event_ids', a.event_ids, 'event', a.event,
    'hotlist', a.hotlist, 'zone', a.zone, 'observed_at', a.observed_at, 'created_at', a.created_at,
    'address', a.address, 'district', a.district, 'beat', a.beat, 'lon', ST_X(a.geom), 'lat', ST_Y(a.geom),
    'proximity', a.proximity, 'ack_by', a.ack_by, 'ack_at', a.ack_at, 'dispatched_by', a.dispatched_by,
    'dispatched_at', a.dispatched_at, 'closed_by', a.closed_by, 'closed_at', a.closed_at, 'notes', a.notes,
    'deliveries', (SELECT COALESCE(jsonb_agg(jsonb_build_object('channel', c.name, 'kind', c.kind,
                       'status', d.status, 'attempts', d.attempts, 'last_error', d.last_error,
                       'delivered_at', d.delivered_at) ORDER BY c.name), '[]'::jsonb)
                   FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id WHERE d.alert_id = a.id))"""

# action -> (status it sets, statuses it may come from, the who/when columns)
TRANSITIONS = {
    "ack": ("acknowledged", ("new",), "ack"),
    "dispatch": ("dispatched", ("new", "acknowledged"), "dispatched"),
    "close": ("closed", ("new", "acknowledged", "dispatched"), "closed"),
}


def get_alert(conn: psycopg.Connection, alert_id: int) -> dict:
    row = conn.execute(f"SELECT {ALERT_JSON}::text FROM alerts a WHERE a.id = %s", (alert_id,)).fetchone()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return orjson.loads(row[0])


@live.fetcher("alert")
def alert_messages(conn: psycopg.Connection, p: dict) -> list[live.Message]:
    cur = conn.execute(f"SELECT a.kind, (jsonb_build_object('type', 'alert') || {ALERT_JSON})::text FROM alerts a "
                       "WHERE a.id = ANY(%s) ORDER BY a.id", (p.get("ids") or [],))
    return [("alert", kind, t) for kind, t in cur.fetchall()]


@router.get("/alerts", summary="Alerts, newest first")
def list_alerts(request: Request,
                status: str | None = Query(None, description="comma-separated: new, acknowledged, dispatched, closed"),
                district: str | None = Query(None, description="comma-separated districts"),
                priority: int | None = Query(None, ge=1, le=3, description="only this priority or higher (1 = highest)"),
                since_id: int | None = Query(None, ge=0, description="only alerts with a larger id"),
                limit: int = Query(100, ge=1, le=1000),
                _: auth.Principal = Depends(auth.require("alerts:read"))) -> list[dict]:
    conds, args = ["TRUE"], []
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        bad = [s for s in wanted if s not in ("new", "acknowledged", "dispatched", "closed")]
        if bad:
            raise BadRequest(f"unknown status {', '.join(bad)}: use new, acknowledged, dispatched, closed")
        conds.append("a.status = ANY(%s)")
        args.append(wanted)
    if district:
        conds.append("a.district = ANY(%s)")
        args.append([d.strip() for d in district.split(",")])
    if priority:
        conds.append("a.priority <= %s")
        args.append(priority)
    if since_id is not None:
        conds.append("a.id > %s")
        args.append(since_id)
    with db.pool().connection() as conn:
        rows = conn.execute(f"SELECT {ALERT_JSON}::text FROM alerts a WHERE {' AND '.join(conds)} "
                            "ORDER BY a.id DESC LIMIT %s", (*args, limit)).fetchall()
        # Hotlist alerts name plates: reading them is a personal-data read.
        audit.record(conn, request, "alerts.list", "api/alerts", {"n": len(rows)})
    return [orjson.loads(r[0]) for r in rows]


@router.get("/alerts/{alert_id}", summary="One alert with its proximity answer and deliveries")
def one_alert(alert_id: int, request: Request, _: auth.Principal = Depends(auth.require("alerts:read"))) -> dict:
    with db.pool().connection() as conn:
        out = get_alert(conn, alert_id)
        audit.record(conn, request, "alerts.read", f"alerts/{alert_id}", {})
    return out


class Step(BaseModel):
    note: str | None = Field(None, max_length=5000)
    unit: str | None = Field(None, max_length=100, description="dispatch: the unit sent")


def transition(conn: psycopg.Connection, alert_id: int, action: str, who: str, step: Step) -> dict:
    status, allowed, col = TRANSITIONS[action]
    note = {"action": action, "by": who, "text": step.note, "unit": step.unit}
    with conn.transaction():
        row = conn.execute("SELECT status FROM alerts WHERE id = %s FOR UPDATE", (alert_id,)).fetchone()
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        if row[0] == status:
            return get_alert(conn, alert_id)  # one tap twice (or two officers at once) is not an error
        if row[0] not in allowed:
            raise Unprocessable(f"alert {alert_id} is {row[0]}: it cannot be moved to {status}")
        conn.execute(f"UPDATE alerts SET status = %s, {col}_by = %s, {col}_at = now(), "
                     "notes = notes || jsonb_build_array(%s::jsonb || jsonb_build_object('at', now())) WHERE id = %s",
                     (status, who, orjson.dumps(note).decode(), alert_id))
        publish(conn, "alert", {"ids": [alert_id]})
        return get_alert(conn, alert_id)


def _step_route(action: str):
    async def route(alert_id: int, request: Request, body: Step | None = None,
                    principal: auth.Principal = Depends(auth.require("alerts:write"))) -> dict:
        from fastapi.concurrency import run_in_threadpool

        def run():
            with db.pool().connection() as conn:
                out = transition(conn, alert_id, action, principal.name, body or Step())
                audit.record(conn, request, f"alert.{action}", f"alerts/{alert_id}", {"note": (body or Step()).note})
                return out
        return await run_in_threadpool(run)
    route.__name__ = f"alert_{action}"
    return route


for _action, (_status, _, _) in TRANSITIONS.items():
    router.add_api_route(f"/alerts/{{alert_id}}/{_action}", _step_route(_action), methods=["POST"],
                         summary=f"Move an alert to '{_status}' (who and when recorded; optional note)")


@router.post("/alerts/{alert_id}/note", summary="Add a note to an alert")
def add_note(alert_id: int, body: Step, request: Request,
             principal: auth.Principal = Depends(auth.require("alerts:write"))) -> dict:
    if not body.note:
        raise Unprocessable("a note needs its text")
    note = {"action": "note", "by": principal.name, "text": body.note}
    with db.pool().connection() as conn:
        if not conn.execute("UPDATE alerts SET notes = notes || jsonb_build_array(%s::jsonb || "
                            "jsonb_build_object('at', now())) WHERE id = %s",
                            (orjson.dumps(note).decode(), alert_id)).rowcount:
            raise NotFound(f"no alert {alert_id}")
        publish(conn, "alert", {"ids": [alert_id]})
        audit.record(conn, request, "alert.note", f"alerts/{alert_id}", {})
        return get_alert(conn, alert_id)
