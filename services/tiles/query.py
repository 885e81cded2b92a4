"""The SQL of one vector tile per catalog layer: all of it runs in PostGIS (ST_AsMVT).

Rows are found with `geom && <tile grown by the buffer, in EPSG:4326>` so the GiST index on the
stored 4326 geometry is used; only the rows found are reprojected (numeric SRID 3857).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import psycopg
from psycopg import sql

from geo import tiles as T
from layers.catalog import Layer
from services.errors import Unavailable
from services.query.cql import Bound, params
from services.query.params import Filters

INT_OIDS = {20, 21, 23}          # int8, int2, int4: usable as MVT feature ids
TIME_OIDS = {1184, 1114}         # timestamptz, timestamp: sent as RFC 3339 strings
RFC3339 = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'


@dataclass(frozen=True)
class Columns:
    """What the layer's relation really has (introspected once per process)."""
    names: tuple[str, ...]       # exposed properties present in the relation, catalog order
    time: frozenset[str]         # those that are timestamps
    int_id: bool                 # id column is an integer: also the MVT feature id


_columns: dict[str, Columns] = {}
_lock = threading.Lock()


def columns(conn: psycopg.Connection, layer: Layer) -> Columns:
    got = _columns.get(layer.id)
    if got is not None:
        return got
    try:
        cur = conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(sql.Identifier(layer.source)))
    except psycopg.errors.UndefinedTable:
        raise Unavailable(f"layer '{layer.id}': its source '{layer.source}' does not exist yet (run rtcc db migrate)")
    oids = {d.name: d.type_code for d in cur.description}
    names = tuple(n for n in [layer.id_column] + [p.name for p in layer.properties] if n in oids)
    names = tuple(dict.fromkeys(names))
    got = Columns(names, frozenset(n for n in names if oids[n] in TIME_OIDS), oids.get(layer.id_column) in INT_OIDS)
    with _lock:
        _columns[layer.id] = got
    return got


def _prop(name: str, cols: Columns) -> sql.Composable:
    col = sql.SQL("t.{}").format(sql.Identifier(name))
    if name in cols.time:
        return sql.SQL("to_char({} AT TIME ZONE 'UTC', {}) AS {}").format(col, sql.Literal(RFC3339), sql.Identifier(name))
    return col


def _where(layer: Layer, filters: Filters, box: tuple[float, float, float, float]) -> sql.Composable:
    conds = [sql.SQL("t.{} && ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
        sql.Identifier(layer.geometry_column), *(Bound(v) for v in box))]
    return sql.SQL(" AND ").join(conds + filters.conditions)


def _tile_envelope(z: int, x: int, y: int) -> sql.Composable:
    # An InitPlan: computed once per tile even under a generic prepared plan.
    return sql.SQL("(SELECT ST_TileEnvelope({}, {}, {}))").format(Bound(z), Bound(x), Bound(y))


def tile_sql(layer: Layer, cols: Columns, filters: Filters, z: int, x: int, y: int) -> sql.Composed:
    """Every row in the tile (and its buffer), at most the layer's feature cap."""
    props = [_prop(n, cols) for n in cols.names]
    if cols.int_id:
        props.append(sql.SQL("t.{} AS __fid").format(sql.Identifier(layer.id_column)))
    # Lines and polygons are simplified to the tile's resolution (T.simplify_tolerance_m); points as they are.
    g = sql.SQL("ST_Transform(t.{}, 3857)").format(sql.Identifier(layer.geometry_column))
    if layer.geometry_type != "Point":
        g = sql.SQL("ST_Simplify({}, {}, true)").format(g, Bound(T.simplify_tolerance_m(z)))
    return sql.SQL("""
        SELECT ST_AsMVT(q, {name}, {extent}, 'geom', {fid}) FROM (
            SELECT {props}, ST_AsMVTGeom({g}, {envelope}, {extent}, {buffer}, true) AS geom
            FROM {source} t
            WHERE {where}
            LIMIT {cap}
        ) q""").format(
        name=Bound(layer.id), extent=sql.Literal(T.EXTENT), buffer=sql.Literal(T.BUFFER),
        fid=sql.Literal("__fid" if cols.int_id else None), props=sql.SQL(", ").join(props), g=g,
        envelope=_tile_envelope(z, x, y),
        source=sql.Identifier(layer.source), where=_where(layer, filters, T.lonlat_bounds(z, x, y, T.BUFFER)),
        cap=sql.Literal(layer.tile_feature_cap))


def thinned_sql(layer: Layer, cols: Columns, filters: Filters, z: int, x: int, y: int) -> sql.Composed:
    """One point per grid cell (THIN_CELLS per tile side), at the mean position, with `count`.

    The tile is grown by exactly one cell (BUFFER = EXTENT / THIN_CELLS), so the cells in the
    buffer ring are whole and match what the neighbouring tile draws there.
    """
    geom = sql.SQL("t.{}").format(sql.Identifier(layer.geometry_column))
    w0, s0, _, _ = T.lonlat_bounds(z, x, y)
    dx, dy = T.thin_cell_deg(z, y)
    return sql.SQL("""
        SELECT ST_AsMVT(q, {name}, {extent}, 'geom') FROM (
            SELECT count(*)::int AS count, min(t.{id}) AS {id},
                   ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(avg(ST_X({geom})), avg(ST_Y({geom}))), 4326), 3857),
                                {envelope}, {extent}, {buffer}, true) AS geom
            FROM {source} t
            WHERE {where}
            GROUP BY floor((ST_X({geom}) - {w0}) / {dx}), floor((ST_Y({geom}) - {s0}) / {dy})
            LIMIT {cap}
        ) q""").format(
        name=Bound(layer.id), extent=sql.Literal(T.EXTENT), buffer=sql.Literal(T.BUFFER),
        id=sql.Identifier(layer.id_column), geom=geom, envelope=_tile_envelope(z, x, y),
        source=sql.Identifier(layer.source),
        where=_where(layer, filters, T.lonlat_bounds(z, x, y, T.EXTENT / T.THIN_CELLS)),
        w0=Bound(w0), dx=Bound(dx), s0=Bound(s0), dy=Bound(dy), cap=sql.Literal(layer.tile_feature_cap))


def thins(layer: Layer, z: int, thin: bool = True) -> bool:
    return (thin and layer.geometry_type == "Point" and layer.thin_below_zoom is not None
            and z < layer.thin_below_zoom)


# Per tile, in its own transaction: (1) one generic plan per prepared statement, so a tile does not
# re-plan over every monthly partition of `events` (planning was most of the time of a tile with
# ~180 partitions); (2) no parallel workers: a tile is small work, and under concurrent tile load
# the planner's parallel seq scans halved throughput (bench/tiles.py); (3) memory for the thinning
# GROUP BY to hash in RAM instead of sorting on disk (380k points in a z10 tile).
TILE_SETTINGS = ("SET LOCAL max_parallel_workers_per_gather = 0", "SET LOCAL work_mem = '64MB'")
# A tile with filters is planned for its own values (a time window prunes partitions at plan time, a
# selective filter picks its index), as a one-off statement; one without is the prepared generic plan.
GENERIC, CUSTOM = ("SET LOCAL plan_cache_mode = force_generic_plan", "SET LOCAL plan_cache_mode = force_custom_plan")


def render(conn: psycopg.Connection, layer: Layer, z: int, x: int, y: int, filters: Filters,
           thin: bool = True) -> bytes:
    """The MVT bytes of one tile (b'' when empty)."""
    if z < layer.minzoom:
        return b""
    # BEGIN and the settings in one round trip (saves one of the few round trips of a small tile).
    conn.execute("; ".join(("BEGIN", CUSTOM if filters.conditions else GENERIC, *TILE_SETTINGS)))
    try:
        body = _render(conn, layer, z, x, y, filters, thin)
    except BaseException:
        if not conn.closed:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return body


def _render(conn: psycopg.Connection, layer: Layer, z: int, x: int, y: int, filters: Filters,
            thin: bool) -> bytes:
    if layer.aggregate == "h3":
        res = T.h3_res_for_zoom(z)
        w = filters.window
        row = conn.execute("SELECT rtcc_hexbin_tile(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                           (z, x, y, res, w.lo, w.hi, list(filters.kinds) if filters.kinds else None,
                            layer.id, T.EXTENT, T.BUFFER), prepare=True).fetchone()
        return bytes(row[0] or b"")
    cols = columns(conn, layer)
    q = (thinned_sql if thins(layer, z, thin) else tile_sql)(layer, cols, filters, z, x, y)
    # Prepared (server-side) only without filters: their shapes vary, and they want custom plans.
    row = conn.execute(q, params(q), prepare=not filters.conditions).fetchone()
    return bytes(row[0] or b"")
