"""Who is asking, and may they? The one seam every route goes through (DESIGN.md, "Identity in
one dependency").

Routes declare what they need with `Depends(require("permission"))` and get the caller's
`Principal` back; `services.audit.record` reads the same principal from the request.

This is the seam only: until sign-in lands (the security issue), every caller is let through and
named by the X-RTCC-User header, as before. The permission names below are the vocabulary the
role matrix will be written in.
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

ROLES = ("viewer", "analyst", "supervisor", "gis", "cad", "admin")

# permission -> roles that hold it (the role matrix, one table)
PERMISSIONS: dict[str, frozenset[str]] = {
    "events:read": frozenset({"viewer", "analyst", "supervisor", "gis", "cad", "admin"}),
    "alpr:read": frozenset({"analyst", "supervisor", "admin"}),
    "ingest": frozenset({"cad", "admin"}),
    "tasks:write": frozenset({"analyst", "supervisor", "admin"}),
    "alerts:read": frozenset({"viewer", "analyst", "supervisor", "cad", "admin"}),
    "alerts:write": frozenset({"analyst", "supervisor", "admin"}),
    "hotlists:write": frozenset({"analyst", "supervisor", "admin"}),
    "rules:write": frozenset({"supervisor", "admin"}),
    "channels:admin": frozenset({"admin"}),
    "cases:read": frozenset({"analyst", "supervisor", "admin"}),
    "cases:write": frozenset({"analyst", "supervisor", "admin"}),   # notes, links (investigations)
    "cases:export": frozenset({"analyst", "supervisor", "admin"}),
    "audit:read": frozenset({"supervisor", "admin"}),
    "users:admin": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    name: str                 # user name or API key name; never taken from a free-form header once auth lands
    role: str                 # one of ROLES
    kind: str = "user"        # user, apikey, anonymous
    feeds: tuple[str, ...] | None = None  # API keys may be limited to some ingest feeds

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())


def current_principal(request: Request) -> Principal:
    """The caller of this request (stored on request.state for the audit log)."""
    p = getattr(request.state, "principal", None)
    if p is None:
        p = Principal(request.headers.get("x-rtcc-user") or "anonymous", "admin", "anonymous")
        request.state.principal = p
    return p


def require(permission: str):
    """A FastAPI dependency: the caller, if they hold `permission` (seam: everyone does for now)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(request: Request) -> Principal:
        return current_principal(request)
    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency
