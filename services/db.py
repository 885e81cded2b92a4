"""One database pool for the process (psycopg 3), handed out lazily."""
from __future__ import annotations

import threading

import psycopg
from psycopg_pool import ConnectionPool

from services.settings import database_url, get_settings

_pool: ConnectionPool | None = None
_lock = threading.Lock()


def pool() -> ConnectionPool:
    global _pool
    with _lock:
        if _pool is None:
            s = get_settings()
            _pool = ConnectionPool(
                database_url(), min_size=s.pool_min, max_size=s.pool_max,
                kwargs={"autocommit": True}, open=True, name="rtcc",
            )
        return _pool


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None


def connect(**kw) -> psycopg.Connection:
    """A standalone connection (CLI, bulk loads, LISTEN) outside the pool."""
    return psycopg.connect(database_url(), **kw)
