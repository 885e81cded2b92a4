"""A lean pygeoapi feature provider over our catalog layers: psycopg 3 on the shared pool, GeoJSON built
in PostgreSQL, numeric SRIDs, bound parameters only, and no count(*) on large layers.

pygeoapi keeps the protocol (links, paging, HTML, OpenAPI); this class only turns a query into SQL.
"""
from __future__ import annotations

import re
from typing import Any

import orjson
import psycopg
from psycopg import sql
from pygeoapi.provider.base import (BaseProvider, ProviderInvalidQueryError, ProviderItemNotFoundError,
                                    ProviderQueryError)

from layers.catalog import get_layer
from services import audit, db
from services.errors import DATABASE_DOWN, BadRequest
from services.ogc.context import caller
from services.query import filters
from services.query.cql import Bound, params
from services.query.times import parse_datetime

JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
              "datetime": "string"}
_EPSG = re.compile(r"/EPSG/\d+/(\d+)$|^EPSG:(\d+)$", re.I)
_select_sql: dict[tuple, sql.SQL] = {}


def bad(msg: str) -> ProviderInvalidQueryError:
    """A 400 with a sentence the client sees."""
    return ProviderInvalidQueryError(msg, user_msg=msg)


def output_srid(crs_transform_spec: Any) -> tuple[int, bool]:
    """(SRID, swap axes) for the requested crs: CRS84 is lon/lat, EPSG:4326 is lat/lon (OGC axis order)."""
    if crs_transform_spec is None:
        return 4326, False
    uri = crs_transform_spec.target_crs_uri
    m = _EPSG.search(uri)
    if not m:
        return 4326, False  # CRS84 / CRS84h
    srid = int(m.group(1) or m.group(2))
    return srid, srid == 4326


class RTCCProvider(BaseProvider):
    """One catalog layer as an OGC API - Features collection (provider `data` = the layer id)."""

    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        layer = get_layer(provider_def["data"])
        if layer is None:
            raise RuntimeError(f"unknown catalog layer {provider_def['data']!r}")
        self.layer = layer
        self.id_field = layer.id_column
        self.time_field = layer.time_column
        self.kinds = filters.queryables(layer)
        self._fields = {name: ({"type": "string", "format": "date-time"} if k == "datetime"
                               else {"type": JSON_TYPES.get(k, "string")}) for name, k in self.kinds.items()}
        self.compiler = filters.compiler(layer)

    def get_fields(self) -> dict:
        return self._fields

    # -- SQL pieces ----------------------------------------------------------------------------
    def _feature_sql(self, srid: int, flip: bool, skip_geometry: bool,
                     select: list[str] | None) -> sql.Composable:
        """The SELECT list, rendered once per shape (composing it per request cost ~0.3 ms of CPU)."""
        key = (self.layer.id, srid, flip, skip_geometry, tuple(select or ()))
        if key not in _select_sql:
            _select_sql[key] = sql.SQL(self._build_feature_sql(srid, flip, skip_geometry, select).as_string(None))
        return _select_sql[key]

    def _build_feature_sql(self, srid: int, flip: bool, skip_geometry: bool,
                           select: list[str] | None) -> sql.Composable:
        g = sql.Identifier(self.layer.geometry_column)
        if skip_geometry or not self.layer.spatial:
            geom = sql.SQL("NULL::json")
        else:
            if srid != 4326:
                g = sql.SQL("ST_Transform({}, {})").format(g, sql.Literal(srid))
            elif flip:
                g = sql.SQL("ST_FlipCoordinates({})").format(g)
            digits = 7 if srid == 4326 else 2  # ~1 cm in degrees, cm in metres
            geom = sql.SQL("ST_AsGeoJSON({}, {}, 0)::json").format(g, sql.Literal(digits))  # 0: no "crs" member
        props = []
        for p in self.layer.properties:
            if select and p.name not in select:
                continue
            col = sql.Identifier(p.name)
            if p.type == "datetime":  # RFC 3339, UTC, whatever the session time zone
                col = sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')").format(col)
            props += [sql.Literal(p.name), col]
        return sql.SQL("json_build_object('type', 'Feature', 'id', {}, 'geometry', {}, 'properties', "
                       "json_build_object({}))::text").format(
            sql.Identifier(self.layer.id_column), geom, sql.SQL(", ").join(props))

    def _where(self, bbox: list, datetime_: str | None, properties: list, filterq: Any) -> sql.Composable:
        conds: list[sql.Composable] = filters.located(self.layer)
        try:
            if bbox:
                conds.append(filters.bbox_condition(self.layer, bbox))
            if datetime_:
                conds += filters.time_conditions(self.layer, parse_datetime(datetime_))
            for name, value in properties:
                conds.append(filters.equals_condition(self.kinds, name, [value]))
            if filterq is not None:
                conds.append(self.compiler.compile(filterq))
        except BadRequest as e:  # CQLError included
            raise bad(e.detail) from None
        return sql.SQL(" AND ").join(conds) if conds else sql.SQL("TRUE")

    def _order(self, sortby: list, spatial: bool) -> sql.Composable:
        keys: list[sql.Composable] = []
        for s in sortby or []:
            if s["property"] not in self.kinds:
                raise bad(f"Cannot sort by unknown property '{s['property']}'.")
            keys.append(sql.SQL("{} {}").format(sql.Identifier(s["property"]),
                                                sql.SQL("DESC" if s.get("order") == "-" else "ASC")))
        idcol: sql.Composable = sql.Identifier(self.layer.id_column)
        if spatial and self.layer.large:
            # With a bbox (and no time window to prune partitions) the spatial index is the selective
            # one: ordering by an expression keeps the planner (and generic prepared plans, which cannot
            # see the bbox) from walking the id index of every partition until `limit` rows fall in the box.
            idcol = sql.SQL("({} + 0)" if self.kinds[self.layer.id_column] == "integer" else "({} || '')").format(idcol)
        keys.append(idcol)  # a total order: paging sees each row once
        return sql.SQL(", ").join(keys)

    def _run(self, conn: psycopg.Connection, stmt: sql.Composable, prepare: bool = True):
        try:
            return conn.execute(stmt, params(stmt), prepare=prepare)  # prepared: server-side from the first use
        except (psycopg.errors.DataError, psycopg.errors.UndefinedFunction,
                psycopg.errors.InvalidParameterValue) as e:
            raise bad(f"The filter cannot be applied: {str(e).splitlines()[0]}") from None
        except psycopg.errors.InternalError_ as e:  # e.g. PostGIS rejecting a GeoJSON literal
            raise bad(f"The filter cannot be applied: {str(e).splitlines()[0]}") from None
        except DATABASE_DOWN:
            raise  # a 503 (services.ogc.mount), not a query error
        except psycopg.Error as e:
            raise ProviderQueryError(str(e).splitlines()[0]) from None

    # -- pygeoapi interface --------------------------------------------------------------------
    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results", bbox: list | None = None,
              datetime_: str | None = None, properties: list | None = None, sortby: list | None = None,
              select_properties: list | None = None, skip_geometry: bool = False, q: str | None = None,
              filterq: Any = None, crs_transform_spec: Any = None, **kwargs) -> dict:
        if q:
            raise bad("Free-text search (q) is not supported; use filter (CQL2) or property=value.")
        where = self._where(bbox or [], datetime_, properties or [], filterq)
        src = sql.Identifier(self.layer.source)
        out: dict[str, Any] = {"type": "FeatureCollection", "features": []}
        with db.pool().connection() as conn:
            if resulttype == "hits":
                out["numberMatched"] = self._count(conn, src, where)
                out["numberReturned"] = 0
                self._audit(conn, "hits", {"matched": out["numberMatched"]}, bbox, datetime_, filterq)
                return out
            stmt = self.page_sql(where, offset, limit, bool(bbox) and not datetime_, sortby, select_properties,
                                 skip_geometry, crs_transform_spec)
            # A time window over a partitioned layer: a one-off plan sees the bounds and plans only the
            # months they cover (~1.2 ms); a prepared generic plan locks and prunes every month at each
            # run (~1.8 ms). Without a window the prepared plan is the fast one.
            rows = self._run(conn, stmt, prepare=not (datetime_ and self.layer.large)).fetchall()
            if caller().geojson:  # the JSON text PostgreSQL built goes out as it is
                out["features"] = [orjson.Fragment(r[0]) for r in rows]
            else:
                out["features"] = orjson.loads(b"[" + ",".join(r[0] for r in rows).encode() + b"]")
            out["numberReturned"] = len(rows)
            if not self.layer.large:  # small tables: an exact count is cheap
                out["numberMatched"] = self._count(conn, src, where)
            self._audit(conn, "query", {"returned": len(rows), "offset": offset, "limit": limit},
                        bbox, datetime_, filterq)
        return out

    def page_sql(self, where: sql.Composable, offset: int, limit: int, spatial: bool, sortby: list | None = None,
                 select_properties: list | None = None, skip_geometry: bool = False,
                 crs_transform_spec: Any = None) -> sql.Composable:
        """One page of features as GeoJSON text rows (also the raw-SQL floor of bench/features.py)."""
        srid, flip = output_srid(crs_transform_spec)
        return sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT {} OFFSET {}").format(
            self._feature_sql(srid, flip, skip_geometry, select_properties), sql.Identifier(self.layer.source),
            where, self._order(sortby or [], spatial), Bound(int(limit)), Bound(int(offset)))

    def _count(self, conn: psycopg.Connection, src: sql.Composable, where: sql.Composable) -> int:
        """The exact number of matching features. Pages of large layers carry none (no count(*) per
        page); resulttype=hits asks for it and gets it exact: an estimate made GDAL announce 229
        features and deliver 51."""
        return int(self._run(conn, sql.SQL("SELECT count(*) FROM {} WHERE {}").format(src, where)).fetchone()[0])

    def get(self, identifier: str, crs_transform_spec: Any = None, **kwargs) -> dict:
        if self.kinds[self.layer.id_column] == "integer" and not re.fullmatch(r"-?\d{1,18}", str(identifier)):
            raise ProviderItemNotFoundError(user_msg=f"No feature '{identifier}' in '{self.layer.id}'.")
        srid, flip = output_srid(crs_transform_spec)
        where = [sql.SQL("{} = {}").format(sql.Identifier(self.layer.id_column), Bound(identifier)),
                 *filters.located(self.layer)]
        stmt = sql.SQL("SELECT {} FROM {} WHERE {}").format(
            self._feature_sql(srid, flip, False, None), sql.Identifier(self.layer.source),
            sql.SQL(" AND ").join(where))
        with db.pool().connection() as conn:
            row = self._run(conn, stmt).fetchone()
            self._audit(conn, "get", {"id": str(identifier), "found": row is not None}, None, None, None)
        if row is None:
            raise ProviderItemNotFoundError(user_msg=f"No feature '{identifier}' in '{self.layer.id}'.")
        return orjson.loads(row[0])

    def _audit(self, conn: psycopg.Connection, action: str, detail: dict, bbox: Any, datetime_: Any,
               filterq: Any) -> None:
        """Reads of personal data (ALPR) leave a row in audit_log: who, role, what, stated purpose."""
        if self.layer.event_kind not in audit.PERSONAL_KINDS:
            return
        who = caller()
        detail = {**detail, "layer": self.layer.id, "bbox": list(bbox) if bbox else None, "datetime": datetime_,
                  "filter": repr(filterq) if filterq is not None else None, "via": "ogc"}
        audit.write(conn, who.principal.name, who.principal.role or None, f"ogc.{action}",
                    f"collections/{self.layer.id}", detail, who.client, who.purpose)

    def __repr__(self) -> str:
        return f"<RTCCProvider {self.layer.id}>"
