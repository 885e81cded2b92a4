"""The WHERE of a feature query on one catalog layer, for /ogc (the pygeoapi provider) and /tiles:
bbox, time window, `property=value` and CQL2, every value a bound parameter (services.query.cql)."""
from __future__ import annotations

import threading
from typing import Any, Iterable

from psycopg import sql

from layers.catalog import Layer
from services import db
from services.errors import BadRequest
from services.query.cql import Bound, Compiler, CQLError, coerce
from services.query.times import Window

_INT_TYPES = ("smallint", "integer", "bigint")
_lock = threading.Lock()
_id_kinds: dict[str, str] = {}


def _id_kind(layer: Layer) -> str:
    """integer or string: the type of the layer's id column, looked up once per process."""
    if layer.source not in _id_kinds:
        with _lock, db.pool().connection() as conn:
            row = conn.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped",
                (layer.source, layer.id_column)).fetchone()
            _id_kinds[layer.source] = "integer" if row and row[0] in _INT_TYPES else "string"
    return _id_kinds[layer.source]


def queryables(layer: Layer) -> dict[str, str]:
    """Property name → type (string, integer, number, boolean, datetime), the id column included."""
    kinds = {p.name: p.type for p in layer.properties}
    kinds[layer.id_column] = _id_kind(layer)
    return kinds


def compiler(layer: Layer) -> Compiler:
    return Compiler(queryables(layer), layer.geometry_column, layer.time_column)


def located(layer: Layer) -> list[sql.Composable]:
    """A spatial layer serves only located features: OGC API - Features' GeoJSON schemas and QGIS
    have no place for a null geometry (un-geocoded events are served unplaced, in their own layer)."""
    return [sql.SQL("{} IS NOT NULL").format(sql.Identifier(layer.geometry_column))] if layer.spatial else []


def bbox_condition(layer: Layer, bbox: Iterable[float]) -> sql.Composable:
    """Features meeting a lon/lat box (a 6-number box drops its heights); 400 on a layer without geometry."""
    if not layer.spatial:
        raise BadRequest(f"'{layer.id}' has no geometry: bbox does not apply.")
    b = list(bbox)
    if len(b) == 6:
        b = [b[0], b[1], b[3], b[4]]
    minx, miny, maxx, maxy = (float(v) for v in b)
    g = sql.Identifier(layer.geometry_column)
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(Bound(minx), Bound(miny), Bound(maxx), Bound(maxy))
    if layer.geometry_type == "Point":
        # && alone compares float4 index boxes (points ~1e-5 degrees outside get in); the exact
        # coordinate test is cheap, where ST_Intersects' cost estimate tips the planner into
        # parallel plans that are slow for a 100-feature page
        return sql.SQL("{g} && {e} AND ST_X({g}) BETWEEN {} AND {} AND ST_Y({g}) BETWEEN {} AND {}").format(
            Bound(minx), Bound(maxx), Bound(miny), Bound(maxy), g=g, e=env)
    return sql.SQL("ST_Intersects({}, {})").format(g, env)


def time_conditions(layer: Layer, window: Window) -> list[sql.Composable]:
    """The layer's time column inside the closed window (nothing for layers without time)."""
    if not layer.time_column or window.is_open:
        return []
    t = sql.Identifier(layer.time_column)
    if window.lo is not None and window.lo == window.hi:
        return [sql.SQL("{} = {}").format(t, Bound(window.lo))]
    out = []
    if window.lo is not None:
        out.append(sql.SQL("{} >= {}").format(t, Bound(window.lo)))
    if window.hi is not None:
        out.append(sql.SQL("{} <= {}").format(t, Bound(window.hi)))
    return out


def equals_condition(kinds: dict[str, str], name: str, values: list[Any]) -> sql.Composable:
    """`name` equal to one of `values` (each read as the property's type); CQLError when one is not."""
    if name not in kinds:
        raise CQLError(f"Unknown property '{name}'; the queryables are: {', '.join(sorted(kinds))}.")
    vals = [coerce(v, kinds[name], name) for v in values]
    col = sql.Identifier(name)
    if len(vals) == 1:
        return sql.SQL("{} = {}").format(col, Bound(vals[0]))
    return sql.SQL("{} = ANY({})").format(col, Bound(vals))
