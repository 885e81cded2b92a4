"""Who is asking, and why: set per request by the /ogc mount, read by the providers for the audit log.

pygeoapi calls providers in a worker thread without the HTTP request, so the mount copies what the
provider needs into a thread-local on that same worker thread before the call.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from services.auth import ANONYMOUS, Principal, Purpose


@dataclass(frozen=True)
class Caller:
    principal: Principal = ANONYMOUS  # resolved by the auth middleware (never a header)
    purpose: Purpose | None = None    # reason + case number stated for plate data
    client: str | None = None         # client address, kept in audit_log
    geojson: bool = False       # the answer is serialized as (Geo)JSON: features may pass through as
                                # the JSON text PostgreSQL built (orjson.Fragment), never re-parsed


_local = threading.local()


def set_caller(caller: Caller) -> None:
    _local.caller = caller


def caller() -> Caller:
    return getattr(_local, "caller", None) or Caller()
