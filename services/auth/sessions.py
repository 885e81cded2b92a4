"""Browser sessions: a random token in an HttpOnly, SameSite=Lax cookie (Secure over https), its
SHA-256 in `sessions`, and a CSRF token the web client sends back on state-changing requests."""
from __future__ import annotations

from datetime import timedelta

import psycopg

from services.auth import Principal
from services.auth.tokens import digest, new_token
from services.settings import get_settings

COOKIE = "rtcc_session"
CSRF_COOKIE = "rtcc_csrf"   # readable by the page's script (double submit); the session row holds the truth
CSRF_HEADER = "x-csrf-token"


def create_session(conn: psycopg.Connection, principal: Principal, client: str | None) -> tuple[str, str]:
    """A new session for this principal: (cookie token, csrf token)."""
    token, csrf = new_token(), new_token()
    conn.execute("INSERT INTO sessions (token_hash, user_name, role, csrf, client, expires_at) "
                 "VALUES (%s, %s, %s, %s, %s, now() + %s)",
                 (digest(token), principal.name, principal.role, csrf, client,
                  timedelta(hours=get_settings().session_hours)))
    conn.execute("DELETE FROM sessions WHERE expires_at < now()")  # housekeeping, cheap with the index
    return token, csrf


def end_session(conn: psycopg.Connection, token: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = %s", (digest(token),))
    from services.auth import resolve
    resolve.forget()


def state_purpose(conn: psycopg.Connection, token: str, reason: str, case_number: str) -> None:
    conn.execute("UPDATE sessions SET reason = %s, case_number = %s WHERE token_hash = %s",
                 (reason, case_number, digest(token)))
    from services.auth import resolve
    resolve.forget()
