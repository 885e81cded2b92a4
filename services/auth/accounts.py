"""Local accounts: add, disable, reset a password, and sign in with failed attempts rate-limited.

Failures are counted in the database (login_failures), so every app process sees the same count.
"""
from __future__ import annotations

import psycopg

from services.auth import ROLES, Principal
from services.auth.tokens import generated_password, hash_password, verify_password
from services.errors import NotFound, TooManyRequests, Unprocessable
from services.settings import get_settings


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Unprocessable(f"unknown role '{role}': one of {', '.join(ROLES)}")
    return role


def add_user(conn: psycopg.Connection, name: str, role: str, password: str | None = None,
             source: str = "local") -> str:
    """Create an account; returns the password (generated when none is given)."""
    check_role(role)
    password = password if password is not None or source != "local" else generated_password()
    try:
        conn.execute("INSERT INTO users (name, role, password_hash, source, password_set_at) "
                     "VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END)",
                     (name, role, hash_password(password) if password else None, source, bool(password)))
    except psycopg.errors.UniqueViolation:
        raise Unprocessable(f"user '{name}' already exists") from None
    except psycopg.errors.CheckViolation:
        raise Unprocessable(f"user name '{name[:80]}' must be letters, digits and . _ @ + - (up to 128)") from None
    return password or ""


def set_disabled(conn: psycopg.Connection, name: str, disabled: bool = True) -> None:
    cur = conn.execute("UPDATE users SET disabled_at = CASE WHEN %s THEN now() END WHERE name = %s",
                       (disabled, name))
    if cur.rowcount == 0:
        raise NotFound(f"no user '{name}'")
    if disabled:
        conn.execute("DELETE FROM sessions WHERE user_name = %s", (name,))


def reset_password(conn: psycopg.Connection, name: str, password: str | None = None) -> str:
    password = password or generated_password()
    cur = conn.execute("UPDATE users SET password_hash = %s, password_set_at = now() WHERE name = %s",
                       (hash_password(password), name))
    if cur.rowcount == 0:
        raise NotFound(f"no user '{name}'")
    conn.execute("DELETE FROM sessions WHERE user_name = %s", (name,))
    conn.execute("DELETE FROM login_failures WHERE user_name = %s", (name,))
    return password


def list_users(conn: psycopg.Connection) -> list[dict]:
    cur = conn.execute("SELECT name, role, source, created_at, disabled_at FROM users ORDER BY name")
    return [dict(zip([c.name for c in cur.description], r)) for r in cur.fetchall()]


def _throttled(conn: psycopg.Connection, name: str, client: str | None) -> bool:
    s = get_settings()
    n_user, n_client = conn.execute(
        "SELECT count(*) FILTER (WHERE user_name = %(u)s), count(*) FILTER (WHERE client = %(c)s) "
        "FROM login_failures WHERE at > now() - make_interval(secs => %(w)s) "
        "AND (user_name = %(u)s OR client = %(c)s)",
        {"u": name, "c": client, "w": s.login_window_s}).fetchone()
    # per client a little more room: several people may sign in from one RTCC workstation
    return n_user >= s.login_max_failures or n_client >= 4 * s.login_max_failures


def authenticate(conn: psycopg.Connection, name: str, password: str, client: str | None) -> Principal | None:
    """The principal for a correct name and password of an enabled local account; None otherwise
    (the failure is counted); 429 while too many recent failures stand against the name or client."""
    if _throttled(conn, name, client):
        raise TooManyRequests("too many failed sign-ins: wait a few minutes and try again")
    row = conn.execute("SELECT role, password_hash FROM users WHERE name = %s AND disabled_at IS NULL "
                       "AND source = 'local'", (name,)).fetchone()
    if row is None or not verify_password(row[1], password):
        conn.execute("INSERT INTO login_failures (user_name, client) VALUES (%s, %s)", (name[:128], client))
        return None
    return Principal(name, row[0], "user")


def ensure_first_accounts(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """First start: `admin` (RTCC_ADMIN_PASSWORD or a generated password) and, with
    RTCC_DEMO_ACCOUNTS, one demo account per role. Returns (name, role, password) of those made."""
    s = get_settings()
    made = []
    if conn.execute("SELECT 1 FROM users WHERE name = 'admin'").fetchone() is None:
        made.append(("admin", "admin", add_user(conn, "admin", "admin", s.admin_password or None)))
    if s.demo_accounts:
        for role in ROLES:
            name = f"demo-{role}"
            if role != "admin" and conn.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone() is None:
                made.append((name, role, add_user(conn, name, role)))
    return made
