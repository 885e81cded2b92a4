"""The audit trail (DESIGN.md): who (the authenticated principal, never a header), their role, what,
when, from where, and for plate data the stated reason and case number. The table is append-only
and hash-chained in PostgreSQL (sql/101_audit_chain.sql); `rtcc audit verify` walks the chain.

Write audit rows outside long transactions: each insert holds the chain's head until it commits.
"""
from __future__ import annotations

import orjson
import psycopg
from starlette.requests import HTTPConnection

PERSONAL_KINDS = frozenset({"alpr_read"})  # event kinds whose reads are audited (and need a purpose)

INSERT = ("INSERT INTO audit_log (who, role, action, resource, purpose, reason, case_number, client, detail) "
          "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)")


def write(conn: psycopg.Connection, who: str, role: str | None, action: str, resource: str,
          detail: dict | None = None, client: str | None = None, purpose=None) -> None:
    """One audit row for an identity known without a request (CLI, jobs, sign-in attempts)."""
    reason = getattr(purpose, "reason", None)
    case = getattr(purpose, "case_number", None)
    conn.execute(INSERT, (who, role, action, resource, reason, reason, case, client,
                          orjson.dumps(detail or {}, default=str).decode()))


def record(conn: psycopg.Connection, request: HTTPConnection, action: str, resource: str,
           detail: dict | None = None) -> None:
    """One audit row for this request: its principal, client address and stated purpose (if any)."""
    from services import auth
    p = auth.current_principal(request)
    purpose = request.scope.get("state", {}).get("purpose") or auth.stated_purpose(request)
    write(conn, p.name, p.role or None, action, resource, detail,
          request.client.host if request.client else None, purpose)


def system(conn: psycopg.Connection, action: str, resource: str, detail: dict | None = None) -> None:
    """A row written by the server itself (retention job) or the operator's command line."""
    import getpass
    try:
        who = f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment
        who = "cli"
    write(conn, who, "admin", action, resource, detail)


def verify(conn: psycopg.Connection) -> dict:
    """Walk the chain (in PostgreSQL): rows checked, the first broken row and why, the head."""
    checked, bad, problem, head_seq, head_hash = conn.execute("SELECT * FROM rtcc_audit_verify()").fetchone()
    return {"ok": problem is None, "checked": checked, "bad_seq": bad, "problem": problem,
            "head_seq": head_seq, "head_hash": head_hash}
