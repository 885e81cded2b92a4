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


def create_app():
    app_module.AuthMiddleware = FixedPrincipal  # what create_app adds in front of every route
    return app_module.create_app()
