"""One family of domain errors and the table mapping each to its HTTP status.

Routes raise these; services.app registers one handler. Bad input is a 4xx with a sentence, never a 500; a
database that cannot be reached (down, restarting, pool exhausted) is a 503 with Retry-After.

400 or 422, one rule for every route (RFC 9110 §15.5.1 and §15.5.21):
- 400 `BadRequest`: the request cannot be used as sent. Every bad query-string or path parameter
  (malformed, out of range, or inconsistent with another: a date that is no date, an interval that
  ends before it starts, an unknown filter property, an address that cannot be geocoded), on /ogc,
  /tiles and /api alike: OGC API - Features and Tiles require 400 for an invalid query parameter,
  and FastAPI's own validation of declared query parameters answers the same. Also a body that
  cannot be parsed at all (not JSON, not CSV, bad encoding).
- 422 `Unprocessable`: a body that parses but whose content cannot be processed: a field that fails
  validation, an unknown reference (incident id, outcome code), a rule between fields (closed_at
  before created_at), a batch too large; and an action the resource's state refuses (acknowledging
  a closed alert).
"""
from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from services.responses import JSONResponse

log = logging.getLogger("rtcc.errors")


class RTCCError(Exception):
    status = 400

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(RTCCError):
    status = 400


class Unauthorized(RTCCError):
    status = 401


class Forbidden(RTCCError):
    status = 403


class NotFound(RTCCError):
    status = 404


class MethodNotAllowed(RTCCError):
    status = 405


class Conflict(RTCCError):
    status = 409


class PayloadTooLarge(RTCCError):
    status = 413


class UnsupportedMediaType(RTCCError):
    status = 415


class Unprocessable(RTCCError):
    status = 422


class TooManyRequests(RTCCError):
    status = 429


class Unavailable(RTCCError):
    status = 503


# Errors that mean "the database cannot be reached right now" rather than "this request is wrong":
# a refused or dropped connection, a server shutting down or starting up, an exhausted pool
# (psycopg_pool.PoolTimeout is an OperationalError), a statement cancelled by a timeout.
DATABASE_DOWN = (psycopg.OperationalError,)


def retry_after() -> str:
    """Seconds a client should wait before retrying a 503 (RFC 9110 Retry-After)."""
    from services.settings import get_settings
    return str(get_settings().retry_after_s)


def unavailable(exc: BaseException) -> Unavailable:
    """The 503 for a database error, with the first line of the driver's message."""
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return Unavailable(f"the database is unavailable, retry shortly ({reason})")


def _response(exc: RTCCError) -> JSONResponse:
    headers = {"Retry-After": retry_after()} if exc.status == 503 else None
    if exc.status == 405 and "allow" in exc.extra:
        headers = {"Allow": ", ".join(exc.extra["allow"])}
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="RTCC"'}
    return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status, headers=headers)


class ErrorBody(BaseModel):
    """Every error answer: a sentence, sometimes with fields that help (missing, expected, ...)."""
    detail: str


# Documented on every operation (services.app), so the OpenAPI document says what the server answers:
# any route may meet bad input or a missing thing, and any route needs the database.
RESPONSES: dict = {
    400: {"model": ErrorBody, "description": "Bad input (a sentence says what)"},
    404: {"model": ErrorBody, "description": "Not found"},
    422: {"model": ErrorBody, "description": "Invalid parameters or body (a sentence says what)"},
    503: {"model": ErrorBody, "description": "The database is unavailable; retry after `Retry-After` seconds",
          "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}},
}


def register(app: FastAPI) -> None:
    @app.exception_handler(RTCCError)
    async def _domain(_: Request, exc: RTCCError):
        return _response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        msgs, in_body = [], False
        for e in exc.errors():
            in_body |= bool(e.get("loc")) and e["loc"][0] == "body"
            loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path"))
            msgs.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
        return JSONResponse({"detail": "; ".join(msgs) or "invalid request"}, status_code=422 if in_body else 400)

    @app.exception_handler(psycopg.DataError)
    async def _data(request: Request, exc: psycopg.DataError):
        # The safety net under the routes' own checks: a value PostgreSQL cannot take (a NUL
        # character, a number beyond bigint) came from the request, so it is a 4xx, not a 500: 422
        # when the request has a body (its content), else 400 (its query string).
        log.warning("data error on %s %s: %s", request.method, request.url.path, exc)
        status = 422 if request.method in ("POST", "PUT", "PATCH") else 400
        return JSONResponse({"detail": f"invalid value: {str(exc).splitlines()[0]}"}, status_code=status)

    @app.exception_handler(psycopg.IntegrityError)
    async def _integrity(request: Request, exc: psycopg.IntegrityError):
        # Also a safety net: the routes check what they can; a constraint the database still
        # refuses (a null, a check, a duplicate key) was the request's doing.
        log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
        status = 409 if isinstance(exc, psycopg.errors.UniqueViolation) else 422
        return JSONResponse({"detail": f"refused by the database: {str(exc).splitlines()[0]}"}, status_code=status)

    for cls in DATABASE_DOWN:
        @app.exception_handler(cls)
        async def _down(request: Request, exc: Exception):
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
            return _response(unavailable(exc))
