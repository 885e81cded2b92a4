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
from layers.catalog import CATALOG, Layer
from services import audit, auth, db
from services.errors import BadRequest, NotFound
from services.query import params as P
from services.query.times import Window
from services.settings import get_settings
from services.tiles import query as Q
from services.tiles import tilejson as TJ
from services.tiles.cache import cache

router = APIRouter(tags=["tiles"], dependencies=[Depends(auth.require("events:read"))])
MVT = "application/vnd.mapbox-vector-tile"
HEXBIN_MAX_CELLS = 50_000   # GeoJSON hexbins: refuse bigger answers (ask for a coarser res or bbox)


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


def _render(layer: Layer, z: int, x: int, y: int, filters: P.Filters, thin: bool,
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
                  **{k: v for k, v in request.query_params.items() if k not in P.PURPOSE}})


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
def layer_tilejson(request: Request, lyr: Layer = Depends(P.layer)) -> dict:
    P.tile_filters(lyr, P.tile_query_of(request.query_params))  # bad filters: 400 now, not on every tile
    return TJ.tilejson(lyr, _base(request), dict(request.query_params))


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", summary="One vector tile (Mapbox Vector Tile, WebMercatorQuad)",
            response_class=Response,
            responses={200: {"content": {MVT: {}}}, 304: {"description": "not modified (If-None-Match)"},
                       400: {"description": "bad filter"}, 404: {"description": "unknown layer or tile"}},
            description="Points of event layers are thinned below the layer's `thin_below_zoom` (one point per "
                        "cell of a 64×64 grid, with `count`) unless `thin=false`; at most the layer's feature cap "
                        "per tile. Any exposed property can be filtered with `name=value` (or `name=a,b`).")
async def tile(request: Request, layer: str, z: int, x: int, y: int, datetime: P.Datetime = None,
               since: P.Since = None, hours: P.Hours = None, filter: P.Filter = None,
               filter_lang: P.FilterLang = None, kinds: P.Kinds = None, kind: P.Kind = None,
               thin: bool = Query(True, description="thin event points below the layer's thin_below_zoom")):
    # No dependencies (services/query/params.py says why), in this order: the layer (404, or 403 by
    # role), plate data's stated purpose before anything else is read (403; every tile is audited),
    # a tile inside the matrix (404), then the filters (400).
    lyr = await P.layer(layer, request)
    personal = lyr.event_kind in audit.PERSONAL_KINDS  # ALPR reads
    if personal:
        auth.require_purpose(request)
    if not T.valid_tile(z, x, y):
        raise NotFound(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix (zoom 0..{T.MAX_ZOOM}, "
                       f"x and y 0..2^zoom-1)")
    filters = P.tile_filters(lyr, P.tile_query(request.query_params, datetime, since, hours, filter, filter_lang,
                                               kinds, kind))
    key = (lyr.id, z, x, y, filters.key(), Q.thins(lyr, z, thin))
    entry, hit = await cache.serve(
        key, lyr, lambda: _render(lyr, z, x, y, filters, thin, request if personal else None),
        lambda: _dependency_bounds(lyr, z, x, y), filters.window, filters.kinds)
    if hit and personal:
        await run_in_threadpool(_audit, request, lyr, z, x, y)
    return _answer(request, entry.body, entry.etag, lyr, MVT, "hit" if hit else "miss")


def render_tile(layer: Layer, z: int, x: int, y: int, on_conn=None) -> bytes:
    """One tile without filters, rendered in this process through the cache, for callers outside the
    HTTP route (the OGC API - Tiles provider, already on a worker thread). `on_conn(conn)` runs on the
    rendering connection (the audit row), or on its own connection for a cache hit."""
    filters = P.Filters()
    key = (layer.id, z, x, y, filters.key(), Q.thins(layer, z, True))

    def render() -> bytes:
        with db.pool().connection() as conn:
            body = Q.render(conn, layer, z, x, y, filters, True)
            if on_conn is not None:
                on_conn(conn)
            return body
    entry, hit = cache.serve_here(key, layer, render, lambda: _dependency_bounds(layer, z, x, y), filters.window)
    if hit and on_conn is not None:
        with db.pool().connection() as conn:
            on_conn(conn)
    return entry.body


@router.get("/api/hexbins", summary="Event counts per H3 cell as GeoJSON (the web heat layer)",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
async def hexbins(request: Request,
                  res: int = Query(8, ge=7, le=10, description="H3 resolution (7..10)"),
                  box: tuple[float, ...] = Depends(P.bbox_or_service_area),
                  window: Window = Depends(P.time_window),
                  kinds_t: tuple[str, ...] | None = Depends(P.kinds)):
    lyr = next(layer for layer in CATALOG if layer.aggregate == "h3")
    key = ("hexbins.geojson", res, box, window.key(), kinds_t)

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

    def bounds() -> tuple[float, float, float, float]:
        m = T.h3_margin_deg(res, max(abs(box[1]), abs(box[3])))
        return box[0] - m, box[1] - m, box[2] + m, box[3] + m
    entry, hit = await cache.serve(key, lyr, run, bounds, window, kinds_t)
    return _answer(request, entry.body, entry.etag, lyr, "application/geo+json", "hit" if hit else "miss")
