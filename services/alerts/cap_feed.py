"""GET /api/cap.atom (an Atom feed of the recent alerts, each a CAP 1.2 message) and
GET /api/alerts/{id}.cap (one CAP message)."""
from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from services import audit, auth, db
from services.alerts import message
from services.alerts.channels import cap
from services.alerts.records import ALERT_JSON, get_alert

router = APIRouter(prefix="/api", tags=["alerts"])


@router.get("/cap.atom", summary="Atom feed of recent alerts as CAP 1.2 messages",
            response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}})
def cap_atom(request: Request, limit: int = Query(50, ge=1, le=500),
             _: auth.Principal = Depends(auth.require("alerts:read"))) -> Response:
    with db.pool().connection() as conn:
        rows = conn.execute(f"SELECT {ALERT_JSON}::text FROM alerts a ORDER BY a.id DESC LIMIT %s", (limit,)).fetchall()
        msgs = [message.build(conn, orjson.loads(r[0])) for r in rows]
        audit.record(conn, request, "alerts.cap_feed", "api/cap.atom", {"n": len(msgs)})
    body = cap.atom_feed(msgs, f"{message.base_url()}/api/cap.atom")
    return Response(body, media_type="application/atom+xml")


@router.get("/alerts/{alert_id}.cap", summary="One alert as a CAP 1.2 message",
            response_class=Response, responses={200: {"content": {"application/cap+xml": {}}}})
def alert_cap(alert_id: int, request: Request, _: auth.Principal = Depends(auth.require("alerts:read"))) -> Response:
    with db.pool().connection() as conn:
        m = message.build(conn, get_alert(conn, alert_id))
        audit.record(conn, request, "alerts.read", f"alerts/{alert_id}.cap", {})
    return Response(cap.cap_xml(m), media_type="application/cap+xml")
