"""Sign-in, keys and the hardening regressions of the security issue: sessions + CSRF, API keys
(created by the CLI, hashed, revocable, last use), HTTP Basic for QGIS/GDAL, failed sign-ins rate
limited and audited, CORS, text/plain ingest, the OGC tile SSRF, javascript: URLs, CSP."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid

import httpx
import psycopg
import pytest

from tests.conftest import PASSWORD, PURPOSE, ROOT, auth_headers


def login(server_url: str, name: str, password: str = PASSWORD) -> httpx.Client:
    c = httpx.Client(base_url=server_url, headers=auth_headers(None), timeout=30)
    r = c.post("/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    c.csrf = r.json()["csrf"]  # type: ignore[attr-defined]
    return c


def test_login_sets_a_safe_session_cookie_and_csrf_guards_writes(server_url, conn):
    c = httpx.Client(base_url=server_url, headers=auth_headers(None), timeout=30)
    r = c.post("/login", json={"name": "test-analyst", "password": PASSWORD})
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("rtcc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie  # http
    me = c.get("/api/me").json()
    assert (me["name"], me["role"], me["via"]) == ("test-analyst", "analyst", "session")
    body = {"analyst": "x", "title": "csrf check"}
    assert c.post("/api/tasks", json=body).status_code == 403  # no CSRF token
    assert c.post("/api/tasks", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    ok = c.post("/api/tasks", json=body, headers={"X-CSRF-Token": r.json()["csrf"]})
    assert ok.status_code == 201, ok.text
    who = conn.execute("SELECT who, role FROM audit_log WHERE action = 'task.created' ORDER BY id DESC LIMIT 1").fetchone()
    assert who == ("test-analyst", "analyst")
    # a cross-site page cannot write even with the cookie
    assert c.post("/api/tasks", json=body, headers={"X-CSRF-Token": r.json()["csrf"],
                                                     "Origin": "https://evil.example"}).status_code == 403
    c.post("/logout", headers={"X-CSRF-Token": r.json()["csrf"]})
    assert c.get("/api/me").status_code == 401


def test_form_login_redirects_and_never_to_another_host(server_url):
    c = httpx.Client(base_url=server_url, headers=auth_headers(None), timeout=30)
    r = c.post("/login", data={"name": "test-viewer", "password": PASSWORD, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    r = c.post("/login", data={"name": "test-viewer", "password": "nope", "next": "/dashboard"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?error=1")


def test_failed_logins_are_audited_and_rate_limited(server_url, conn):
    name = f"victim-{uuid.uuid4().hex[:6]}"
    conn.execute("INSERT INTO users (name, role, password_hash) VALUES (%s, 'viewer', NULL)", (name,))
    c = httpx.Client(base_url=server_url, headers=auth_headers(None), timeout=30)
    codes = [c.post("/login", json={"name": name, "password": f"guess{i}"}).status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429], codes
    n = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'login.failed' AND who = %s", (name,)).fetchone()[0]
    assert n == 5


def _cli(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_apikey_cli_create_use_feeds_last_use_and_revoke(server_url, database_url, conn):
    name = f"cad-{uuid.uuid4().hex[:6]}"
    out = _cli("apikey", "create", "--role", "cad", "--name", name, "--feeds", "cad,call", database_url=database_url)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    assert key.startswith("rtcc_") and len(key) > 40
    stored = conn.execute("SELECT key_hash, prefix FROM api_keys WHERE name = %s", (name,)).fetchone()
    assert key.encode() not in bytes(stored[0]) and key.startswith(stored[1])  # only a hash is kept
    h = {"Authorization": f"Bearer {key}"}
    row = {"id": f"k-{name}", "observed_at": "2026-11-27T23:00:00Z", "lon": -76.61, "lat": 39.29, "type": "TEST"}
    assert httpx.post(f"{server_url}/api/ingest/call", json=[row], headers=h).status_code == 200
    assert httpx.post(f"{server_url}/api/ingest/gunshot", json=[row], headers=h).status_code == 403  # not its feed
    assert httpx.post(f"{server_url}/api/tasks", json={"analyst": "x"}, headers=h).status_code == 403  # cad role
    last = conn.execute("SELECT last_used_at, last_used_from FROM api_keys WHERE name = %s", (name,)).fetchone()
    assert last[0] is not None and last[1] == "127.0.0.1"
    audited = conn.execute("SELECT who, role, detail FROM audit_log WHERE action = 'ingest' AND who = %s", (name,)).fetchone()
    assert audited[:2] == (name, "cad") and audited[2]["accepted"] == 1
    out = _cli("apikey", "revoke", name, database_url=database_url)
    assert out.returncode == 0, out.stderr
    from services.auth import resolve
    resolve.forget()  # the CLI is another process: this one would notice within RTCC_AUTH_CACHE_S
    r = httpx.post(f"{server_url}/api/ingest/call", json=[row], headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_user_cli_add_disable_reset(server_url, database_url):
    name = f"u-{uuid.uuid4().hex[:6]}"
    out = _cli("user", "add", name, "--role", "gis", database_url=database_url)
    assert out.returncode == 0, out.stderr
    pw = out.stdout.strip().splitlines()[-1]
    c = login(server_url, name, pw)
    assert c.get("/api/me").json()["role"] == "gis"
    assert _cli("user", "disable", name, database_url=database_url).returncode == 0
    from services.auth import resolve
    resolve.forget()
    assert c.get("/api/me").status_code == 401  # sessions end with the account
    assert httpx.post(f"{server_url}/login", json={"name": name, "password": pw}, headers=auth_headers(None)).status_code == 401
    assert _cli("user", "enable", name, database_url=database_url).returncode == 0
    out = _cli("user", "reset-password", name, database_url=database_url)
    login(server_url, name, out.stdout.strip().splitlines()[-1])


def test_http_basic_on_ogc_and_tiles_for_qgis_and_gdal(server_url):
    # (timeout: a password sign-in is an argon2 check, deliberately slow, slower still on a busy machine)
    for auth in (("test-gis", PASSWORD), ("anything", KEYS_GIS())):
        r = httpx.get(f"{server_url}/ogc/collections", params={"f": "json"}, auth=auth, headers=auth_headers(None), timeout=30)
        assert r.status_code == 200 and "alpr_reads" not in r.text, r.text  # gis may not read plates
        assert httpx.get(f"{server_url}/tiles/streets.json", auth=auth, headers=auth_headers(None), timeout=30).status_code == 200
    assert httpx.get(f"{server_url}/ogc/collections", auth=("test-gis", "wrong"), headers=auth_headers(None), timeout=30).status_code == 401
    # Basic is for GIS clients only: the REST API wants a key or a session
    assert httpx.get(f"{server_url}/api/layers", auth=("test-gis", PASSWORD), headers=auth_headers(None), timeout=30).status_code == 401


def KEYS_GIS() -> str:
    from tests.conftest import KEYS
    return KEYS["gis"]


def test_ogrinfo_with_basic_credentials(server_url):
    env = dict(os.environ)
    env.pop("GDAL_HTTP_USERPWD", None)
    p = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{server_url}/ogc"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode != 0  # anonymous
    env["GDAL_HTTP_USERPWD"] = f"test-viewer:{PASSWORD}"
    p = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{server_url}/ogc"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 0 and "cameras" in p.stdout and "alpr_reads" not in p.stdout, p.stderr


def test_cors_only_for_configured_origins(client):
    r = client.get("/ogc/collections", params={"f": "json"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    pre = client.options("/api/layers", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 403
    from services.settings import get_settings
    s = get_settings()
    old = s.cors_origins
    s.cors_origins = ("https://gis.agency.example",)
    try:
        r = client.get("/ogc/collections", params={"f": "json"}, headers={"Origin": "https://gis.agency.example"})
        assert r.headers["access-control-allow-origin"] == "https://gis.agency.example"
    finally:
        s.cors_origins = old


def test_ingest_refuses_text_plain_bodies(client):
    r = client.post("/api/ingest/gunshot", content=b"id,observed_at\nx,2026-01-01T00:00:00Z\n",
                    headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "forgery" in r.json()["detail"]


def test_ogc_tiles_render_in_process_never_from_the_host_header(client):
    hits = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    port = srv.getsockname()[1]
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                hits.append(1)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSECRET")
                conn.close()
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        r = client.get("/ogc/collections/cameras/tiles/WebMercatorQuad/14/6268/4676", params={"f": "mvt"},
                       headers={"Host": f"127.0.0.1:{port}"})
        ours = client.get("/tiles/cameras/14/4676/6268.mvt")
        assert r.status_code == 200 and r.content == ours.content and b"SECRET" not in r.content
        assert hits == []
        r = client.get("/ogc/collections/alpr_reads/tiles/WebMercatorQuad/14/6268/4676", params={"f": "mvt"})
        assert r.status_code == 403  # plate tiles need a purpose here too
        assert client.get("/ogc/collections/alpr_reads/tiles/WebMercatorQuad/14/6268/4676",
                          params={"f": "mvt"}, headers=PURPOSE).status_code == 200
    finally:
        stop.set()
        srv.close()


def test_camera_urls_must_be_http_https_or_rtsp(client, conn):
    cid = f"cam-{uuid.uuid4().hex[:6]}"
    base = {"id": cid, "name": "t", "lon": -76.61, "lat": 39.29}
    r = client.post("/api/ingest/camera", json=[{**base, "stream_url": "javascript:alert(1)"}])
    assert r.status_code == 200 and r.json()["accepted"] == 0 and "http" in r.json()["rejected"][0]["reason"]
    r = client.post("/api/ingest/camera", json=[{**base, "contact": "javascript:alert(1)"}])
    assert r.json()["accepted"] == 0
    r = client.post("/api/ingest/camera", json=[{**base, "snapshot_url": "data:text/html,<script>alert(1)</script>"}])
    assert r.json()["accepted"] == 0 and "snapshot_url" in r.json()["rejected"][0]["reason"]
    r = client.post("/api/ingest/camera", json=[{**base, "stream_url": "rtsp://10.0.0.5/live", "contact": "+1 410 555 0100",
                                                 "snapshot_url": "https://cams.example/1.jpg"}])
    assert r.json()["accepted"] == 1, r.text
    assert conn.execute("SELECT stream_url, snapshot_url FROM cameras WHERE id = %s", (cid,)).fetchone() == (
        "rtsp://10.0.0.5/live", "https://cams.example/1.jpg")


def test_server_connects_as_the_least_privileged_role(app, client):
    from services import db
    with db.pool().connection() as c:
        user, superuser = c.execute("SELECT current_user, usesuper FROM pg_user WHERE usename = current_user").fetchone()
        assert (user, superuser) == ("rtcc_app", False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("DROP TABLE cameras")


def test_pages_carry_a_content_security_policy(client):
    r = client.get("/", headers={"Accept": "text/html"})
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert client.get("/login").headers["content-security-policy"] == csp


def test_browser_signs_in_and_the_map_runs_under_the_csp(raw_browser, server_url):
    """The real Content-Security-Policy (no bypass): the login form, the map with MapLibre's workers,
    no policy violation; the viewer sees its name and role and no audit link."""
    ctx = raw_browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    try:
        page.goto(server_url + "/dashboard")
        assert "/login?next=" in page.url
        page.fill("input[name=name]", "test-viewer")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(server_url + "/dashboard", timeout=30000)
        page.goto(server_url + "/")
        page.locator("body[data-ready='true']").wait_for(timeout=45000)
        assert page.locator("#user-name").inner_text() == "test-viewer · viewer"
        assert page.locator(".nav a[href='/audit']").count() == 0
        assert page.locator("#purpose-btn").count() == 0  # viewers never see plate data
        page.wait_for_timeout(1500)
        csp = [e for e in errors if "Content Security Policy" in e]
        assert not csp, csp
        page.click("#logout-btn")
        page.wait_for_url("**/login", timeout=30000)
    finally:
        ctx.close()


def test_supervisor_reads_the_audit_page(raw_browser, server_url):
    from tests.conftest import browser_login
    ctx = raw_browser.new_context()
    ctx.add_cookies(browser_login(server_url, "supervisor", purpose=False))
    page = ctx.new_page()
    try:
        page.goto(server_url + "/audit?user=test-supervisor")
        page.locator("body[data-ready='true']").wait_for(timeout=30000)
        assert page.locator("#audit-table tbody tr").count() >= 1  # at least its own sign-in
        assert "login" in page.locator("#audit-table tbody").inner_text()
        page.locator("#purpose-btn").click()
        page.fill("#purpose-dialog input[name=reason]", "audit review")
        page.fill("#purpose-dialog input[name=case_number]", "25-777")
        page.click("#purpose-submit")
        page.locator("#purpose-btn.set").wait_for(timeout=30000)
        assert page.locator("#purpose-btn").inner_text() == "ALPR: 25-777"
    finally:
        ctx.close()
