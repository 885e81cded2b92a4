"""OpenID Connect sign-in against a local test provider (discovery, JWKS, authorize, token) served in
the test: code flow with PKCE, the ID token's signature, issuer, audience and nonce checked, a claim
mapped to a role; a user whose claims map to no role is refused."""
from __future__ import annotations

import base64
import hashlib
import threading
import time
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import uvicorn
from authlib.jose import JsonWebKey, jwt
from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse

from tests.conftest import auth_headers, free_port

CLIENT_ID, SECRET = "rtcc-test", "s3cret"


def provider(port: int, groups: list[str]):
    """A minimal OpenID provider: auto-approves the user 'jdoe' with `groups`."""
    issuer = f"http://127.0.0.1:{port}"
    key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    codes: dict[str, dict] = {}
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return {"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks", "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"]}

    @app.get("/jwks")
    def jwks():
        return {"keys": [{**key.as_dict(is_private=False), "kid": "k1", "use": "sig", "alg": "RS256"}]}

    @app.get("/authorize")
    def authorize(request: Request):
        q = request.query_params
        assert q["client_id"] == CLIENT_ID and q["code_challenge_method"] == "S256"
        code = f"code-{len(codes)}"
        codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 303)

    @app.post("/token")
    def token(request: Request, code: str = Form(...), code_verifier: str = Form(...), redirect_uri: str = Form(...)):
        auth = base64.b64decode(request.headers["authorization"].split()[1]).decode()
        assert auth == f"{CLIENT_ID}:{SECRET}"
        c = codes.pop(code)
        digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        assert digest == c["challenge"] and redirect_uri == c["redirect_uri"]
        now = int(time.time())
        claims = {"iss": issuer, "aud": CLIENT_ID, "sub": "u-123", "preferred_username": "jdoe",
                  "groups": groups, "nonce": c["nonce"], "iat": now, "exp": now + 300}
        idt = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key).decode()
        return {"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": idt}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(100):
        try:
            httpx.get(f"{issuer}/jwks", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return issuer, server


@pytest.fixture
def oidc(server_url):
    from services.auth import oidc as oidc_mod
    from services.settings import get_settings
    s = get_settings()
    saved = (s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret, s.oidc_role_map)
    servers = []

    def start(groups):
        issuer, srv = provider(free_port(), groups)
        servers.append(srv)
        s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret = issuer, CLIENT_ID, SECRET
        s.oidc_role_map = {"rtcc-analysts": "analyst", "rtcc-sup": "supervisor"}
        oidc_mod._discovery.clear()
        return issuer
    yield start
    s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret, s.oidc_role_map = saved
    for srv in servers:
        srv.should_exit = True


def _sign_in(server_url: str) -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(base_url=server_url, headers=auth_headers(None), timeout=30)
    assert c.get("/auth/oidc/login", params={"probe": 1}).json() == {"enabled": True}
    r = c.get("/auth/oidc/login", params={"next": "/dashboard"})
    assert r.status_code == 303
    at_provider = httpx.get(r.headers["location"], headers=auth_headers(None))
    assert at_provider.status_code == 303
    back = urlsplit(at_provider.headers["location"])
    return c, c.get(f"{back.path}?{back.query}")


def test_oidc_sign_in_maps_a_group_to_a_role(oidc, server_url, conn):
    oidc(["staff", "rtcc-analysts"])
    c, r = _sign_in(server_url)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard", r.text
    me = c.get("/api/me").json()
    assert (me["name"], me["role"]) == ("jdoe", "analyst")
    assert conn.execute("SELECT source, role FROM users WHERE name = 'jdoe'").fetchone() == ("oidc", "analyst")
    assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'login' AND who = 'jdoe'").fetchone()[0] >= 1


def test_oidc_user_without_a_mapped_role_is_refused_and_state_is_checked(oidc, server_url):
    oidc(["staff"])
    c, r = _sign_in(server_url)
    assert r.status_code == 403 and "no RTCC role" in r.json()["detail"]
    forged = httpx.get(f"{server_url}/auth/oidc/callback", params={"code": "x", "state": "y"}, headers=auth_headers(None))
    assert forged.status_code == 401
