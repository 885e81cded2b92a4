"""TileJSON 3.0.0 documents for the catalog's layers (what MapLibre reads to add a source)."""
from __future__ import annotations

from urllib.parse import urlencode

from geo import tiles as T
from layers.catalog import CATALOG, Layer
from services.settings import get_settings

_FIELD = {"integer": "Number", "number": "Number", "boolean": "Boolean"}


def fields(layer: Layer) -> dict[str, str]:
    """vector_layers[].fields: property name → type (String, Number, Boolean), as in the tiles."""
    out = {}
    if not layer.aggregate:  # rows carry their id (events: bigint, also the MVT feature id)
        out[layer.id_column] = "Number" if layer.event_kind else "String"
    out.update({p.name: _FIELD.get(p.type, "String") for p in layer.properties})
    if layer.thin_below_zoom is not None and layer.geometry_type == "Point":
        out["count"] = "Number"  # thinned tiles (below thin_below_zoom): points per grid cell
    return out


def tile_url(base: str, layer: Layer, query: dict[str, str] | None = None) -> str:
    url = f"{base}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt"
    return url + ("?" + urlencode(query, safe=",:/") if query else "")


def tilejson(layer: Layer, base: str, query: dict[str, str] | None = None) -> dict:
    w, s, e, n = get_settings().service_area
    doc = {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tile_url(base, layer, query)],
        "minzoom": layer.minzoom,
        "maxzoom": min(layer.maxzoom, T.MAX_ZOOM),
        "bounds": [w, s, e, n],
        "center": [round((w + e) / 2, 6), round((s + n) / 2, 6), max(layer.minzoom, 12)],
        "vector_layers": [{
            "id": layer.id, "description": layer.description, "fields": fields(layer),
            "minzoom": layer.minzoom, "maxzoom": min(layer.maxzoom, T.MAX_ZOOM),
        }],
    }
    if layer.thin_below_zoom is not None and layer.geometry_type == "Point":
        doc["rtcc:thin_below_zoom"] = layer.thin_below_zoom
    if layer.aggregate:
        doc["rtcc:aggregate"] = layer.aggregate
        doc["rtcc:h3_resolution_by_zoom"] = {str(z): T.h3_res_for_zoom(z) for z in range(0, T.MAX_ZOOM + 1)}
    return doc


def index(base: str, readable=lambda layer: True) -> dict:
    """Every catalog layer the caller may read, with its TileJSON inline (one request for the web client)."""
    layers = []
    for layer in CATALOG:
        if not layer.spatial:
            continue  # records only (OGC), nothing to tile
        if not readable(layer):
            continue
        doc = tilejson(layer, base)
        doc.update(id=layer.id, group=layer.group, geometry_type=layer.geometry_type,
                   tilejson_url=f"{base}/tiles/{layer.id}.json",
                   style={"color": layer.style.color, "kind": layer.style.kind, "icon": layer.style.icon,
                          "outline": layer.style.outline})
        layers.append(doc)
    return {"tilejson": "3.0.0", "layers": layers}
