"""Sign-in and the caller's own session: GET/POST /login, POST /logout, GET /api/me, and
POST /api/session/purpose (the reason and case number a browser states once for its ALPR reads)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field

from layers.catalog import CATALOG
from services import audit, auth, db
from services.auth import PERMISSIONS, Principal, accounts, sessions
from services.errors import BadRequest, ErrorBody, Forbidden, Unauthorized
from services.responses import JSONResponse
from services.settings import ROOT, get_settings

router = APIRouter(tags=["auth"])


def safe_next(target: str | None) -> str:
    """Only a path on this server (never //host or a scheme): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def set_session_cookies(response, request: Request, token: str, csrf: str) -> None:
    s = get_settings()
    secure = s.cookie_secure if s.cookie_secure is not None else request.url.scheme == "https"
    age = int(s.session_hours * 3600)
    response.set_cookie(sessions.COOKIE, token, max_age=age, httponly=True, secure=secure, samesite="lax", path="/")
    response.set_cookie(sessions.CSRF_COOKIE, csrf, max_age=age, httponly=False, secure=secure, samesite="strict",
                        path="/")


def start_session(request: Request, principal: Principal) -> tuple[str, str]:
    """Open a session for a signed-in principal (password or OIDC), audited: (token, csrf)."""
    with db.pool().connection() as conn:
        token, csrf = sessions.create_session(conn, principal, client_of(request))
        audit.write(conn, principal.name, principal.role, "login", "session", {"via": principal.via or "password"},
                    client_of(request))
    return token, csrf


@router.get("/login", include_in_schema=False)
def login_page() -> FileResponse:
    return FileResponse(ROOT / "web" / "login.html", headers={"Cache-Control": "no-cache"})


class Login(BaseModel):
    name: str = Field(..., max_length=128)
    password: str = Field(..., max_length=1024)
    next: str | None = None


class Session(BaseModel):
    name: str
    role: str
    csrf: str = Field(description="send it as X-CSRF-Token on state-changing requests of this session")


# A form sign-in answers a redirect (no body), a JSON one the session: the document says both, so
# generated clients and the fuzz run (tests/test_fuzz.py) expect what is sent.
@router.post("/login", summary="Sign in with a local account (form or JSON); sets the session cookie",
             response_class=RedirectResponse, status_code=303,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": Login.model_json_schema()},
                 "application/x-www-form-urlencoded": {"schema": Login.model_json_schema()}}}},
             responses={200: {"model": Session, "description": "JSON sign-in: the session"},
                        303: {"description": "form sign-in: to `next`, or back to /login?error=1"},
                        401: {"model": ErrorBody, "description": "JSON sign-in: wrong name or password"},
                        429: {"model": ErrorBody, "description": "too many failures"}})
async def login(request: Request):
    form = "application/json" not in request.headers.get("content-type", "")
    if form:
        data = await request.form()
        body = Login(name=str(data.get("name", ""))[:128], password=str(data.get("password", ""))[:1024],
                     next=str(data.get("next") or "") or None)
    else:
        try:
            body = Login.model_validate_json(await request.body())
        except ValueError:
            raise BadRequest("send JSON {\"name\": ..., \"password\": ...}") from None

    def check() -> Principal | None:
        with db.pool().connection() as conn:
            p = accounts.authenticate(conn, body.name, body.password, client_of(request))
            if p is None:
                audit.write(conn, body.name[:128] or "?", None, "login.failed", "session", {"via": "password"},
                            client_of(request))
            return p

    principal = await run_in_threadpool(check)
    nxt = safe_next(body.next)
    if principal is None:
        if form:
            return RedirectResponse(f"/login?error=1&next={quote(nxt, safe='')}", status_code=303)
        raise Unauthorized("wrong user name or password")
    token, csrf = await run_in_threadpool(start_session, request, principal)
    response = (RedirectResponse(nxt, status_code=303) if form
                else JSONResponse({"name": principal.name, "role": principal.role, "csrf": csrf}))
    set_session_cookies(response, request, token, csrf)
    return response


@router.post("/logout", summary="End the session", status_code=303, response_class=RedirectResponse,
             responses={303: {"description": "to /login"}})
def logout(request: Request):
    token = request.cookies.get(sessions.COOKIE)
    if token:
        with db.pool().connection() as conn:
            p = auth.current_principal(request)
            sessions.end_session(conn, token)
            if p.kind != "anonymous":
                audit.record(conn, request, "logout", "session", {})
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    response.delete_cookie(sessions.CSRF_COOKIE, path="/")
    return response


@router.get("/api/me", summary="Who am I: name, role, permissions, readable layers, the session's stated purpose")
def me(principal: Principal = Depends(auth.require("events:read"))) -> dict:
    return {"name": principal.name, "role": principal.role, "kind": principal.kind, "via": principal.via,
            "permissions": sorted(p for p in PERMISSIONS if principal.can(p)),
            "layers": [layer.id for layer in CATALOG if auth.may_read_layer(principal, layer)],
            "csrf": principal.csrf,
            "purpose": ({"reason": principal.reason, "case_number": principal.case_number}
                        if principal.reason else None)}


class StatedPurpose(BaseModel):
    reason: str = Field(..., min_length=3, max_length=auth.MAX_REASON)
    case_number: str = Field(..., min_length=1, max_length=64)


@router.post("/api/session/purpose", summary="State once for this browser session why plate data is read")
def session_purpose(body: StatedPurpose, request: Request,
                    principal: Principal = Depends(auth.require("alpr:read"))) -> dict:
    token = request.cookies.get(sessions.COOKIE)
    if principal.via != "session" or not token:
        raise BadRequest("only a browser session states its purpose once; API clients send reason and "
                         "case_number (or X-RTCC-Reason / X-RTCC-Case-Number) with each request")
    case = body.case_number.strip()
    if not auth.CASE_NUMBER.match(case):
        raise Forbidden(f"case number {case[:80]!r} must be 1-64 letters, digits or . _ / -")
    with db.pool().connection() as conn:
        sessions.state_purpose(conn, token, body.reason.strip(), case)
        request.scope["state"]["purpose"] = auth.Purpose(body.reason.strip(), case)
        audit.record(conn, request, "purpose.stated", "session", {})
    return {"reason": body.reason.strip(), "case_number": case}
