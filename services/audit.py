"""The audit trail (DESIGN.md): every read of ALPR or other personal data leaves a row in
audit_log saying who, what, when and the stated purpose.

Identity comes from the X-RTCC-User header and purpose from X-RTCC-Purpose (or `purpose=`),
until the security issue puts real authentication in front of them.
"""
from __future__ import annotations

import orjson
import psycopg
from starlette.requests import HTTPConnection

PERSONAL_KINDS = frozenset({"alpr_read"})  # event kinds whose reads are audited


def who(request: HTTPConnection) -> tuple[str, str | None]:
    user = request.headers.get("x-rtcc-user") or "anonymous"
    purpose = request.headers.get("x-rtcc-purpose") or request.query_params.get("purpose")
    return user, purpose


def record(conn: psycopg.Connection, request: HTTPConnection, action: str, resource: str,
           detail: dict | None = None) -> None:
    user, purpose = who(request)
    conn.execute("INSERT INTO audit_log (who, action, resource, purpose, detail) VALUES (%s, %s, %s, %s, %s)",
                 (user, action, resource, purpose, orjson.dumps(detail or {}, default=str).decode()))
