"""The app with its front door removed: the baseline for "what does authentication cost?" (issue 13).

Every request is handed a fixed admin principal, with no credential lookup, cache, CSRF/CORS checks
or security headers; everything behind the door (roles, purpose, audit rows, routes) is unchanged.
Only `bench/` uses it (`--auth-overhead` in bench/proximity.py and bench/tiles.py): never deploy it.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from services import app as app_module
from services.auth import Principal

BENCH_ADMIN = Principal("bench", "admin", "apikey", via="bearer")


class FixedPrincipal:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["principal"] = BENCH_ADMIN
        await self.app(scope, receive, send)


def door_cost_us(n: int = 20_000) -> dict[str, float]:
    """CPU microseconds per request of each front door alone, in this process, in front of an app
    that answers at once: what authentication adds to every request, free of machine noise (CPU
    time, not wall time). The API key is resolved once, then served from the cache like in service."""
    import asyncio
    import time

    from services.auth.middleware import AuthMiddleware
    from _common import HEADERS

    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    headers = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()] + [(b"host", b"bench")]
    scope = {"type": "http", "method": "GET", "path": "/api/nearest", "query_string": b"lon=-76.61&lat=39.29",
             "headers": headers, "client": ("127.0.0.1", 5000), "scheme": "http"}

    async def loop(door) -> float:
        for _ in range(200):  # warm: the key lookup (a database read) happens here, then it is cached
            await door(dict(scope), receive, send)
        t0 = time.process_time()
        for _ in range(n):
            await door(dict(scope), receive, send)
        return (time.process_time() - t0) / n * 1e6

    doors = {"with authentication": AuthMiddleware(ok), "fixed principal": FixedPrincipal(ok)}
    return {k: asyncio.run(loop(d)) for k, d in doors.items()}


def create_app():
    app_module.AuthMiddleware = FixedPrincipal  # what create_app adds in front of every route
    return app_module.create_app()
