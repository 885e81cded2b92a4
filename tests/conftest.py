"""Shared fixtures: a real PostGIS database per test session, cloned from a template that holds
the migrated schema and the demo city, and a real HTTP server on a free port.

The template is rebuilt whenever sql/ (both folders), data/ or the loader change, so concurrent sessions
(and developers) share the slow part and each gets its own database.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import socket
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "rtcc_tpl"


def _fingerprint() -> str:
    h = hashlib.sha256()
    files = sorted((ROOT / "sql").rglob("*.sql")) + sorted((ROOT / "data" / "baltimore").glob("*.gz"))
    files += [ROOT / "services" / "migrate.py", ROOT / "services" / "dev" / "demo.py",
              ROOT / "services" / "ingest" / "pipeline.py", ROOT / "services" / "ingest" / "feeds.py",
              ROOT / "geo" / "geocode.py"]
    files += sorted((ROOT / "geo").glob("*.py"))
    for f in files:
        if f.exists():
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _admin_url() -> str:
    from services.settings import get_settings
    s = get_settings()
    base = os.environ.get("RTCC_TEST_SERVER_URL") or s.database_url
    if base:
        return psycopg.conninfo.make_conninfo(base, dbname="postgres")
    from services.dev import localdb
    localdb.up()
    return f"postgresql://rtcc@127.0.0.1:{s.pg_port}/postgres"


def _url_for(admin: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(admin, dbname=dbname)


def _clone_template(admin: str, name: str) -> None:
    """(Re)build the template if sql/, data/ or the loader changed, then clone it into `name`,
    both under one advisory lock so concurrent sessions never see a half-built template."""
    with psycopg.connect(admin, autocommit=True) as a:
        a.execute("SELECT pg_advisory_lock(7419002)")
        try:
            _build_template(a, admin)
            a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            a.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        finally:
            a.execute("SELECT pg_advisory_unlock(7419002)")


def _build_template(a: psycopg.Connection, admin: str) -> None:
    from services import migrate
    from services.dev import demo
    fp = _fingerprint()
    row = a.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                    (TEMPLATE,)).fetchone()
    if row and row[0] == fp:
        return
    if row:
        a.execute(f'ALTER DATABASE "{TEMPLATE}" IS_TEMPLATE false')
        a.execute(f'DROP DATABASE "{TEMPLATE}" WITH (FORCE)')
    a.execute(f'CREATE DATABASE "{TEMPLATE}"')
    with psycopg.connect(_url_for(admin, TEMPLATE), autocommit=True) as c:
        migrate.apply(c)
        demo.load(c)
        c.execute("VACUUM ANALYZE")
    a.execute(f"COMMENT ON DATABASE \"{TEMPLATE}\" IS '{fp}'")
    a.execute(f'ALTER DATABASE "{TEMPLATE}" IS_TEMPLATE true')


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _admin_url()


# Identities of the test session, one per role (services/auth): an API key and a password account.
KEYS: dict[str, str] = {}
PASSWORD = "test-password-1"
PURPOSE = {"X-RTCC-Reason": "test suite", "X-RTCC-Case-Number": "TEST-0001"}  # plate reads need both


def _make_identities(url: str) -> None:
    from services.auth import ROLES, accounts
    for role in ROLES:
        KEYS[role] = api_key(url, role)
        with psycopg.connect(url, autocommit=True) as c:
            accounts.add_user(c, f"test-{role}", role, PASSWORD)


def api_key(url: str, role: str = "admin") -> str:
    """A new API key `test-{role}` in the database at `url` (a server a test runs on a database of
    its own signs its callers in against that database, not this session's)."""
    from services.auth import keys
    with psycopg.connect(url, autocommit=True) as c:
        return keys.create_key(c, f"test-{role}", role)[1]


def auth_headers(role: str | None = "admin") -> dict[str, str]:
    """Headers of a caller with this role (None: anonymous, an empty Authorization header)."""
    return {"Authorization": f"Bearer {KEYS[role]}" if role else ""}


@pytest.fixture(scope="session")
def database_url(admin_url):
    """A fresh database for this session: schema + demo city, cloned from the template, and one test
    identity per role (KEYS)."""
    name = f"rtcc_test_{os.getpid()}"
    _clone_template(admin_url, name)
    url = _url_for(admin_url, name)
    os.environ["DATABASE_URL"] = url
    from services import db
    from services.settings import get_settings
    get_settings.cache_clear()
    db.close_pool()
    _make_identities(url)
    yield url
    db.close_pool()
    with psycopg.connect(admin_url, autocommit=True) as a:
        a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_database(admin_url: str, name: str):
    with psycopg.connect(admin_url, autocommit=True) as a:
        a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        a.execute(f'CREATE DATABASE "{name}"')
    yield _url_for(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as a:
        a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database(admin_url):
    """An empty database of its own (dropped afterwards), for migration and fresh-install tests."""
    yield from _empty_database(admin_url, f"rtcc_test_empty_{os.getpid()}")


@pytest.fixture
def other_empty_database(admin_url):
    """A second empty database, for tests that compare two installs."""
    yield from _empty_database(admin_url, f"rtcc_test_other_{os.getpid()}")


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as c:
        yield c


@pytest.fixture(scope="session")
def app(database_url):
    from services.app import create_app
    return create_app()


@pytest.fixture(scope="session")
def client(app):
    """The app in-process, as an admin API key (every permission; plate reads still need PURPOSE)."""
    from fastapi.testclient import TestClient
    with TestClient(app, headers=auth_headers("admin")) as c:
        yield c


@pytest.fixture(scope="session")
def client_as(app, client):
    """client_as(role) -> a TestClient with that role's API key; client_as(None): anonymous."""
    from fastapi.testclient import TestClient
    made: dict = {}

    def make(role: str | None):
        if role not in made:
            made[role] = TestClient(app, headers=auth_headers(role))
        return made[role]
    yield make


@pytest.fixture(scope="session")
def anon_client(client_as):
    return client_as(None)


# Requests to the test servers made with plain httpx (httpx.get(server_url + ...), live_subscribe, a
# server a test starts in a subprocess on this session's database) carry the admin key unless they
# set Authorization themselves: one place, every test.
_SERVERS: set[str] = set()


def _authenticate(request) -> None:
    if (request.url.host in ("127.0.0.1", "localhost") or request.url.netloc.decode() in _SERVERS) \
            and "authorization" not in request.headers and KEYS:
        request.headers["Authorization"] = f"Bearer {KEYS['admin']}"
    elif request.headers.get("authorization") == "":
        del request.headers["authorization"]  # auth_headers(None): anonymous on purpose


def _patch_httpx() -> None:
    import httpx
    if getattr(httpx.Client.send, "_rtcc", False):
        return
    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def send(self, request, **kw):
        _authenticate(request)
        return sync_send(self, request, **kw)

    async def asend(self, request, **kw):
        _authenticate(request)
        return await async_send(self, request, **kw)
    send._rtcc = True  # type: ignore[attr-defined]
    httpx.Client.send, httpx.AsyncClient.send = send, asend


_patch_httpx()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, seconds: float, alive=None) -> None:
    """Until the server at url answers /healthz with 200 (at most `seconds`); alive(), when given,
    is checked on each try (a server process that exited fails at once, with what it says)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if alive is not None:
            alive()
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


@pytest.fixture(scope="session")
def server_url(app):
    """The app served over real HTTP (uvicorn in a thread), for GDAL, browsers and SSE."""
    import httpx
    import uvicorn
    port = free_port()
    _SERVERS.add(f"127.0.0.1:{port}")
    _patch_httpx()
    # GDAL (ogrinfo, ogr2ogr: QGIS's OAPIF driver) signs in with HTTP Basic, an API key as the password
    os.environ["GDAL_HTTP_USERPWD"] = f"test-admin:{KEYS['admin']}"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, seconds=10)
    yield url
    server.should_exit = True
    t.join(timeout=10)


def live_subscribe(url: str, headers: dict | None = None,
                   ids: bool = False) -> tuple[queue.Queue, threading.Event]:
    """A real SSE client on /api/live in a thread, connected when this returns: messages arrive in
    the queue as (event, data) — (event, data, id) with ids=True, plus ("end", None, last id) when
    the server ends the stream; set the event to stop it. As admin unless `headers` say
    otherwise (auth_headers(role), PURPOSE for plate data)."""
    import httpx
    out: queue.Queue = queue.Queue()
    stop, ready = threading.Event(), threading.Event()

    def listen() -> None:
        last_id = None
        try:
            with httpx.Client(timeout=None) as c, c.stream("GET", url, headers=headers or {}) as r:
                ev = None
                for line in r.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    elif line.startswith("id: "):
                        last_id = line[4:]
                    elif line.startswith("event: "):
                        ev = line[7:]
                    elif line.startswith("data: "):
                        out.put((ev, json.loads(line[6:]), last_id) if ids else (ev, json.loads(line[6:])))
                    if stop.is_set():
                        return
        except httpx.HTTPError:  # the server went away (a test stopped it): the stream ends
            pass
        if ids:
            out.put(("end", None, last_id))

    threading.Thread(target=listen, daemon=True).start()
    assert ready.wait(10), f"no SSE connection to {url}"
    time.sleep(0.3)  # the process's LISTEN connection is up once its first client is connected
    return out, stop


# -- browsers ---------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_login(server_url: str, role: str = "admin", purpose: bool = True) -> list[dict]:
    """Sign in through POST /login as test-<role> (and state the session's ALPR purpose): the
    cookies a browser context needs."""
    import httpx
    with httpx.Client(base_url=server_url, headers=auth_headers(None)) as c:
        r = c.post("/login", json={"name": f"test-{role}", "password": PASSWORD})
        assert r.status_code == 200, r.text
        if purpose and role in ("analyst", "supervisor", "admin"):
            p = c.post("/api/session/purpose", json={"reason": "test suite", "case_number": "TEST-0001"},
                       headers={"X-CSRF-Token": r.json()["csrf"]})
            assert p.status_code == 200, p.text
        return [{"name": k, "value": v, "url": server_url} for k, v in c.cookies.items()]


class SignedInBrowser:
    """A Playwright browser whose new contexts (and pages) are signed in to the test server."""

    def __init__(self, browser, cookies: list[dict]) -> None:
        self._browser, self._cookies = browser, cookies

    def new_context(self, **kw):
        # Playwright's string predicates (wait_for_function) are evaluated with eval, which the web
        # client's Content-Security-Policy forbids; test_security.py checks the page under the real CSP.
        kw.setdefault("bypass_csp", True)
        ctx = self._browser.new_context(**kw)
        ctx.add_cookies(self._cookies)
        return ctx

    def new_page(self, **kw):
        return self.new_context(**kw).new_page()

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def raw_browser():
    """Debian's headless Chromium (no session: the login page, other roles)."""
    from pathlib import Path as _P
    if not _P(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def browser(raw_browser, server_url):
    """Chromium signed in as test-admin (session cookie, CSRF token, stated ALPR purpose)."""
    return SignedInBrowser(raw_browser, browser_login(server_url))
