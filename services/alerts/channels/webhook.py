"""Generic webhook: the alert as JSON, signed with HMAC-SHA256 over "timestamp.body" so a receiver
can check origin and freshness (X-RTCC-Signature: sha256=<hex>, X-RTCC-Timestamp: unix seconds)."""
from __future__ import annotations

import hashlib
import hmac
import time

import orjson

from services.alerts.channels import http
from services.alerts.message import Message


def sign(secret: str, ts: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()


def payload(m: Message, key: str) -> dict:
    return {"idempotency_key": key, "alert": m.alert, "links": {
        "map": m.map_url, "field": m.field_url, "route": m.route_url,
        "cameras": [{"id": c.id, "name": c.name, "stream_url": c.stream_url, "snapshot_url": c.snapshot_url,
                     "sees_location": c.sees} for c in m.cameras]}}


def deliver(channel: dict, m: Message, key: str) -> None:
    body = orjson.dumps(payload(m, key))
    ts = str(int(time.time()))
    headers = {"X-RTCC-Timestamp": ts}
    if channel.get("secret"):
        headers["X-RTCC-Signature"] = sign(channel["secret"], ts, body)
    http.post(channel["url"], body, "application/json", key, headers)
