"""One family of domain errors and the table mapping each to its HTTP status.

Routes raise these; services.app registers one handler. Bad input is a 4xx with a sentence.
"""
from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

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


class NotFound(RTCCError):
    status = 404


class PayloadTooLarge(RTCCError):
    status = 413


class UnsupportedMediaType(RTCCError):
    status = 415


class Unprocessable(RTCCError):
    status = 422


class Unavailable(RTCCError):
    status = 503


def register(app: FastAPI) -> None:
    @app.exception_handler(RTCCError)
    async def _domain(_: Request, exc: RTCCError):
        return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        msgs = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path"))
            msgs.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
        return JSONResponse({"detail": "; ".join(msgs) or "invalid request"}, status_code=422)

    @app.exception_handler(psycopg.DataError)
    async def _data(request: Request, exc: psycopg.DataError):
        # The safety net under the routes' own checks: a value PostgreSQL cannot take (a NUL
        # character, a number beyond bigint) came from the request, so it is a 422, not a 500.
        log.warning("data error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": f"invalid value: {str(exc).splitlines()[0]}"}, status_code=422)
