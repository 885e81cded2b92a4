"""Channels admin: POST/GET/DELETE /api/channels (administrators), seeded from settings at start-up;
GET /api/deliveries shows the outbox (dead letters with their last error) and POST .../retry revives one."""
from __future__ import annotations

from typing import Literal

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services import audit, auth, db
from services.alerts.channels import check_url
from services.bus import publish
from services.errors import NotFound, Unprocessable
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["alerts"])
FIELDS = ("id", "name", "kind", "url", "rule_ids", "max_priority", "districts", "active", "created_at")


class ChannelIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["slack", "teams", "tak", "cap", "webhook", "email"]
    url: str = Field(min_length=1, max_length=2000, description="http(s) webhook; tak: tcp://host:port or "
                     "udp://group:port; email: smtp://host:port?to=a@x")
    secret: str | None = Field(None, max_length=500, description="webhook: HMAC-SHA256 key")
    rules: list[int | str] | None = Field(None, max_length=100, description="only alerts of these rules (ids or names)")
    max_priority: int | None = Field(None, ge=1, le=3, description="only alerts of this priority or higher")
    districts: list[str] | None = Field(None, max_length=50, description="only alerts in these districts")
    active: bool = True


def upsert(conn: psycopg.Connection, c: ChannelIn) -> dict:
    try:
        check_url(c.kind, c.url)
    except ValueError as e:
        raise Unprocessable(str(e)) from None
    rule_ids = None
    if c.rules is not None:
        rows = conn.execute("SELECT id, name FROM alert_rules WHERE id::text = ANY(%s) OR name = ANY(%s)",
                            ([str(r) for r in c.rules], [str(r) for r in c.rules])).fetchall()
        found = {str(i) for i, _ in rows} | {n for _, n in rows}
        missing = [str(r) for r in c.rules if str(r) not in found]
        if missing:
            raise Unprocessable(f"unknown rule(s): {', '.join(missing)}")
        rule_ids = sorted({i for i, _ in rows})
    row = conn.execute(f"""
        INSERT INTO alert_channels (name, kind, url, secret, rule_ids, max_priority, districts, active)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, url = EXCLUDED.url, secret = EXCLUDED.secret,
            rule_ids = EXCLUDED.rule_ids, max_priority = EXCLUDED.max_priority, districts = EXCLUDED.districts,
            active = EXCLUDED.active
        RETURNING {', '.join(FIELDS)}""",
        (c.name, c.kind, c.url, c.secret, rule_ids, c.max_priority, c.districts, c.active)).fetchone()
    return dict(zip(FIELDS, row))


def seed(conn: psycopg.Connection) -> int:
    """The channels of RTCC_CHANNELS (JSON list), created or updated by name at start-up."""
    n = 0
    for c in get_settings().channels:
        try:
            upsert(conn, ChannelIn(**c))
            n += 1
        except Exception as e:  # a bad entry in the environment must not stop the server
            import logging
            logging.getLogger("rtcc.alerts").error("channel %r from settings not seeded: %s", c.get("name"), e)
    return n


@router.get("/channels", summary="Delivery channels (secrets are never shown)")
def list_channels(_: auth.Principal = Depends(auth.require("channels:admin"))) -> list[dict]:
    with db.pool().connection() as conn:
        rows = conn.execute(f"SELECT {', '.join(FIELDS)}, secret IS NOT NULL FROM alert_channels ORDER BY name").fetchall()
    return [{**dict(zip(FIELDS, r[:-1])), "signed": r[-1]} for r in rows]


@router.post("/channels", status_code=201, summary="Create (or replace, by name) a delivery channel")
def create_channel(body: ChannelIn, request: Request,
                   _: auth.Principal = Depends(auth.require("channels:admin"))) -> dict:
    with db.pool().connection() as conn:
        out = upsert(conn, body)
        audit.record(conn, request, "channel.upsert", f"channels/{out['id']}", {"name": body.name, "kind": body.kind})
    return out


@router.delete("/channels/{ref}", summary="Remove a channel (by id or name); its pending deliveries go too")
def delete_channel(ref: str, request: Request, _: auth.Principal = Depends(auth.require("channels:admin"))) -> dict:
    with db.pool().connection() as conn:
        row = conn.execute("DELETE FROM alert_channels WHERE id::text = %s OR name = %s RETURNING id",
                           (ref, ref)).fetchone()
        if row is None:
            raise NotFound(f"no channel '{ref[:100]}'")
        audit.record(conn, request, "channel.delete", f"channels/{row[0]}", {})
    return {"deleted": row[0]}


@router.get("/deliveries", summary="The outbox: deliveries with their state, attempts and last error")
def list_deliveries(status: Literal["pending", "delivered", "dead"] | None = None,
                    alert_id: int | None = None, limit: int = Query(100, ge=1, le=1000),
                    _: auth.Principal = Depends(auth.require("alerts:read"))) -> list[dict]:
    with db.pool().connection() as conn:
        rows = conn.execute("""
            SELECT d.id, d.alert_id, c.name, c.kind, d.status, d.attempts, d.next_at, d.last_error, d.created_at,
                   d.delivered_at, d.idem_key::text
            FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id
            WHERE (%s::text IS NULL OR d.status = %s) AND (%s::bigint IS NULL OR d.alert_id = %s)
            ORDER BY d.id DESC LIMIT %s""", (status, status, alert_id, alert_id, limit)).fetchall()
    keys = ("id", "alert_id", "channel", "kind", "status", "attempts", "next_at", "last_error", "created_at",
            "delivered_at", "idempotency_key")
    return [dict(zip(keys, r)) for r in rows]


@router.post("/deliveries/{delivery_id}/retry", summary="Send a dead-lettered delivery again (same idempotency key)")
def retry(delivery_id: int, request: Request, _: auth.Principal = Depends(auth.require("channels:admin"))) -> dict:
    with db.pool().connection() as conn:
        row = conn.execute("UPDATE alert_deliveries SET status = 'pending', attempts = 0, next_at = now() "
                           "WHERE id = %s AND status = 'dead' RETURNING id", (delivery_id,)).fetchone()
        if row is None:
            raise Unprocessable(f"delivery {delivery_id} is not dead-lettered (or does not exist)")
        publish(conn, "outbox", {"delivery": delivery_id})   # wakes the outbox workers
        audit.record(conn, request, "delivery.retry", f"deliveries/{delivery_id}", {})
    return {"retrying": delivery_id}
