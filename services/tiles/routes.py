"""GET /tiles/{layer}/{z}/{x}/{y}.mvt, /tiles/{layer}.json, /tiles, and GET /api/hexbins (GeoJSON).

Cached tiles are answered without touching the database; a miss renders in PostGIS on the one
pool. ETag is a hash of the bytes; If-None-Match answers 304.
"""
from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from geo import tiles as T
from layers.catalog import CATALOG, Layer, get_layer
from services import audit, auth, db
from services.errors import BadRequest, NotFound
from services.settings import get_settings
from services.tiles import query as Q
from services.tiles import tilejson as TJ
from services.tiles.cache import cache, entry_for
from services.tiles.filters import Filters, parse_filters, parse_kinds, parse_window

router = APIRouter(tags=["tiles"], dependencies=[Depends(auth.require("events:read"))])
MVT = "application/vnd.mapbox-vector-tile"
HEXBIN_MAX_CELLS = 50_000   # GeoJSON hexbins: refuse bigger answers (ask for a coarser res or bbox)

PURPOSE_PARAMS = frozenset({"reason", "case_number", "purpose"})  # the stated purpose, not a filter
DATETIME_DOC = ("OGC API datetime: an RFC 3339 instant, or an interval `start/end` with `..` for an open end "
                "(e.g. `2024-05-01T00:00:00Z/..`)")


def _layer(layer_id: str, request: Request) -> Layer:
    """The layer, if this caller's role may read it (the catalog's `roles`)."""
    layer = get_layer(layer_id)
    if layer is None:
        raise NotFound(f"unknown layer '{layer_id}': see /tiles for the catalog")
    auth.check_layer(auth.current_principal(request), layer)
    if not layer.spatial:
        raise NotFound(f"layer '{layer_id}' has no geometry: it has no tiles (read it at /ogc/collections/{layer_id})")
    return layer


def _readable(request: Request):
    p = auth.current_principal(request)
    return lambda layer: auth.may_read_layer(p, layer)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _cache_control(layer: Layer) -> str:
    if layer.group == "reference":
        return f"public, max-age={get_settings().tile_browser_max_age_s}"  # reference: streets, districts
    return "public, max-age=0, must-revalidate"  # live data: always revalidate (cheap: ETag → 304)


def _answer(request: Request, body: bytes, etag: str, layer: Layer, media: str, state: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": _cache_control(layer), "X-Tile-Cache": state,
               "Access-Control-Expose-Headers": "ETag, X-Tile-Cache"}
    inm = request.headers.get("if-none-match")
    if inm and etag in {t.strip() for t in inm.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media, headers=headers)


def _render(layer: Layer, z: int, x: int, y: int, filters: Filters, thin: bool,
            audited: Request | None = None) -> bytes:
    """Render a tile; `audited`: the request whose reading of personal data is recorded on the same
    connection and worker thread (one hop per tile, not two)."""
    with db.pool().connection() as conn:
        try:
            body = Q.render(conn, layer, z, x, y, filters, thin)
            if audited is not None:
                _record(conn, audited, layer, z, x, y)
            return body
        except (psycopg.DataError, psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedColumn,
                psycopg.errors.DatatypeMismatch) as e:
            if not filters.conditions:
                raise
            # A filter that type-checks only in the database (e.g. a number compared with text).
            raise BadRequest(f"filter cannot be applied to layer '{layer.id}': {str(e).splitlines()[0]}")


def _audit(request: Request, layer: Layer, z: int, x: int, y: int) -> None:
    with db.pool().connection() as conn:
        _record(conn, request, layer, z, x, y)


def _record(conn: psycopg.Connection, request: Request, layer: Layer, z: int, x: int, y: int) -> None:
    audit.record(conn, request, "tiles.read", f"tiles/{layer.id}/{z}/{x}/{y}",
                 {"layer": layer.id, "tile": [z, x, y],
                  **{k: v for k, v in request.query_params.items() if k not in PURPOSE_PARAMS}})


def _dependency_bounds(layer: Layer, z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Lon/lat box whose events can change this tile: the tile, its buffer and, for hexbins, a cell."""
    w, s, e, n = T.lonlat_bounds(z, x, y, max(T.BUFFER, T.EXTENT // T.THIN_CELLS))
    if layer.aggregate == "h3":
        m = T.h3_margin_deg(T.h3_res_for_zoom(z), max(abs(s), abs(n)))
        w, s, e, n = w - m, s - m, e + m, n + m
    return w, s, e, n


@router.get("/tiles", summary="Every catalog layer with its TileJSON (the vector tile index)")
def tiles_index(request: Request) -> dict:
    return TJ.index(_base(request), _readable(request))


@router.get("/tiles/index.json", summary="Every catalog layer with its TileJSON (alias of /tiles)",
            include_in_schema=False)
def tiles_index_json(request: Request) -> dict:
    return TJ.index(_base(request), _readable(request))


@router.get("/tiles/{layer}.json", summary="TileJSON 3.0.0 of one layer",
            description="Query parameters (datetime, since, hours, filter, kinds, property=value) are carried "
                        "into the tile URL template.")
def layer_tilejson(layer: str, request: Request) -> dict:
    lyr = _layer(layer, request)
    query = dict(request.query_params)  # the purpose too: a GIS client given this URL sends it on every tile
    if query:
        parse_filters(lyr, {k: v for k, v in query.items() if k not in PURPOSE_PARAMS})  # 400 now rather than on every tile
    return TJ.tilejson(lyr, _base(request), query)


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", summary="One vector tile (Mapbox Vector Tile, WebMercatorQuad)",
            response_class=Response,
            responses={200: {"content": {MVT: {}}}, 304: {"description": "not modified (If-None-Match)"},
                       400: {"description": "bad filter"}, 404: {"description": "unknown layer or tile"}},
            description="Points of event layers are thinned below the layer's `thin_below_zoom` (one point per "
                        "cell of a 64×64 grid, with `count`) unless `thin=false`; at most the layer's feature cap "
                        "per tile. Any exposed property can be filtered with `name=value` (or `name=a,b`).")
async def tile(request: Request, layer: str, z: int, x: int, y: int,
               datetime: str | None = Query(None, description=DATETIME_DOC),
               since: str | None = Query(None, description="RFC 3339 instant: events observed since then"),
               hours: float | None = Query(None, description="events of the last N hours"),
               filter: str | None = Query(None, description="CQL2 filter over the layer's properties"),
               filter_lang: str | None = Query(None, alias="filter-lang", description="cql2-text (default) or cql2-json"),
               kinds: str | None = Query(None, description="hexbin layer: comma-separated event kinds (default all)"),
               thin: bool = Query(True, description="thin event points below the layer's thin_below_zoom")):
    lyr = _layer(layer, request)
    personal = lyr.event_kind in audit.PERSONAL_KINDS  # ALPR reads: a stated purpose, every tile audited
    if personal:
        auth.require_purpose(request)
    if not T.valid_tile(z, x, y):
        raise NotFound(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix (zoom 0..{T.MAX_ZOOM}, "
                       f"x and y 0..2^zoom-1)")
    filters = parse_filters(lyr, {k: v for k, v in request.query_params.items() if k not in PURPOSE_PARAMS})
    key = (lyr.id, z, x, y, filters.key(), Q.thins(lyr, z, thin))
    cache.start()
    hit = cache.get(key)
    if hit is not None:
        if personal:
            await run_in_threadpool(_audit, request, lyr, z, x, y)
        return _answer(request, hit.body, hit.etag, lyr, MVT, "hit")
    generation = cache.generation_of(lyr.id)
    body = await run_in_threadpool(_render, lyr, z, x, y, filters, thin, request if personal else None)
    entry = entry_for(lyr, body, _dependency_bounds(lyr, z, x, y), filters.window, filters.kinds)
    cache.put(key, entry, generation)
    return _answer(request, body, entry.etag, lyr, MVT, "miss")


def render_tile(layer: Layer, z: int, x: int, y: int, params: dict[str, str] | None = None,
                on_conn=None) -> bytes:
    """One tile rendered in this process (through the cache), for callers outside the HTTP route
    (the OGC API - Tiles provider). `on_conn(conn)` runs on the rendering connection (the audit row)."""
    filters = parse_filters(layer, params or {})
    thin = (params or {}).get("thin", "true").lower() != "false"
    key = (layer.id, z, x, y, filters.key(), Q.thins(layer, z, thin))
    cache.start()
    hit = cache.get(key)
    if hit is not None:
        if on_conn is not None:
            with db.pool().connection() as conn:
                on_conn(conn)
        return hit.body
    generation = cache.generation_of(layer.id)
    with db.pool().connection() as conn:
        body = Q.render(conn, layer, z, x, y, filters, thin)
        if on_conn is not None:
            on_conn(conn)
    cache.put(key, entry_for(layer, body, _dependency_bounds(layer, z, x, y), filters.window, filters.kinds),
              generation)
    return body


def _bbox(text: str | None) -> tuple[float, float, float, float]:
    if not text:
        return get_settings().service_area
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise BadRequest("bbox must be four numbers: west,south,east,north (degrees)")
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise BadRequest("bbox must be west,south,east,north in degrees with west < east and south < north")
    return w, s, e, n


@router.get("/api/hexbins", summary="Event counts per H3 cell as GeoJSON (the web heat layer)",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
async def hexbins(request: Request,
                  res: int = Query(8, ge=7, le=10, description="H3 resolution (7..10)"),
                  bbox: str | None = Query(None, description="west,south,east,north (degrees); default the "
                                                             "service area"),
                  datetime: str | None = Query(None, description=DATETIME_DOC),
                  since: str | None = Query(None), hours: float | None = Query(None),
                  kinds: str | None = Query(None, description="comma-separated event kinds (default all)")):
    lyr = next(layer for layer in CATALOG if layer.aggregate == "h3")
    box = _bbox(bbox)
    q = request.query_params
    window = parse_window(q.get("datetime"), q.get("since"), q.get("hours"))
    kinds_t = parse_kinds(kinds)
    key = ("hexbins.geojson", res, box, window.key(), kinds_t)
    cache.start()
    hit = cache.get(key)
    if hit is not None:
        return _answer(request, hit.body, hit.etag, lyr, "application/geo+json", "hit")
    generation = cache.generation_of(lyr.id)

    def run() -> bytes:
        with db.pool().connection() as conn:
            row = conn.execute("""
                SELECT count(*), json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(
                    json_build_object('type', 'Feature', 'id', to_hex(h.cell),
                        'properties', json_build_object('h3', to_hex(h.cell), 'res', h.res, 'count', h.count),
                        'geometry', ST_AsGeoJSON(h.geom, 6)::json)), '[]'::json))::text
                FROM rtcc_hexbins(%s, ST_MakeEnvelope(%s, %s, %s, %s, 4326), %s, %s, %s) h""",
                (res, *box, window.lo, window.hi, list(kinds_t) if kinds_t else None)).fetchone()
        if row[0] > HEXBIN_MAX_CELLS:
            raise BadRequest(f"{row[0]} cells: use a coarser res or a smaller bbox (at most {HEXBIN_MAX_CELLS})")
        return row[1].encode()

    body = await run_in_threadpool(run)
    m = T.h3_margin_deg(res, max(abs(box[1]), abs(box[3])))
    entry = entry_for(lyr, body, (box[0] - m, box[1] - m, box[2] + m, box[3] + m), window, kinds_t)
    cache.put(key, entry, generation)
    return _answer(request, body, entry.etag, lyr, "application/geo+json", "miss")
