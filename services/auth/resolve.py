"""Credentials -> Principal, with a short per-process cache so the request path stays lean (one
dict lookup per request; the database is asked again after RTCC_AUTH_CACHE_S, which also bounds
how long a revoked key or ended session keeps working in another process)."""
from __future__ import annotations

import hashlib
import threading
import time

from services import db
from services.auth import Principal
from services.auth.tokens import KEY_PREFIX, digest
from services.settings import get_settings

_cache: dict[tuple[str, bytes], tuple[float, Principal | None]] = {}
_lock = threading.Lock()
_MAX = 20_000  # entries; the cache is cleared when full (bounded: credentials are client input)


def forget() -> None:
    """Drop every cached answer (after a revocation or sign-out in this process)."""
    with _lock:
        _cache.clear()


def cached(kind: str, secret: bytes) -> tuple[bool, Principal | None]:
    hit = _cache.get((kind, secret))
    if hit is not None and hit[0] > time.monotonic():
        return True, hit[1]
    return False, None


def _keep(kind: str, secret: bytes, p: Principal | None) -> Principal | None:
    with _lock:
        if len(_cache) >= _MAX:
            _cache.clear()
        _cache[(kind, secret)] = (time.monotonic() + get_settings().auth_cache_s, p)
    return p


def bearer_secret(token: str) -> bytes:
    return digest(token)


def basic_secret(user: str, password: str) -> bytes:
    return hashlib.sha256(f"{user}\0{password}".encode()).digest()


def lookup_key(token: str, client: str | None) -> Principal | None:
    """An API key, recording its use (at most once per cache period per process)."""
    h = digest(token)
    with db.pool().connection() as conn:
        row = conn.execute("UPDATE api_keys SET last_used_at = now(), last_used_from = %s "
                           "WHERE key_hash = %s AND revoked_at IS NULL RETURNING name, role, feeds",
                           (client, h)).fetchone()
    p = Principal(row[0], row[1], "apikey", tuple(row[2]) if row[2] else None, "bearer") if row else None
    return _keep("bearer", h, p)


def lookup_session(token: str) -> Principal | None:
    h = digest(token)
    with db.pool().connection() as conn:
        row = conn.execute(
            "SELECT s.user_name, s.role, s.csrf, s.reason, s.case_number FROM sessions s "
            "JOIN users u ON u.name = s.user_name AND u.disabled_at IS NULL "
            "WHERE s.token_hash = %s AND s.expires_at > now()", (h,)).fetchone()
    p = Principal(row[0], row[1], "user", None, "session", row[2], row[3], row[4]) if row else None
    return _keep("session", h, p)


def lookup_basic(user: str, password: str, client: str | None) -> Principal | None:
    """HTTP Basic (QGIS, GDAL): an API key as the password (any user name), or a local account."""
    if password.startswith(KEY_PREFIX):
        p = lookup_key(password, client)
        return _keep("basic", basic_secret(user, password), p and Principal(p.name, p.role, p.kind, p.feeds, "basic"))
    from services import audit
    from services.auth import accounts
    with db.pool().connection() as conn:
        p = accounts.authenticate(conn, user, password, client)
        if p is None:
            audit.write(conn, user[:128], None, "login.failed", "basic", {"via": "basic"}, client)
            return None  # never cached: each failure counts towards the rate limit
    return _keep("basic", basic_secret(user, password), Principal(p.name, p.role, "user", None, "basic"))
