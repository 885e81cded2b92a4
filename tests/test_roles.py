"""The role matrix, walked: every route of the app x every role (and anonymous) against the table
in README ("Roles"), which must equal services/auth.PERMISSIONS; layers against the catalog's roles
in tiles, TileJSON, OGC, /api/layers; and /api/live per subscriber."""
from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.responses import StreamingResponse

from layers.catalog import CATALOG
from services import auth
from services.auth.middleware import is_public
from tests.conftest import PURPOSE, ROOT, auth_headers, live_subscribe

ANY_SIGNED_IN = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}  # FastAPI's own pages
SAMPLE = {"feed": "gunshot", "layer": "cameras", "z": "0", "x": "0", "y": "0", "package": "maplibre-gl",
          "rel": "dist/none.js", "name": "none", "plate": "NONE", "collection": "cameras"}


def readme_matrix() -> dict[str, frozenset[str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Role matrix"):]
    header = next(line for line in section.splitlines() if line.startswith("| permission"))
    roles = [c.strip() for c in header.strip("|").split("|")[1:]]
    out = {}
    for line in section.splitlines():
        m = re.match(r"^\| `([a-z:]+)` \|(.*)$", line)
        if m:
            cells = [c.strip() for c in m.group(2).split("|")]
            out[m.group(1)] = frozenset(r for r, c in zip(roles, cells) if c == "✓")
    return out


def test_readme_matrix_is_the_enforced_one():
    assert readme_matrix() == auth.PERMISSIONS


def permissions_of(route: APIRoute) -> set[str]:
    found = set()
    stack = list(route.dependant.dependencies)
    while stack:
        d = stack.pop()
        if getattr(d.call, "permission", None):
            found.add(d.call.permission)
        stack.extend(d.dependencies)
    return found


def routes(app):
    for r in app.routes:
        if isinstance(r, APIRoute):
            for m in sorted(r.methods - {"HEAD"}):
                yield r, m


def test_every_route_declares_a_permission_or_is_public(app):
    missing = [f"{m} {r.path}" for r, m in routes(app) if not is_public(r.path) and not permissions_of(r)]
    assert not missing, f"routes without Depends(auth.require(...)): {missing}"


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE.get(m.group(1), "1"), path)


@pytest.mark.parametrize("role", [None, *auth.ROLES])
def test_every_route_x_every_role(app, client_as, role):
    c = client_as(role)
    wrong = []
    for r, method in routes(app):
        if r.response_class is StreamingResponse or r.path in ("/login", "/logout", "/auth/oidc/callback"):
            continue  # streams are walked below over HTTP; sign-in routes have tests of their own
        if method not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            continue
        status = c.request(method, _url(r.path)).status_code
        needs = permissions_of(r)
        if is_public(r.path):
            ok = status not in (401, 403)
        elif role is None:
            ok = status == 401
        elif all(role in auth.PERMISSIONS[p] for p in needs):
            ok = status not in (401, 403)
        else:
            ok = status == 403
        if not ok:
            wrong.append(f"{method} {r.path} -> {status} (needs {sorted(needs)})")
    for path in ANY_SIGNED_IN:
        status = c.get(path).status_code
        if (role is None) != (status == 401):
            wrong.append(f"GET {path} -> {status}")
    assert not wrong, f"role {role}: " + "; ".join(wrong)


@pytest.mark.parametrize("role", auth.ROLES)
def test_layers_follow_the_catalog_roles(client_as, role):
    c = client_as(role)
    readable = {layer.id for layer in CATALOG if role == "admin" or role in layer.roles}
    drawn = {layer.id for layer in CATALOG if layer.spatial} & readable  # records-only layers: OGC only
    assert {d["id"] for d in c.get("/api/layers").json()["layers"]} == drawn
    assert {d["id"] for d in c.get("/tiles").json()["layers"]} == drawn
    listed = {d["id"] for d in c.get("/ogc/collections", params={"f": "json"}).json()["collections"]}
    assert listed == readable
    for layer in CATALOG:
        tj = c.get(f"/tiles/{layer.id}.json")
        items = c.get(f"/ogc/collections/{layer.id}/items", params={"f": "json", "limit": 1}, headers=PURPOSE)
        if layer.id in readable:
            assert tj.status_code == (200 if layer.spatial else 404), (layer.id, tj.text)
            assert items.status_code == 200, (layer.id, items.text)
        else:
            assert tj.status_code == 403 and items.status_code == 403, (layer.id, tj.status_code, items.status_code)


def test_anonymous_gets_401_everywhere_but_health_and_login(anon_client):
    for path in ("/api/layers", "/tiles", "/tiles/cameras/0/0/0.mvt", "/ogc", "/ogc/collections",
                 "/ogc/collections/alpr_reads/items", "/api/nearest?lon=-76.6&lat=39.29", "/openapi.json"):
        assert anon_client.get(path).status_code == 401, path
    assert anon_client.post("/api/ingest/gunshot", json=[]).status_code == 401
    assert anon_client.get("/healthz").status_code == 200
    assert anon_client.get("/login").status_code == 200
    page = anon_client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert "Basic" in anon_client.get("/ogc/collections").headers["www-authenticate"]


def _ingest(server_url, feed, rows):
    r = httpx.post(f"{server_url}/api/ingest/{feed}", json=rows, timeout=30)
    assert r.status_code == 200 and r.json()["accepted"] == len(rows), r.text


def _drain(q, seconds):
    out, end = [], time.time() + seconds
    while time.time() < end:
        try:
            out.append(q.get(timeout=0.2))
        except Exception:
            pass
    return out


def test_live_stream_sends_each_subscriber_what_its_role_may_see(server_url):
    subs = {
        "viewer": live_subscribe(server_url + "/api/live?types=event", auth_headers("viewer")),
        "analyst-no-purpose": live_subscribe(server_url + "/api/live?types=event", auth_headers("analyst")),
        "analyst": live_subscribe(server_url + "/api/live?types=event", {**auth_headers("analyst"), **PURPOSE}),
    }
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(timezone.utc).isoformat()
    _ingest(server_url, "alpr", [{"id": f"lv-{tag}", "plate": f"LV{tag[:5]}", "observed_at": now,
                                  "lon": -76.61, "lat": 39.29}])
    _ingest(server_url, "gunshot", [{"id": f"lv-g-{tag}", "observed_at": now, "lon": -76.61, "lat": 39.29}])
    got = {k: _drain(q, 3) for k, (q, _) in subs.items()}
    for _, stop in subs.values():
        stop.set()

    def kinds(k):
        return {d.get("kind") for ev, d in got[k] if ev == "event" and d.get("feed_id", "").endswith(tag)}
    assert kinds("analyst") == {"alpr_read", "gunshot"}
    assert kinds("viewer") == {"gunshot"}
    assert kinds("analyst-no-purpose") == {"gunshot"}
    # asking for plates explicitly without a purpose is refused with a sentence
    r = httpx.get(server_url + "/api/live?kinds=alpr_read", headers=auth_headers("analyst"), timeout=5)
    assert r.status_code == 403 and "reason" in r.json()["detail"]
    r = httpx.get(server_url + "/api/live", headers=auth_headers(None), timeout=5)
    assert r.status_code == 401


def test_a_resumed_stream_keeps_the_subscribers_filter(server_url, conn):
    """Messages read back from the log on resume (since_id) pass the same role and plate filter."""
    from services import bus
    since = bus.head(conn)
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(timezone.utc).isoformat()
    _ingest(server_url, "alpr", [{"id": f"rs-{tag}", "plate": f"RS{tag[:5]}", "observed_at": now,
                                  "lon": -76.61, "lat": 39.29}])
    _ingest(server_url, "gunshot", [{"id": f"rs-g-{tag}", "observed_at": now, "lon": -76.61, "lat": 39.29}])
    url = server_url + f"/api/live?types=event&since_id={since}"
    subs = {"viewer": live_subscribe(url, auth_headers("viewer")),
            "analyst-no-purpose": live_subscribe(url, auth_headers("analyst")),
            "analyst": live_subscribe(url, {**auth_headers("analyst"), **PURPOSE})}
    got = {k: _drain(q, 3) for k, (q, _) in subs.items()}
    for _, stop in subs.values():
        stop.set()

    def kinds(k):
        return {d.get("kind") for ev, d in got[k] if ev == "event" and d.get("feed_id", "").endswith(tag)}
    assert kinds("analyst") == {"alpr_read", "gunshot"}
    assert kinds("viewer") == {"gunshot"}
    assert kinds("analyst-no-purpose") == {"gunshot"}
