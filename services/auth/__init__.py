"""Who is asking, and may they? The one seam every route goes through (DESIGN.md, "Identity in
one dependency").

The middleware (services/auth/middleware.py) resolves the caller of every request once, from a
session cookie, an `Authorization: Bearer` API key, or HTTP Basic on /ogc and /tiles, and refuses
anonymous requests (401) outside the public paths. Routes then declare what they need with
`Depends(require("permission"))` and get the caller's `Principal` back; the role matrix is the
PERMISSIONS table below (README "Roles"), layers are read by the roles the catalog names, and
plate data needs a stated purpose (`require_purpose`). `services.audit.record` reads the same
principal and purpose from the request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Request
from starlette.requests import HTTPConnection

from services.errors import Forbidden, Unauthorized

ROLES = ("viewer", "analyst", "supervisor", "gis", "cad", "admin")
ALL = frozenset(ROLES)

# permission -> roles that hold it (the role matrix, one table; README "Roles" shows it)
PERMISSIONS: dict[str, frozenset[str]] = {
    "events:read": ALL,                                            # map, layers, tiles, OGC, live, geocode, nearest
    "alpr:read": frozenset({"analyst", "supervisor", "admin"}),    # plate data, always with a stated purpose
    "ingest": frozenset({"cad", "admin"}),
    "tasks:read": frozenset({"viewer", "analyst", "supervisor", "admin"}),
    "tasks:write": frozenset({"analyst", "supervisor", "admin"}),
    "events:locate": frozenset({"analyst", "supervisor", "admin"}),  # place an event its feed could not locate
    "alerts:read": frozenset({"viewer", "analyst", "supervisor", "cad", "admin"}),
    "alerts:write": frozenset({"analyst", "supervisor", "admin"}),
    "hotlists:write": frozenset({"analyst", "supervisor", "admin"}),
    "rules:write": frozenset({"supervisor", "admin"}),
    "channels:admin": frozenset({"admin"}),
    "cases:read": frozenset({"analyst", "supervisor", "admin"}),
    "cases:write": frozenset({"analyst", "supervisor", "admin"}),   # notes, links (investigations)
    "cases:export": frozenset({"analyst", "supervisor", "admin"}),
    "audit:read": frozenset({"supervisor", "admin"}),
    "retention:admin": frozenset({"supervisor", "admin"}),         # legal holds, retention runs
    "users:admin": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    name: str                 # user name or API key name; never taken from a free-form header
    role: str                 # one of ROLES
    kind: str = "user"        # user, apikey, anonymous
    feeds: tuple[str, ...] | None = None  # API keys may be limited to some ingest feeds
    via: str = ""             # session, bearer, basic
    csrf: str | None = None   # session principals: the token state-changing requests must carry
    reason: str | None = None       # session principals: the purpose stated once for the session
    case_number: str | None = None

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())


ANONYMOUS = Principal("anonymous", "", "anonymous")


def current_principal(request: HTTPConnection) -> Principal:
    """The caller of this request, as the middleware resolved it (anonymous only on public paths)."""
    p = request.scope.get("state", {}).get("principal")
    return p if p is not None else ANONYMOUS


def check(principal: Principal, permission: str) -> Principal:
    if principal.kind == "anonymous":
        raise Unauthorized("sign in, or send an API key (Authorization: Bearer KEY)")
    if not principal.can(permission):
        raise Forbidden(f"role '{principal.role}' may not do this (needs '{permission}', held by "
                        f"{', '.join(sorted(PERMISSIONS[permission]))})")
    return principal


def require(permission: str):
    """A FastAPI dependency: the caller, if their role holds `permission` (else 401/403)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(request: Request) -> Principal:
        return check(current_principal(request), permission)
    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]  # read by the role-matrix test
    return dependency


# -- layers -----------------------------------------------------------------------------------
def reads_every_layer(principal: Principal) -> bool:
    return principal.role == "admin"


def may_read_layer(principal: Principal, layer) -> bool:
    """The catalog decides: a layer is read by the roles in its `roles` (admin reads everything)."""
    return reads_every_layer(principal) or principal.role in layer.roles


def check_layer(principal: Principal, layer) -> None:
    if not may_read_layer(principal, layer):
        raise Forbidden(f"role '{principal.role}' may not read layer '{layer.id}'")


# Live messages that are not events, and the layer whose readers may receive them.
LIVE_TYPE_LAYER = {"unit": "units", "task": "tasks", "camera": "cameras"}


def live_readable(principal: Principal, type_: str, kind: str | None) -> bool:
    """May this subscriber receive /api/live messages of this type (and event kind)? Events follow
    their layer's roles, units/tasks/cameras the roles of their layer; other types reach every reader."""
    from layers.catalog import get_layer, layer_for_kind
    if type_ == "event":
        layer = layer_for_kind(kind)
    elif type_ in LIVE_TYPE_LAYER:
        layer = get_layer(LIVE_TYPE_LAYER[type_])
    else:
        return True
    return layer is None or may_read_layer(principal, layer)


def live_without_plates(m: dict) -> dict | None:
    """One /api/live message as a subscriber without plate rights (no alpr:read or no stated purpose)
    sees it: nothing of an ALPR read or a message with a plate, a proximity answer without the ALPR
    reads of its recent context. The message itself when it carries no plate data."""
    if m.get("plate") or m.get("kind") == "alpr_read":
        return None
    recent = m.get("recent")
    if isinstance(recent, list) and any(isinstance(r, dict) and r.get("kind") == "alpr_read" for r in recent):
        return {**m, "recent": [r for r in recent if not (isinstance(r, dict) and r.get("kind") == "alpr_read")]}
    return m


# -- ALPR accountability ----------------------------------------------------------------------
CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
MAX_REASON = 500


@dataclass(frozen=True)
class Purpose:
    reason: str
    case_number: str

    def detail(self) -> dict:
        return {"reason": self.reason, "case_number": self.case_number}


def stated_purpose(request: HTTPConnection) -> Purpose | None:
    """Reason and case number of this request (query `reason`/`case_number`, headers X-RTCC-Reason /
    X-RTCC-Case-Number, else what a browser session stated once), or None when either is missing."""
    q, h = request.query_params, request.headers
    reason = (q.get("reason") or h.get("x-rtcc-reason") or "").strip()
    case = (q.get("case_number") or h.get("x-rtcc-case-number") or "").strip()
    p = current_principal(request)
    if not reason and not case and p.reason and p.case_number:
        reason, case = p.reason, p.case_number
    if not reason or not case:
        return None
    return Purpose(reason[:MAX_REASON], case)


def require_purpose(request: HTTPConnection) -> Purpose:
    """Plate data may be read only by a role holding alpr:read that states why and for which case;
    the purpose is kept on the request so each audit row of this read carries it. Usable as a
    dependency (`Depends(auth.require_purpose)`) or called."""
    principal = check(current_principal(request), "alpr:read")
    purpose = stated_purpose(request)
    if purpose is None:
        raise Forbidden("plate data (ALPR) is personal data: state the reason and the case or incident "
                        "number (query parameters reason= and case_number=, or headers X-RTCC-Reason and "
                        "X-RTCC-Case-Number); every read is audited with both")
    if not CASE_NUMBER.match(purpose.case_number):
        raise Forbidden(f"case number {purpose.case_number[:80]!r} must be 1-64 letters, digits or . _ / - "
                        "(starting with a letter or digit)")
    request.scope.setdefault("state", {})["purpose"] = purpose
    del principal
    return purpose


def may_read_plates(request: HTTPConnection) -> bool:
    """True when this request may see plate data (alpr:read and a valid stated purpose), without
    refusing: routes that can answer with or without plates (proximity, live) leave them out."""
    p = current_principal(request)
    if not p.can("alpr:read"):
        return False
    try:
        require_purpose(request)
    except Forbidden:
        return False
    return True
