"""The front door, as pure ASGI (no per-request task or body copy): resolve the caller once, refuse
anonymous requests outside the public paths, check CSRF on cookie-authenticated writes, answer
CORS only for configured origins, and put the security headers on every answer.

Routes then decide with `auth.require(...)`; the mounted OGC app and the tiles read the same
principal from scope["state"].
"""
from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import quote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.auth import ANONYMOUS, Principal, resolve
from services.auth.sessions import COOKIE, CSRF_HEADER
from psycopg_pool import PoolTimeout

from services.errors import DATABASE_DOWN, RTCCError, retry_after, unavailable
from services.settings import get_settings

PUBLIC = frozenset({"/healthz", "/login", "/logout", "/favicon.ico", "/auth/oidc/login", "/auth/oidc/callback",
                    "/api/transparency"})
PUBLIC_PREFIXES = ("/static/", "/vendor/")  # the open-source web client's files (the login page needs them)
BASIC_PREFIXES = ("/ogc", "/tiles")         # QGIS and GDAL send HTTP Basic
PAGES = frozenset({"/", "/dashboard", "/audit", "/field"})  # a browser without a session is sent to /login
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The web client's pages: scripts only from us; MapLibre runs its workers from blob: URLs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "worker-src 'self' blob:; child-src blob:; connect-src 'self'; font-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw or name not in raw:
        return None
    for part in raw.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def _origin_of(scope: Scope, headers: Headers) -> str:
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path, method = scope["path"], scope["method"]
        origin = headers.get("origin")
        allowed = origin is not None and origin in get_settings().cors_origins
        if method == "OPTIONS" and origin and "access-control-request-method" in headers:
            await self._preflight(send, allowed, origin)
            return
        try:
            principal, problem = await self._resolve(scope, headers, path)
        except RTCCError as e:  # e.g. 429 from too many failed Basic sign-ins
            await self._json(send, e.status, e.detail)
            return
        except (*DATABASE_DOWN, PoolTimeout) as e:  # credentials cannot be checked: 503, as every route
            await self._json(send, 503, unavailable(e).detail, [(b"retry-after", retry_after().encode())])
            return
        scope.setdefault("state", {})["principal"] = principal or ANONYMOUS
        if principal is None and not is_public(path):
            await self._unauthorized(scope, send, headers, path, problem)
            return
        if method in UNSAFE:
            if origin and not allowed and origin != _origin_of(scope, headers):
                await self._json(send, 403, f"cross-origin request from {origin[:100]} refused "
                                            "(allowed origins: RTCC_CORS_ORIGINS)")
                return
            if principal is not None and principal.via == "session" and not is_public(path) and not hmac.compare_digest(
                    (headers.get(CSRF_HEADER) or "").encode(), (principal.csrf or "").encode()):
                await self._json(send, 403, "missing or wrong CSRF token (header X-CSRF-Token): reload the page")
                return
        await self.app(scope, receive, self._headers(send, path, origin if allowed else None))

    # -- who ---------------------------------------------------------------------------------
    async def _resolve(self, scope: Scope, headers: Headers, path: str) -> tuple[Principal | None, str]:
        client = scope["client"][0] if scope.get("client") else None
        auth = headers.get("authorization")
        if auth:
            scheme, _, value = auth.partition(" ")
            scheme, value = scheme.lower(), value.strip()
            if scheme == "bearer" and value:
                hit, p = resolve.cached("bearer", resolve.bearer_secret(value))
                if not hit:
                    p = await run_in_threadpool(resolve.lookup_key, value, client)
                return p, "the API key is not valid (unknown or revoked)"
            if scheme == "basic" and value and path.startswith(BASIC_PREFIXES):
                try:
                    user, _, password = base64.b64decode(value).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    return None, "malformed Basic credentials"
                hit, p = resolve.cached("basic", resolve.basic_secret(user, password))
                if not hit:
                    p = await run_in_threadpool(resolve.lookup_basic, user, password, client)
                return p, "wrong user name, password or API key"
        token = _cookie(headers, COOKIE)
        if token:
            hit, p = resolve.cached("session", resolve.bearer_secret(token))
            if not hit:
                p = await run_in_threadpool(resolve.lookup_session, token)
            return p, "the session has ended: sign in again"
        return None, "sign in, or send an API key (Authorization: Bearer KEY)"

    # -- answers -----------------------------------------------------------------------------
    async def _unauthorized(self, scope: Scope, send: Send, headers: Headers, path: str, problem: str) -> None:
        if scope["method"] == "GET" and path in PAGES and "text/html" in headers.get("accept", ""):
            target = path + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else "")
            await self._send(send, 303, b"", [(b"location", f"/login?next={quote(target, safe='')}".encode())])
            return
        realm = b'Basic realm="RTCC", charset="UTF-8"' if path.startswith(BASIC_PREFIXES) else b'Bearer realm="RTCC"'
        await self._json(send, 401, problem, [(b"www-authenticate", realm)])

    async def _preflight(self, send: Send, allowed: bool, origin: str) -> None:
        if not allowed:
            await self._json(send, 403, f"origin {origin[:100]} is not allowed (RTCC_CORS_ORIGINS)")
            return
        await self._send(send, 204, b"", [
            (b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin"),
            (b"access-control-allow-methods", b"GET, POST, PATCH, PUT, DELETE"),
            (b"access-control-allow-headers", b"Authorization, Content-Type, X-RTCC-Reason, X-RTCC-Case-Number"),
            (b"access-control-max-age", b"600")])

    async def _json(self, send: Send, status: int, detail: str, extra: list | None = None) -> None:
        await self._send(send, status, orjson.dumps({"detail": detail}),
                         [(b"content-type", b"application/json"), *(extra or [])])

    async def _send(self, send: Send, status: int, body: bytes, headers: list) -> None:
        await self._headers(send, "", None)({"type": "http.response.start", "status": status,
                                             "headers": [(b"content-length", str(len(body)).encode()), *headers]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _headers(send: Send, path: str, cors_origin: str | None) -> Send:
        """Security headers on every answer; CORS only for a configured origin (pygeoapi's own
        `Access-Control-Allow-Origin: *` never leaves the server)."""
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                hs = [(k, v) for k, v in message.get("headers", [])
                      if k.lower() not in (b"access-control-allow-origin", b"access-control-allow-credentials")]
                hs.append((b"x-content-type-options", b"nosniff"))
                hs.append((b"referrer-policy", b"same-origin"))
                if cors_origin:
                    hs += [(b"access-control-allow-origin", cors_origin.encode()), (b"vary", b"Origin")]
                if not path.startswith("/ogc") and any(
                        k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in hs):
                    hs += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": hs}
            await send(message)
        return wrapped
