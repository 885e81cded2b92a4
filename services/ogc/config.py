"""The pygeoapi configuration and OpenAPI document, generated from the layer catalog (never kept in git).

One collection per catalog layer: our feature provider (services.ogc.provider) plus an OGC API - Tiles
entry that points at the vector tiles served by services/tiles (`/tiles/{layer}/{z}/{x}/{y}.mvt`).
"""
from __future__ import annotations

from copy import deepcopy
from typing import Any

from layers.catalog import CATALOG, Layer
from services.settings import get_settings

DEFAULT_LIMIT = 1000   # items per page when the client does not say (QGIS/GDAL page at this size)
MAX_LIMIT = 10_000     # larger requests are throttled to this
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS_LIST = [CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326", "http://www.opengis.net/def/crs/EPSG/0/3857"]
FILTER_LANGS = ["cql-text", "cql2-text", "cql-json", "cql2-json"]
MVT = "application/vnd.mapbox-vector-tile"


def _collection(layer: Layer, origin: str) -> dict[str, Any]:
    s = get_settings()
    tiles = f"{origin}/tiles/{layer.id}"
    provider: dict[str, Any] = {
        "type": "feature", "name": "services.ogc.provider.RTCCProvider", "data": layer.id,
        "id_field": layer.id_column, "geom_field": layer.geometry_column, "crs": list(CRS_LIST),
        "include_extra_query_parameters": True,  # unknown parameters reach the provider: a 400, not ignored
    }
    if layer.time_column:
        provider["time_field"] = layer.time_column
    if not layer.spatial:  # records: no geometry, no tiles
        del provider["geom_field"]
        return {"type": "collection", "title": layer.title, "description": layer.description,
                "keywords": list(layer.keywords) or [layer.group, layer.id], "links": [],
                "extents": {"spatial": {"bbox": list(s.service_area), "crs": CRS84}},
                "limits": {"default_items": DEFAULT_LIMIT, "max_items": MAX_LIMIT, "on_exceed": "throttle"},
                "providers": [provider]}
    return {
        "type": "collection",
        "title": layer.title,
        "description": layer.description,
        "keywords": list(layer.keywords) or [layer.group, layer.id],
        "links": [
            {"type": "application/json", "rel": "describedby", "title": "TileJSON 3.0 of this layer",
             "href": f"{tiles}.json"},
            {"type": MVT, "rel": "item", "title": "Vector tiles (WebMercatorQuad, z/x/y)",
             "href": f"{tiles}/{{z}}/{{x}}/{{y}}.mvt", "templated": True},
        ],
        "extents": {"spatial": {"bbox": list(s.service_area), "crs": CRS84}},
        "limits": {"default_items": DEFAULT_LIMIT, "max_items": MAX_LIMIT, "on_exceed": "throttle"},
        "providers": [provider, {
            # rendered in-process (services/ogc/tileprovider.py): the URL only names the layer, never fetched
            "type": "tile", "name": "services.ogc.tileprovider.RTCCTileProvider",
            "data": f"{tiles}/{{z}}/{{x}}/{{y}}.mvt",
            "options": {"zoom": {"min": layer.minzoom, "max": layer.maxzoom}, "schemes": ["WebMercatorQuad"]},
            "format": {"name": "mvt", "mimetype": MVT},
        }],
    }


def build_config(base_url: str, layers: tuple[str, ...] | None = None) -> dict[str, Any]:
    """pygeoapi's configuration for a server reached at base_url (e.g. http://host:8000/ogc), with
    the collections `layers` (default all: a caller's role sees only those it may read)."""
    s = get_settings()
    origin = base_url.rsplit("/ogc", 1)[0] if base_url.endswith("/ogc") else base_url
    return {
        "server": {
            "bind": {"host": s.host, "port": s.port},
            "url": base_url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US"],
            "cors": False,  # CORS is answered by services/auth for configured origins only
            "pretty_print": False,
            "limits": {"default_items": DEFAULT_LIMIT, "max_items": MAX_LIMIT, "on_exceed": "throttle"},
            # basemap of pygeoapi's HTML pages (the browser fetches it; not needed by GIS clients)
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "&copy; OpenStreetMap contributors"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": f"RTCC layers — {s.agency_name}",
                "description": "Every RTCC map layer as OGC API - Features (and Tiles): events, assets, "
                               "reference boundaries and analysis layers.",
                "keywords": ["RTCC", "public safety", "OGC API"],
                "keywords_type": "theme",
                "terms_of_service": "https://www.apache.org/licenses/LICENSE-2.0",
                "url": origin + "/",
            },
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
            "provider": {"name": s.agency_name, "url": origin + "/"},
            "contact": {"name": "RTCC GIS", "position": "GIS analyst", "email": "gis@example.invalid",
                        "url": origin + "/", "role": "pointOfContact"},
        },
        "resources": {layer.id: _collection(layer, origin) for layer in CATALOG
                      if layers is None or layer.id in layers},
    }


def build_openapi(config: dict[str, Any]) -> dict[str, Any]:
    """pygeoapi's OpenAPI document, plus the CQL2 filter parameters our provider understands.

    GDAL (and so QGIS) sends `-where` as a CQL text `filter` only when an items path lists a
    `filter-lang` parameter whose enum includes cql-text; it pages at the `limit` default.
    """
    from pygeoapi.openapi import get_oas
    oas = get_oas(deepcopy(config), fail_on_invalid_collection=False)
    filter_params = [
        {"name": "filter", "in": "query", "required": False, "style": "form", "explode": False,
         "description": "CQL2 filter expression (text, or JSON when filter-lang is cql2-json)",
         "schema": {"type": "string"}},
        {"name": "filter-lang", "in": "query", "required": False, "style": "form", "explode": False,
         "description": "Language of the filter expression", "schema": {"type": "string", "enum": FILTER_LANGS,
                                                                         "default": "cql2-text"}},
        {"name": "resultType", "in": "query", "required": False, "style": "form", "explode": False,
         "description": "hits: only numberMatched (an exact count); GDAL uses it "
                        "for feature counts instead of paging through every feature",
         "schema": {"type": "string", "enum": ["results", "hits"], "default": "results"}},
        {"name": "filter-crs", "in": "query", "required": False, "style": "form", "explode": False,
         "description": "CRS of geometries in the filter", "schema": {"type": "string", "format": "uri",
                                                                     "default": CRS84}},
    ]
    for path, item in oas.get("paths", {}).items():
        if not path.endswith("/items") or "get" not in item:
            continue
        params = item["get"].setdefault("parameters", [])
        names = {p.get("name") for p in params if isinstance(p, dict)}
        refs = {p.get("$ref", "").rsplit("/", 1)[-1] for p in params if isinstance(p, dict)}
        for p in filter_params:
            if p["name"] not in names and p["name"] not in refs:
                params.append(deepcopy(p))
    return oas
