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

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "rtcc_tpl"


def _fingerprint() -> str:
    h = hashlib.sha256()
    files = sorted((ROOT / "sql").rglob("*.sql")) + sorted((ROOT / "data" / "baltimore").glob("*.gz"))
    files += [ROOT / "services" / "migrate.py", ROOT / "services" / "demo.py",
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
    from services import localdb
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
    from services import demo, migrate
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


@pytest.fixture(scope="session")
def database_url(admin_url):
    """A fresh database for this session: schema + demo city, cloned from the template."""
    name = f"rtcc_test_{os.getpid()}"
    _clone_template(admin_url, name)
    url = _url_for(admin_url, name)
    os.environ["DATABASE_URL"] = url
    from services import db
    from services.settings import get_settings
    get_settings.cache_clear()
    db.close_pool()
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
    from fastapi.testclient import TestClient
    with TestClient(app) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_url(app):
    """The app served over real HTTP (uvicorn in a thread), for GDAL, browsers and SSE."""
    import httpx
    import uvicorn
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    yield url
    server.should_exit = True
    t.join(timeout=10)


def live_subscribe(url: str) -> tuple[queue.Queue, threading.Event]:
    """A real SSE client on /api/live in a thread, connected when this returns: messages arrive in
    the queue as (event, data); set the event to stop it."""
    import httpx
    out: queue.Queue = queue.Queue()
    stop, ready = threading.Event(), threading.Event()

    def listen() -> None:
        with httpx.Client(timeout=None) as c, c.stream("GET", url) as r:
            ev = None
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    ready.set()
                elif line.startswith("event: "):
                    ev = line[7:]
                elif line.startswith("data: "):
                    out.put((ev, json.loads(line[6:])))
                if stop.is_set():
                    return

    threading.Thread(target=listen, daemon=True).start()
    assert ready.wait(10), f"no SSE connection to {url}"
    time.sleep(0.3)  # the process's LISTEN connection is up once its first client is connected
    return out, stop
