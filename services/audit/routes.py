"""GET /api/audit: the audit log for supervisors (filters: user, action, case number, time)."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query, Request

from services import audit, auth, db

router = APIRouter(prefix="/api", tags=["audit"])


def _utc(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=timezone.utc) if t is not None and t.tzinfo is None else t


@router.get("/audit", summary="Audit log entries, newest first (supervisors)")
def list_audit(request: Request,
               user: str | None = Query(None, max_length=128, description="who (user or API key name)"),
               action: str | None = Query(None, max_length=100, description="exact action, or a prefix ending in '.'"),
               case_number: str | None = Query(None, max_length=64),
               start: datetime | None = Query(None, description="from (RFC 3339)"),
               end: datetime | None = Query(None, description="until (RFC 3339, exclusive)"),
               limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
               _: auth.Principal = Depends(auth.require("audit:read"))) -> dict:
    conds, params = ["TRUE"], []
    if user:
        conds.append("who = %s"); params.append(user)
    if action:
        if action.endswith("."):
            conds.append("starts_with(action, %s)")
        else:
            conds.append("action = %s")
        params.append(action)
    if case_number:
        conds.append("case_number = %s"); params.append(case_number)
    if start:
        conds.append("at >= %s"); params.append(_utc(start))
    if end:
        conds.append("at < %s"); params.append(_utc(end))
    where = " AND ".join(conds)
    with db.pool().connection() as conn:
        cur = conn.execute(f"SELECT seq, at, who, role, action, resource, reason, case_number, client, detail "
                           f"FROM audit_log WHERE {where} ORDER BY seq DESC NULLS LAST, id DESC LIMIT %s OFFSET %s",
                           (*params, limit, offset))
        cols = [c.name for c in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        audit.record(conn, request, "audit.read", "api/audit", dict(request.query_params))
    return {"entries": rows, "limit": limit, "offset": offset}
