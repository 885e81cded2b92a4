"""Query filters shared by every tile and hexbin request: time window, property equality, CQL2.

Parsed once per request into a `Filters` value: SQL conditions (psycopg.sql, literals quoted by
psycopg, never pasted), the resolved time window (for cache invalidation) and a cache key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import orjson
import shapely.geometry
from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from layers.catalog import CATALOG, Layer
from services.errors import BadRequest

# Relative windows (`hours=`, `since=` without an end) are resolved against `now` rounded down to
# this many seconds, so tiles of the same minute share a cache entry (and the window's open end
# may reach up to this much further back than asked).
TIME_QUANTUM_S = 60
# Query parameters that are never property filters.
RESERVED = {"datetime", "since", "hours", "filter", "filter-lang", "filter-crs", "thin", "kinds", "kind",
            "res", "bbox", "f", "v", "ts"}


@dataclass(frozen=True)
class Window:
    """Closed time window [lo, hi] (RFC 3339 instants, UTC); None = open end."""
    lo: datetime | None = None
    hi: datetime | None = None

    def overlaps(self, lo: datetime | None, hi: datetime | None) -> bool:
        return (self.lo is None or hi is None or hi >= self.lo) and (self.hi is None or lo is None or lo <= self.hi)

    def key(self) -> str:
        return f"{self.lo.isoformat() if self.lo else '..'}/{self.hi.isoformat() if self.hi else '..'}"


@dataclass
class Filters:
    window: Window = field(default_factory=Window)
    conditions: list[sql.Composable] = field(default_factory=list)
    key_parts: list[str] = field(default_factory=list)
    kinds: tuple[str, ...] | None = None

    def key(self) -> str:
        return "&".join([self.window.key(), *self.key_parts, f"kinds={','.join(self.kinds or ())}"])


def parse_instant(text: str, what: str = "datetime") -> datetime:
    """An RFC 3339 date-time (or date, read as 00:00 UTC) as an aware UTC datetime."""
    t = text.strip()
    try:
        d = datetime.fromisoformat(t.replace("z", "Z"))
    except ValueError:
        raise BadRequest(f"{what} '{text}' is not an RFC 3339 date-time (e.g. 2024-05-01T12:00:00Z)")
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    try:
        return d.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0, which datetime cannot hold
        raise BadRequest(f"{what} '{text}' is out of range") from None


def now_quantised() -> datetime:
    now = datetime.now(timezone.utc).timestamp()
    return datetime.fromtimestamp(now - now % TIME_QUANTUM_S, timezone.utc)


def parse_window(datetime_: str | None, since: str | None, hours: str | None) -> Window:
    """OGC API `datetime` (instant, closed or half-bounded interval with `..`), or `since`, or `hours`."""
    if sum(p is not None and p != "" for p in (datetime_, since, hours)) > 1:
        raise BadRequest("give one of datetime, since or hours, not several")
    if datetime_:
        if "/" in datetime_:
            a, _, b = datetime_.partition("/")
            lo = None if a in ("", "..") else parse_instant(a)
            hi = None if b in ("", "..") else parse_instant(b)
            if lo and hi and lo > hi:
                raise BadRequest(f"datetime interval '{datetime_}' ends before it starts")
            return Window(lo, hi)
        t = parse_instant(datetime_)
        return Window(t, t)
    if since:
        return Window(parse_instant(since, "since"), None)
    if hours:
        try:
            h = float(hours)
        except ValueError:
            raise BadRequest(f"hours '{hours}' is not a number")
        if not (0 < h <= 24 * 366 * 20) or math.isnan(h):
            raise BadRequest("hours must be a positive number of hours")
        return Window(now_quantised() - timedelta(hours=h), None)
    return Window()


def time_conditions(layer: Layer, window: Window) -> list[sql.Composable]:
    if not layer.time_column:
        return []
    col = sql.SQL("t.{}").format(sql.Identifier(layer.time_column))
    out = []
    if window.lo is not None:
        out.append(sql.SQL("{} >= {}").format(col, sql.Literal(window.lo)))
    if window.hi is not None:
        out.append(sql.SQL("{} <= {}").format(col, sql.Literal(window.hi)))
    return out


def _cast(value: str, typ: str, name: str):
    try:
        if typ == "integer":
            return int(value)
        if typ == "number":
            return float(value)
        if typ == "boolean":
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "1")
        if typ == "datetime":
            return parse_instant(value, name)
    except ValueError:
        raise BadRequest(f"{name}: '{value}' is not a valid {typ}")
    return value


def property_types(layer: Layer) -> dict[str, str]:
    types = {p.name: p.type for p in layer.properties}
    types.setdefault(layer.id_column, "string")
    return types


def property_conditions(layer: Layer, params: dict[str, str]) -> tuple[list[sql.Composable], list[str]]:
    """`name=value` (or `name=a,b` for any of them) for every exposed property."""
    types = property_types(layer)
    conds, keys = [], []
    for name in sorted(params):
        if name in RESERVED or name not in types:
            continue
        vals = [_cast(v, types[name], name) for v in params[name].split(",")]
        col = sql.SQL("t.{}").format(sql.Identifier(name))
        if len(vals) == 1:
            conds.append(sql.SQL("{} = {}").format(col, sql.Literal(vals[0])))
        else:
            conds.append(sql.SQL("{} = ANY({})").format(col, sql.Literal(vals)))
        keys.append(f"{name}={params[name]}")
    return conds, keys


_CMP = {ast.ComparisonOp.EQ: "=", ast.ComparisonOp.NE: "<>", ast.ComparisonOp.LT: "<",
        ast.ComparisonOp.LE: "<=", ast.ComparisonOp.GT: ">", ast.ComparisonOp.GE: ">="}
_SPATIAL = {ast.SpatialComparisonOp.INTERSECTS: "ST_Intersects", ast.SpatialComparisonOp.DISJOINT: "ST_Disjoint",
            ast.SpatialComparisonOp.CONTAINS: "ST_Contains", ast.SpatialComparisonOp.WITHIN: "ST_Within",
            ast.SpatialComparisonOp.TOUCHES: "ST_Touches", ast.SpatialComparisonOp.CROSSES: "ST_Crosses",
            ast.SpatialComparisonOp.OVERLAPS: "ST_Overlaps", ast.SpatialComparisonOp.EQUALS: "ST_Equals"}
_ARITH = {ast.ArithmeticOp.ADD: "+", ast.ArithmeticOp.SUB: "-", ast.ArithmeticOp.MUL: "*", ast.ArithmeticOp.DIV: "/"}


class _ToSQL(Evaluator):
    """CQL2 AST (pygeofilter) → psycopg.sql over the layer's exposed columns (alias t)."""

    def __init__(self, layer: Layer):
        self.types = property_types(layer)
        self.geom = layer.geometry_column

    @handle(ast.Not)
    def not_(self, node, sub):
        return sql.SQL("(NOT {})").format(sub)

    @handle(ast.And, ast.Or)
    def combination(self, node, lhs, rhs):
        return sql.SQL("({} " + node.op.value + " {})").format(lhs, rhs)

    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node, lhs, rhs):
        return sql.SQL("({} " + _CMP[node.op] + " {})").format(lhs, rhs)

    @handle(ast.Between)
    def between(self, node, lhs, low, high):
        return sql.SQL("({} " + ("NOT " if node.not_ else "") + "BETWEEN {} AND {})").format(lhs, low, high)

    @handle(ast.Like)
    def like(self, node, lhs):
        # CQL2 LIKE uses SQL's own wildcards (% and _).
        op = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        return sql.SQL("({}::text " + op + " {})").format(lhs, sql.Literal(node.pattern))

    @handle(ast.In)
    def in_(self, node, lhs, *options):
        return sql.SQL("({} " + ("NOT " if node.not_ else "") + "IN ({}))").format(lhs, sql.SQL(", ").join(options))

    @handle(ast.IsNull)
    def null(self, node, lhs):
        return sql.SQL("({} IS " + ("NOT " if node.not_ else "") + "NULL)").format(lhs)

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node, lhs, rhs):
        return sql.SQL(_SPATIAL[node.op] + "({}, {})").format(lhs, rhs)

    @handle(ast.BBox)
    def bbox(self, node, lhs):
        return sql.SQL("({} && ST_MakeEnvelope({}, {}, {}, {}, 4326))").format(
            lhs, *(sql.Literal(float(v)) for v in (node.minx, node.miny, node.maxx, node.maxy)))

    @handle(ast.Arithmetic, subclasses=True)
    def arithmetic(self, node, lhs, rhs):
        return sql.SQL("({} " + _ARITH[node.op] + " {})").format(lhs, rhs)

    @handle(ast.Attribute)
    def attribute(self, node):
        if node.name in ("geom", "geometry", self.geom):
            return sql.SQL("t.{}").format(sql.Identifier(self.geom))
        if node.name not in self.types:
            raise BadRequest(f"filter: unknown property '{node.name}' (queryables: {', '.join(sorted(self.types))})")
        col = sql.SQL("t.{}").format(sql.Identifier(node.name))
        return col

    @handle(*values.LITERALS)
    def literal(self, node):
        return sql.Literal(node)

    @handle(values.Geometry)
    def geometry(self, node):
        try:
            wkb = shapely.geometry.shape(node).wkb_hex
        except Exception:
            raise BadRequest("filter: invalid geometry")
        return sql.SQL("ST_GeomFromWKB(decode({}, 'hex'), 4326)").format(sql.Literal(wkb))

    @handle(values.Envelope)
    def envelope(self, node):
        return sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
            *(sql.Literal(float(v)) for v in (node.x1, node.y1, node.x2, node.y2)))

    def adopt(self, node, *sub_args):
        raise BadRequest(f"filter: {type(node).__name__} is not supported")


def cql2_condition(layer: Layer, text: str, lang: str | None) -> sql.Composable:
    """A CQL2 filter (text or JSON) as one SQL condition; 400 with a sentence when it is bad."""
    lang = (lang or "cql2-text").lower()
    try:
        if lang == "cql2-json":
            tree = parse_cql2_json(orjson.loads(text))
        elif lang == "cql2-text":
            tree = parse_cql2_text(text)
        else:
            raise BadRequest(f"filter-lang '{lang}' is not supported: use cql2-text or cql2-json")
    except BadRequest:
        raise
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadRequest(f"filter is not valid {lang}: {first[:200]}")
    try:
        return _ToSQL(layer).evaluate(tree)
    except BadRequest:
        raise
    except Exception as e:
        raise BadRequest(f"filter is not supported: {type(e).__name__}")


def parse_filters(layer: Layer, params: dict[str, str]) -> Filters:
    """Every filter of a tile request on `layer`."""
    f = Filters()
    f.window = parse_window(params.get("datetime"), params.get("since"), params.get("hours"))
    if not layer.time_column and not layer.aggregate:
        f.window = Window()  # layers without time ignore the window (one map-wide window for all)
    if layer.aggregate:
        if params.get("filter"):
            raise BadRequest(f"layer '{layer.id}' is an aggregate: it takes datetime and kinds, not filter")
        f.kinds = parse_kinds(params.get("kinds") or params.get("kind"))
        return f
    f.conditions += time_conditions(layer, f.window)
    conds, keys = property_conditions(layer, params)
    f.conditions += conds
    f.key_parts += keys
    if params.get("filter"):
        f.conditions.append(cql2_condition(layer, params["filter"], params.get("filter-lang")))
        f.key_parts.append(f"filter={params.get('filter-lang') or 'cql2-text'}:{params['filter']}")
    return f


def parse_kinds(text: str | None) -> tuple[str, ...] | None:
    """`kinds=a,b` of the hexbins: event kinds known to the catalog."""
    if not text:
        return None
    known = {layer.event_kind for layer in CATALOG if layer.event_kind}
    kinds = tuple(sorted({k.strip() for k in text.split(",") if k.strip()}))
    bad = [k for k in kinds if k not in known]
    if bad:
        raise BadRequest(f"unknown kind(s) {', '.join(bad)}: use {', '.join(sorted(known))}")
    return kinds or None
