"""The analyst's browser client: `/` (map), `/dashboard`, static files from web/, the npm
packages it needs (MapLibre GL JS, Chart.js) from web/node_modules, and `/api/layers`, the layer
catalog as JSON, so the web legend and layer panel derive from layers/catalog.py and nothing else.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from layers.catalog import CATALOG
from services import auth, db
from services.errors import NotFound
from services.settings import ROOT, get_settings

router = APIRouter(tags=["web"])

WEB = ROOT / "web"
# Only these npm packages are served (their dist folders), never the whole node_modules.
VENDOR = {"maplibre-gl": WEB / "node_modules" / "maplibre-gl" / "dist",
          "chart.js": WEB / "node_modules" / "chart.js" / "dist",
          "terra-draw": WEB / "node_modules" / "terra-draw" / "dist",
          "terra-draw-maplibre-gl-adapter": WEB / "node_modules" / "terra-draw-maplibre-gl-adapter" / "dist",
          "maplibre-gl-export": WEB / "node_modules" / "@watergis" / "maplibre-gl-export" / "dist",
          "maplibre-gl-measures": WEB / "node_modules" / "maplibre-gl-measures" / "dist"}
PAGES = {"/": "index.html", "/dashboard": "dashboard.html", "/field": "field.html", "/audit": "audit.html"}
PAGE_PERMISSION = {"/audit": "audit:read"}  # other pages: any signed-in role
# Map label glyphs (SDF protobufs, 256 code points a file), built at setup by fontnik's build-glyphs
# from Debian's DejaVu fonts (Makefile `glyphs`): labels render offline, no font CDN.
GLYPHS = ROOT / ".local" / "glyphs"
# Our own files change with every deploy: revalidate (cheap with ETag); vendor files change with the lock file.
NO_CACHE = {"Cache-Control": "no-cache"}
VENDOR_CACHE = {"Cache-Control": "public, max-age=86400"}


def _file(base: Path, rel: str, headers: dict) -> FileResponse:
    """A file under base; anything that escapes it (../), does not exist or cannot name a file
    (a NUL byte) is a 404."""
    if "\x00" in rel:
        raise NotFound("no such file")
    path = (base / rel).resolve()
    if not path.is_relative_to(base.resolve()) or not path.is_file() or "node_modules" in path.relative_to(
            base.resolve()).parts[:1]:
        raise NotFound(f"no file {rel}")
    return FileResponse(path, headers=headers)


def _page(name: str):
    def handler() -> FileResponse:
        return FileResponse(WEB / name, headers=NO_CACHE)
    return handler


for _route, _name in PAGES.items():
    router.add_api_route(_route, _page(_name), methods=["GET"], include_in_schema=False,
                         dependencies=[Depends(auth.require(PAGE_PERMISSION.get(_route, "events:read")))])


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    return _file(WEB, "img/favicon.svg", VENDOR_CACHE)


@router.get("/static/{rel:path}", include_in_schema=False)
def static(rel: str) -> FileResponse:
    return _file(WEB, rel, NO_CACHE)


@router.get("/glyphs/{fontstack}/{start}-{end}.pbf", include_in_schema=False)
def glyphs(fontstack: str, start: int, end: int) -> FileResponse:
    # MapLibre asks for "Font A,Font B" stacks; we build single fonts: the first one we have answers,
    # else DejaVu Sans (a plugin's default font must still get its labels).
    fonts = [f.strip() for f in fontstack.split(",")]
    font = next((f for f in fonts if f and "/" not in f and (GLYPHS / f).is_dir()), "DejaVu Sans")
    if start % 256 or end != start + 255:
        raise NotFound(f"no glyph range {start}-{end}")
    return _file(GLYPHS / font, f"{start}-{end}.pbf", VENDOR_CACHE)


@router.get("/vendor/{package}/{rel:path}", include_in_schema=False)
def vendor(package: str, rel: str) -> FileResponse:
    base = VENDOR.get(package)
    if base is None:
        raise NotFound(f"no vendored package {package}")
    return _file(base, rel, VENDOR_CACHE)


def route_exists(app, path: str, method: str = "GET") -> bool:
    """True when some route of the app (router, include or mount) fully matches this path."""
    from starlette.routing import Match
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": [],
             "query_string": b""}
    return any(r.matches(scope)[0] == Match.FULL for r in app.router.routes)


def _services(request: Request) -> dict[str, bool]:
    """Which optional parts of the server this process runs, so the client degrades instead of 404ing."""
    app = request.app
    return {"tiles": route_exists(app, "/tiles/streets/12/1171/1566.mvt"),
            "tilejson": route_exists(app, "/tiles/streets.json"),
            "ogc": route_exists(app, "/ogc/collections"), "geocode": route_exists(app, "/api/geocode"),
            "reverse": route_exists(app, "/api/reverse"),
            "nearest": route_exists(app, "/api/nearest"), "tasks": route_exists(app, "/api/tasks"),
            "live": route_exists(app, "/api/live"), "glyphs": (GLYPHS / "DejaVu Sans" / "0-255.pbf").is_file()}


_RANGE_TTL_S = 300.0  # seconds: the replay slider's bounds may be this stale
_range_cache: tuple[float, tuple] | None = None


def _time_range_and_extent() -> tuple:
    """Events' time range (the replay slider's bounds) and the districts' extent (initial view).

    min/max over every partition costs ~0.5 s on a million events, so each process keeps the
    answer for a few minutes (a hint for the UI, not state other processes depend on)."""
    global _range_cache
    now = time.monotonic()
    if _range_cache is not None and now - _range_cache[0] < _RANGE_TTL_S:
        return _range_cache[1]
    with db.pool().connection() as conn:
        lo, hi = conn.execute("SELECT min(observed_at), max(observed_at) FROM events").fetchone()
        ext = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                           "FROM (SELECT ST_Extent(geom) AS e FROM districts) s").fetchone()
    _range_cache = (now, (lo, hi, ext))
    return lo, hi, ext


@router.get("/api/layers", tags=["web"], summary="The layer catalog (styles, legend, tile URLs) for map clients")
def layers(request: Request, principal: auth.Principal = Depends(auth.require("events:read"))) -> dict:
    out = []
    for layer in CATALOG:
        if not layer.spatial:
            continue  # a map client draws features; records without a location are read through OGC
        if not auth.may_read_layer(principal, layer):
            continue
        d = asdict(layer)
        d["properties"] = [asdict(p) for p in layer.properties]
        d.pop("source")  # a database detail, not the client's business
        d["tiles"] = f"/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt"
        d["tilejson"] = f"/tiles/{layer.id}.json"
        d["source_layer"] = layer.id  # the layer's name inside its tiles (TileJSON's vector_layers id)
        out.append(d)
    lo, hi, ext = _time_range_and_extent()
    s = get_settings()
    x0, y0, x1, y1 = s.service_area
    return {"layers": out, "services": _services(request), "agency": s.agency_name, "timezone": s.timezone,
            "service_area": [x0, y0, x1, y1], "extent": list(ext) if ext[0] is not None else [x0, y0, x1, y1],
            "events_time_range": {"min": lo, "max": hi},
            "user": {"name": principal.name, "role": principal.role,
                     "permissions": sorted(p for p in auth.PERMISSIONS if principal.can(p))}}
