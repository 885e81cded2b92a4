"""API keys for CAD, sensor feeds and scripts: created once (the key is shown only then), stored
as SHA-256, sent as `Authorization: Bearer KEY` (or as the password of HTTP Basic on /ogc, /tiles)."""
from __future__ import annotations

import psycopg

from services.auth.accounts import check_role
from services.auth.tokens import KEY_PREFIX, digest, new_token
from services.errors import NotFound, Unprocessable


def create_key(conn: psycopg.Connection, name: str, role: str, feeds: list[str] | None = None,
               created_by: str | None = None) -> tuple[int, str]:
    """A new key: (id, key). The key itself is never stored."""
    check_role(role)
    if feeds:
        from services.ingest.feeds import FEEDS
        unknown = [f for f in feeds if f not in FEEDS]
        if unknown:
            raise Unprocessable(f"unknown feed(s) {', '.join(unknown)}: one of {', '.join(FEEDS)}")
    key = new_token(KEY_PREFIX)
    kid = conn.execute("INSERT INTO api_keys (name, role, feeds, key_hash, prefix, created_by) "
                       "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                       (name, role, feeds or None, digest(key), key[:len(KEY_PREFIX) + 6], created_by)).fetchone()[0]
    return kid, key


def revoke_key(conn: psycopg.Connection, ident: str) -> int:
    """Revoke by id, or every live key of that name; returns how many."""
    if ident.isascii() and ident.isdigit():
        cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (int(ident),))
    else:
        cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL", (ident,))
    if cur.rowcount == 0:
        raise NotFound(f"no live API key '{ident}'")
    from services.auth import resolve
    resolve.forget()
    return cur.rowcount


def list_keys(conn: psycopg.Connection) -> list[dict]:
    cur = conn.execute("SELECT id, name, role, feeds, prefix, created_at, created_by, revoked_at, last_used_at, "
                       "last_used_from FROM api_keys ORDER BY id")
    return [dict(zip([c.name for c in cur.description], r)) for r in cur.fetchall()]
