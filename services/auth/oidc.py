"""OpenID Connect sign-in (authlib): the agency's identity provider authenticates, a claim maps to
an RTCC role (RTCC_OIDC_ROLE_CLAIM, RTCC_OIDC_ROLE_MAP), and the user gets the same session as a
local sign-in. Authorization code flow with PKCE, state and nonce; the ID token's signature (JWKS),
issuer, audience, nonce and expiry are checked."""
from __future__ import annotations

import time

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from services import audit, db
from services.auth import ROLES, Principal
from services.auth.tokens import new_token
from services.errors import Forbidden, NotFound, Unauthorized, Unavailable
from services.responses import JSONResponse
from services.settings import get_settings

router = APIRouter(tags=["auth"])
STATE_COOKIE = "rtcc_oidc"
_discovery: dict[str, tuple[float, dict]] = {}


def enabled() -> bool:
    s = get_settings()
    return bool(s.oidc_issuer and s.oidc_client_id)


def _metadata() -> dict:
    s = get_settings()
    hit = _discovery.get(s.oidc_issuer)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    url = s.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        meta = httpx.get(url, timeout=10).raise_for_status().json()
        meta["jwks"] = httpx.get(meta["jwks_uri"], timeout=10).raise_for_status().json()
    except (httpx.HTTPError, ValueError, KeyError) as e:
        raise Unavailable(f"the identity provider did not answer: {e}") from None
    _discovery[s.oidc_issuer] = (time.monotonic() + 3600, meta)
    return meta


def role_for(claims: dict) -> str | None:
    """The RTCC role for these ID-token claims: the first claim value the map knows (most privileged
    last wins nothing: the map's order decides)."""
    s = get_settings()
    values = claims.get(s.oidc_role_claim)
    if isinstance(values, str):
        values = [values]
    for v in values or ():
        role = s.oidc_role_map.get(str(v))
        if role in ROLES:
            return role
    return None


def _client():
    from authlib.integrations.httpx_client import OAuth2Client
    s = get_settings()
    return OAuth2Client(s.oidc_client_id, s.oidc_client_secret, scope=s.oidc_scopes,
                        code_challenge_method="S256", timeout=10)


@router.get("/auth/oidc/login", include_in_schema=False)
def oidc_login(request: Request, probe: bool = False, next: str | None = None):
    if probe:
        return JSONResponse({"enabled": enabled()})
    if not enabled():
        raise NotFound("OpenID Connect sign-in is not configured (RTCC_OIDC_ISSUER, RTCC_OIDC_CLIENT_ID)")
    from services.auth.routes import safe_next
    meta = _metadata()
    state, nonce, verifier = new_token(), new_token(), new_token()
    client = _client()
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                             code_verifier=verifier,
                                             redirect_uri=str(request.url_for("oidc_callback")))
    response = RedirectResponse(url, status_code=303)
    # state, nonce, PKCE verifier and target in a short-lived HttpOnly cookie: nothing kept server-side
    response.set_cookie(STATE_COOKIE, "|".join((state, nonce, verifier, safe_next(next))), max_age=600,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/auth/oidc")
    return response


@router.get("/auth/oidc/callback", include_in_schema=False, name="oidc_callback")
async def oidc_callback(request: Request, code: str | None = None, state: str | None = None,
                        error: str | None = None):
    if not enabled():
        raise NotFound("OpenID Connect sign-in is not configured")
    if error:
        raise Unauthorized(f"the identity provider refused the sign-in: {error[:200]}")
    saved = (request.cookies.get(STATE_COOKIE) or "").split("|")
    if len(saved) != 4 or not state or state != saved[0] or not code:
        raise Unauthorized("sign-in state does not match (expired or forged): start again at /login")
    _, nonce, verifier, target = saved
    principal = await run_in_threadpool(_finish, request, code, nonce, verifier)
    from services.auth.routes import set_session_cookies, start_session
    token, csrf = await run_in_threadpool(start_session, request, principal)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
    set_session_cookies(response, request, token, csrf)
    return response


def _finish(request: Request, code: str, nonce: str, verifier: str) -> Principal:
    from authlib.jose import JsonWebKey, jwt
    from authlib.jose.errors import JoseError
    s = get_settings()
    meta = _metadata()
    client = _client()
    try:
        token = client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier,
                                   redirect_uri=str(request.url_for("oidc_callback")))
        claims = jwt.decode(token["id_token"], JsonWebKey.import_key_set(meta["jwks"]),
                            claims_options={"iss": {"essential": True, "value": meta.get("issuer", s.oidc_issuer)},
                                            "aud": {"essential": True, "value": s.oidc_client_id},
                                            "nonce": {"essential": True, "value": nonce}})
        claims.validate(leeway=60)
    except (JoseError, KeyError, ValueError, httpx.HTTPError) as e:
        raise Unauthorized(f"the identity provider's answer could not be verified: {e}") from None
    except Exception as e:  # authlib's OAuth errors (invalid_grant, ...)
        raise Unauthorized(f"the sign-in could not be completed: {e}") from None
    name = str(claims.get(s.oidc_name_claim) or claims["sub"])[:128]
    role = role_for(claims)
    client_addr = request.client.host if request.client else None
    with db.pool().connection() as conn:
        if role is None:
            audit.write(conn, name, None, "login.failed", "oidc", {"reason": "no role claim matched"}, client_addr)
            raise Forbidden(f"your account ({name}) has no RTCC role: ask an administrator "
                            f"(claim '{s.oidc_role_claim}' matched nothing in RTCC_OIDC_ROLE_MAP)")
        row = conn.execute("INSERT INTO users (name, role, source) VALUES (%s, %s, 'oidc') "
                           "ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role WHERE users.source = 'oidc' "
                           "RETURNING disabled_at", (name, role)).fetchone()
        if row is None or row[0] is not None:
            audit.write(conn, name, role, "login.failed", "oidc", {"reason": "disabled or a local account"},
                        client_addr)
            raise Forbidden(f"account {name} is disabled, or a local account of that name exists")
    return Principal(name, role, "user", None, "oidc")
