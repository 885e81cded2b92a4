"""The database pools of the process (psycopg 3), handed out lazily.

One pool strategy: every route, worker and provider uses the sync pool (`pool()`), from a worker
thread. The one exception is the async pool (`apool()`), kept for a single path: GET /api/nearest by
coordinates, the CAD call a dispatcher waits on. Its answer is one query, so the threadpool hop of a
sync route is a visible part of its latency (bench/proximity.py measures both); everything else does
more work per request than the hop costs, and stays sync. A new route uses `pool()`."""
from __future__ import annotations

import asyncio
import threading
from time import monotonic

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from services.settings import database_url, get_settings, owner_database_url

# Seconds a failing connection attempt is retried (with backoff) before the pool gives it up. The pool's
# default (300 s) lets the backoff grow to a minute during an outage, so requests kept failing for that
# long after the database was back; given up early, the next request starts a fresh attempt at once.
RECONNECT_S = 2.0

# Every pooled connection is tried (an empty query, ~0.1 ms) before it is handed out, so connections
# killed by a database restart are replaced instead of failing a request. psycopg_pool's own `check=`
# sleeps with backoff (1 s, 2 s, ...) after each failed check, so a restart that left N dead
# connections in the pool made the next request wait N-1 backoffs and time out (503 with the
# database up). Here a dead connection is handed back (the pool discards it and opens a replacement)
# and the next one is tried at once; during a real outage the wait ends in PoolTimeout -> 503.
class _CheckedPool(ConnectionPool):
    def getconn(self, timeout: float | None = None):
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            conn = super().getconn(max(deadline - monotonic(), 0.01))
            try:
                ConnectionPool.check_connection(conn)
            except psycopg.Error:
                self.putconn(conn)
                continue
            return conn


class _CheckedAsyncPool(AsyncConnectionPool):
    async def getconn(self, timeout: float | None = None):
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            conn = await super().getconn(max(deadline - monotonic(), 0.01))
            try:
                await AsyncConnectionPool.check_connection(conn)
            except psycopg.Error:
                await self.putconn(conn)
                continue
            return conn


_pool: ConnectionPool | None = None
_lock = threading.Lock()


def pool() -> ConnectionPool:
    global _pool
    with _lock:
        if _pool is None:
            s = get_settings()
            _pool = _CheckedPool(
                database_url(), min_size=s.pool_min, max_size=s.pool_max, timeout=s.pool_timeout_s,
                reconnect_timeout=RECONNECT_S, kwargs={"autocommit": True}, open=True, name="rtcc",
            )
        return _pool


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None


_apools: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


async def apool() -> AsyncConnectionPool:
    """The async pool of the running event loop (opened on first use; one per loop, since a test
    client may run several loops in one process). A route awaiting it skips the threadpool hop of a
    sync route (see the module docstring for the one route that does)."""
    loop = asyncio.get_running_loop()
    task = _apools.get(loop)
    if task is None:
        async def open_() -> AsyncConnectionPool:
            s = get_settings()
            p = _CheckedAsyncPool(database_url(), min_size=1, max_size=s.pool_max, timeout=s.pool_timeout_s,
                                  reconnect_timeout=RECONNECT_S, kwargs={"autocommit": True}, open=False,
                                  name="rtcc-async")
            await p.open()
            return p
        task = _apools[loop] = loop.create_task(open_())  # concurrent first callers share the opening
    return await task


async def close_apool() -> None:
    task = _apools.pop(asyncio.get_running_loop(), None)
    if task is not None:
        await (await task).close()


def connect(**kw) -> psycopg.Connection:
    """A standalone connection outside the pool, with the server's (least) privileges."""
    return psycopg.connect(database_url(), **kw)


def connect_owner(**kw) -> psycopg.Connection:
    """A connection as the schema owner: migrations, loaders and the operator's CLI."""
    return psycopg.connect(owner_database_url(), **kw)
