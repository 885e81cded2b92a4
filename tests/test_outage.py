"""A database outage is a 503 with Retry-After on every route, and the server recovers on its own.

The outage is real: the test database stops accepting connections and every backend serving it
is terminated (what a restart does to the app's pooled connections), then it is let back in.
The cluster itself keeps running, so other sessions sharing it are untouched.
"""
from __future__ import annotations

import contextlib
import time
import uuid

import psycopg
import pytest

from services import db

# One request per part of the server, each of which must reach the database to answer.
ROUTES = [
    ("GET", "/healthz", None),
    ("POST", "/api/ingest/gunshot", [{"id": "outage-1", "observed_at": "2026-01-01T00:00:00Z",
                                      "lon": -76.61, "lat": 39.29}]),
    ("GET", "/api/live?types=proximity", None),
    ("GET", "/ogc/collections/cad_incidents/items?limit=1", None),
    ("GET", "/ogc/collections/streets/items/1", None),
    ("GET", "/tiles/cad_incidents/14/4686/6265.mvt?datetime=2001-02-03T00:00:00Z/..&thin=false", None),
    ("GET", "/api/hexbins?res=7&datetime=2001-02-03T00:00:00Z/..", None),
    ("GET", "/api/tasks", None),
    ("GET", "/api/dashboard", None),
    ("GET", "/api/nearest?lon=-76.61&lat=39.29", None),
    ("GET", "/api/nearest?address=600%20N%20LUZERNE%20AV", None),
    ("GET", "/api/geocode?q=600%20N%20LUZERNE%20AV", None),
    ("GET", "/api/reverse?lon=-76.61&lat=39.29", None),
    ("GET", "/api/route?from=-76.61,39.29&to=-76.62,39.30", None),
]


def terminate(admin_url: str, dbname: str) -> int:
    with psycopg.connect(admin_url, autocommit=True) as a:
        return len(a.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)).fetchall())


@contextlib.contextmanager
def outage(admin_url: str, dbname: str):
    """The database refuses new connections and loses its open ones, until the block ends."""
    with psycopg.connect(admin_url, autocommit=True) as a:
        a.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        try:
            terminate(admin_url, dbname)
            yield
        finally:
            a.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')


@pytest.fixture
def dbname(database_url) -> str:
    return psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]


@pytest.fixture
def short_pool_wait(monkeypatch, client):
    """Requests give up on the pool after 1 s instead of the configured wait (faster test)."""
    monkeypatch.setattr(db.pool(), "timeout", 1.0)


def test_every_route_answers_503_with_retry_after_during_an_outage(client, admin_url, dbname, short_pool_wait):
    for method, path, body in ROUTES:  # warm up: the routes work, and the tile is not yet cached
        if "/api/live" not in path:  # a stream (it would never end here)
            assert client.request(method, path, json=body).status_code < 500, path
    with outage(admin_url, dbname):
        for method, path, body in ROUTES:
            r = client.request(method, path.replace("2001-02-03", "2001-02-04"), json=body)
            assert r.status_code == 503, (path, r.status_code, r.text[:300])
            assert int(r.headers["retry-after"]) > 0, path
            assert r.headers["content-type"].startswith("application/json"), path


def test_routes_recover_after_the_outage_without_a_restart(client, admin_url, dbname, short_pool_wait):
    with outage(admin_url, dbname):
        assert client.get("/healthz").status_code == 503
    # Back. A reconnect attempt made during the outage may still be in its backoff (RECONNECT_S), so
    # the pool answers within a few seconds, by itself; from then on none of the connections that
    # died with the outage may fail a request.
    deadline = time.monotonic() + 10
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover within 10 s of the database"
        time.sleep(0.2)
    for _ in range(20):
        r = client.get("/healthz")
        assert r.status_code == 200, r.text
    for _ in range(3):
        assert client.get("/api/nearest?lon=-76.61&lat=39.29").status_code == 200
    ingest = [{"id": f"after-{uuid.uuid4().hex[:8]}", "observed_at": "2026-01-01T00:00:00Z",
               "lon": -76.61, "lat": 39.29}]
    assert client.post("/api/ingest/gunshot", json=ingest).json()["accepted"] == 1


def test_killed_pooled_connections_never_fail_a_request(client, admin_url, dbname):
    """A database restart from the pool's point of view: every connection it holds is dead."""
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/nearest?lon=-76.61&lat=39.29").status_code == 200
        assert client.get("/ogc/collections/calls/items?limit=2").status_code == 200
        assert terminate(admin_url, dbname) > 0
        for _ in range(10):
            r = client.get("/healthz")
            assert r.status_code == 200, r.text
        assert client.get("/api/nearest?lon=-76.61&lat=39.29").status_code == 200
        assert client.get("/api/nearest?lon=-76.60&lat=39.30").status_code == 200
        assert client.get("/ogc/collections/calls/items?limit=2").status_code == 200
