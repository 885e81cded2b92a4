"""CQL2 (text or JSON) → a safe SQL condition with bound parameters: the one filter compiler of /ogc,
/tiles and alert rules.

Only attributes of the layer are accepted; every literal is a bound parameter, cast to the type of
the property it is compared with, so a filter can never inject SQL (OGC API - Features Part 3).
A date literal compared with a date-time property is the whole agency-local day (services.query.times).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from psycopg import sql
from pygeofilter import ast, values

from services.errors import BadRequest
from services.query.times import parse_instant as _instant


class CQLError(BadRequest, ValueError):
    """A filter that cannot be read or applied to this layer (a 400, with a sentence)."""


# CQL2 writes temporal predicates as functions, T_DURING(prop, INTERVAL(...)); pygeofilter 0.4's
# grammar only knows the infix form `prop T_DURING INTERVAL(...)`.
_T_FUNC = re.compile(r"\b(T_[A-Z]+)\s*\(\s*(\"[^\"]+\"|[A-Za-z_]\w*)\s*,\s*((?:TIMESTAMP|INTERVAL)\s*\([^)]*\))\s*\)",
                     re.I)
TEXT_LANGS = ("cql2-text", "cql-text")
JSON_LANGS = ("cql2-json", "cql-json")


def _bbox_to_polygon(node: Any) -> Any:
    """CQL2 JSON {"bbox": [minx, miny, maxx, maxy]} as a GeoJSON polygon: pygeofilter 0.4 reads the four
    numbers in the wrong order (x1, x2, y1, y2)."""
    if isinstance(node, list):
        return [_bbox_to_polygon(n) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"} and isinstance(node["bbox"], list) and len(node["bbox"]) in (4, 6):
        b = node["bbox"]
        x1, y1, x2, y2 = (b[0], b[1], b[2], b[3]) if len(b) == 4 else (b[0], b[1], b[3], b[4])
        return {"type": "Polygon", "coordinates": [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]]}
    return {k: _bbox_to_polygon(v) for k, v in node.items()}


def parse_json(doc: str | bytes | dict) -> Any:
    """CQL2 JSON (a GET `filter` or a POST body) as a pygeofilter AST."""
    from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
    return parse_cql2_json(_bbox_to_polygon(orjson.loads(doc) if not isinstance(doc, dict) else doc))


def parse_text(text: str) -> Any:
    """CQL2 text (then ECQL, what pygeoapi accepted before CQL2) as a pygeofilter AST."""
    from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
    from pygeofilter.parsers.ecql import parse as parse_ecql
    s = text.strip()
    try:
        return parse_cql2_text(_T_FUNC.sub(r"\2 \1 \3", s))
    except Exception:  # pygeofilter raises lark errors of many kinds; ECQL is the fallback
        return parse_ecql(s)


def parse_any(text: str) -> Any:
    """A GET `filter` without filter-lang: CQL2 JSON if it is a JSON object, else CQL2 text."""
    return parse_json(text) if text.strip().startswith("{") else parse_text(text)


def parse(text: str, lang: str | None = None) -> Any:
    """A `filter` query parameter with its `filter-lang` (default: read from the text); CQLError when bad."""
    lang = (lang or "").strip().lower()
    if lang and lang not in TEXT_LANGS + JSON_LANGS:
        raise CQLError(f"filter-lang '{lang}' is not supported: use cql2-text or cql2-json")
    try:
        if lang in JSON_LANGS:
            return parse_json(text)
        return parse_text(text) if lang else parse_any(text)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CQLError(f"filter is not valid {lang or 'CQL2'}: {first[:200]}") from None


_CMP = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
        ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_SPATIAL = {ast.GeometryIntersects: "ST_Intersects", ast.GeometryDisjoint: "ST_Disjoint",
            ast.GeometryContains: "ST_Contains", ast.GeometryWithin: "ST_Within",
            ast.GeometryTouches: "ST_Touches", ast.GeometryCrosses: "ST_Crosses",
            ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals"}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}
_UNITS_M = {"m": 1.0, "meters": 1.0, "metres": 1.0, "km": 1000.0, "kilometers": 1000.0,
            "ft": 0.3048, "feet": 0.3048, "mi": 1609.344, "miles": 1609.344}
GEOMETRY_NAMES = ("geometry", "geom")


def coerce(value: Any, kind: str, name: str) -> Any:
    """A literal as the Python value matching the property's type (integer, number, boolean, datetime)."""
    try:
        if kind == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "number":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            s = str(value).lower()
            if s in ("true", "1", "t", "yes"):
                return True
            if s in ("false", "0", "f", "no"):
                return False
            raise ValueError
        if kind == "datetime":
            return parse_instant(value)
    except (TypeError, ValueError, BadRequest):
        raise CQLError(f"{value!r} is not a valid {kind} value for property '{name}'.") from None
    return value if isinstance(value, str) else str(value)


def parse_instant(value: Any, end: bool = False) -> datetime:
    """A literal as an instant (services.query.times: a date is its day's first instant, or last with `end`)."""
    try:
        return _instant(value, "filter", end)
    except BadRequest as e:
        raise CQLError(e.detail) from None


def day_literal(value: Any) -> tuple[datetime, datetime] | None:
    """(first, last) instant of the day when `value` is a date literal, else None."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return parse_instant(value), parse_instant(value, end=True)
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            d = date.fromisoformat(value.strip())
        except ValueError:
            return None
        return parse_instant(d), parse_instant(d, end=True)
    return None


class Bound(sql.Composable):
    """A %s placeholder that carries its value; collect with params()."""

    def __init__(self, value: Any):
        super().__init__(value)

    def as_bytes(self, context=None) -> bytes:
        return b"%s"

    def as_string(self, context=None) -> str:
        return "%s"


class Compiler:
    """Turns one pygeofilter AST into SQL for one layer (columns: name → property type)."""

    def __init__(self, columns: dict[str, str], geometry_column: str, time_column: str | None):
        self.columns = columns
        self.geom = sql.Identifier(geometry_column)
        self.time_column = time_column

    def compile(self, node: Any) -> sql.Composable:
        return self._node(node)

    # -- expressions ---------------------------------------------------------------------------
    def _attr(self, node: ast.Attribute) -> tuple[sql.Composable, str]:
        name = node.name
        if name in GEOMETRY_NAMES:
            return self.geom, "geometry"
        if name not in self.columns:
            raise CQLError(f"Unknown property '{name}' in filter; see the collection's queryables.")
        return sql.Identifier(name), self.columns[name]

    def _value(self, node: Any, kind: str | None = None, name: str = "") -> sql.Composable:
        if isinstance(node, ast.Attribute):
            return self._attr(node)[0]
        if isinstance(node, (values.Geometry, values.Envelope)):
            return self._geometry(node)
        if isinstance(node, ast.Arithmetic):
            return sql.SQL("({} {} {})").format(self._value(node.lhs, "number"), sql.SQL(_ARITH[type(node)]),
                                                 self._value(node.rhs, "number"))
        if isinstance(node, ast.Function):
            return self._function(node)
        if isinstance(node, values.Interval):
            raise CQLError("An interval can only be used in a temporal predicate.")
        if isinstance(node, (list, tuple)):
            raise CQLError("Arrays are not supported in filters.")
        if isinstance(node, timedelta):
            raise CQLError("Durations are not supported in filters.")
        if kind and kind != "geometry":
            node = coerce(node, kind, name)
        elif isinstance(node, date) and not isinstance(node, datetime):
            node = parse_instant(node)
        return sql.Literal(node) if isinstance(node, bool) else Bound(node)

    def _function(self, node: ast.Function) -> sql.Composable:
        """CQL2 CASEI (case-insensitive comparison), LOWER, UPPER; ACCENTI is accepted as a no-op."""
        template = {"casei": "lower({})", "lower": "lower({})", "upper": "upper({})", "accenti": "{}"}
        fname = node.name.lower()
        if fname not in template or len(node.arguments) != 1:
            raise CQLError(f"Function '{node.name}' is not supported in filters (CASEI, LOWER, UPPER are).")
        return sql.SQL(template[fname]).format(self._value(node.arguments[0], "string"))

    def _geometry(self, node: Any) -> sql.Composable:
        if isinstance(node, values.Envelope):
            return sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
                *(Bound(float(v)) for v in (node.x1, node.y1, node.x2, node.y2)))
        if isinstance(node, values.Geometry):
            gj = dict(node.geometry)
            gj.pop("crs", None)
            return sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), 4326)").format(
                Bound(orjson.dumps(gj).decode()))
        if isinstance(node, ast.Attribute):
            expr, kind = self._attr(node)
            if kind != "geometry":
                raise CQLError(f"Property '{node.name}' is not a geometry.")
            return expr
        raise CQLError("A spatial predicate needs a geometry property and a geometry literal.")

    def _operand_kind(self, node: Any) -> tuple[str | None, str]:
        if isinstance(node, ast.Attribute):
            expr, kind = self._attr(node)
            return kind, node.name
        if isinstance(node, ast.Function) and node.name.lower() in ("casei", "lower", "upper", "accenti"):
            return "string", node.name
        return None, ""

    def _pair(self, lhs: Any, rhs: Any) -> tuple[sql.Composable, sql.Composable]:
        kl, nl = self._operand_kind(lhs)
        kr, nr = self._operand_kind(rhs)
        return self._value(lhs, kr, nr), self._value(rhs, kl, nl)

    # -- predicates ----------------------------------------------------------------------------
    def _node(self, node: Any) -> sql.Composable:
        t = type(node)
        if isinstance(node, ast.Not):
            return sql.SQL("NOT ({})").format(self._node(node.sub_node))
        if isinstance(node, ast.And):
            return sql.SQL("({} AND {})").format(self._node(node.lhs), self._node(node.rhs))
        if isinstance(node, ast.Or):
            return sql.SQL("({} OR {})").format(self._node(node.lhs), self._node(node.rhs))
        if t in _CMP:
            day = self._day_comparison(node)
            if day is not None:
                return day
            a, b = self._pair(node.lhs, node.rhs)
            return sql.SQL("({} {} {})").format(a, sql.SQL(_CMP[t]), b)
        if isinstance(node, ast.Between):
            kind, name = self._operand_kind(node.lhs)
            return sql.SQL("({} {}BETWEEN {} AND {})").format(
                self._value(node.lhs), sql.SQL("NOT " if node.not_ else ""),
                self._value(node.low, kind, name), self._value(node.high, kind, name))
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            kind, name = self._operand_kind(node.lhs)
            items = sql.SQL(", ").join(self._value(v, kind, name) for v in node.sub_nodes)
            return sql.SQL("({} {}IN ({}))").format(self._value(node.lhs), sql.SQL("NOT " if node.not_ else ""),
                                                    items)
        if isinstance(node, ast.IsNull):
            return sql.SQL("({} IS {}NULL)").format(self._value(node.lhs), sql.SQL("NOT " if node.not_ else ""))
        if isinstance(node, ast.Include):
            return sql.SQL("FALSE" if node.not_ else "TRUE")
        if t in _SPATIAL:
            return sql.SQL("{}({}, {})").format(sql.SQL(_SPATIAL[t]), self._geometry(node.lhs),
                                                self._geometry(node.rhs))
        if isinstance(node, ast.BBox):
            env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
                *(Bound(float(v)) for v in (node.minx, node.miny, node.maxx, node.maxy)))
            return sql.SQL("ST_Intersects({}, {})").format(self._geometry(node.lhs), env)
        if isinstance(node, ast.DistanceWithin) or isinstance(node, ast.DistanceBeyond):
            factor = _UNITS_M.get(str(node.units).lower())
            if factor is None:
                raise CQLError(f"Unknown distance unit '{node.units}' (use metres, km, feet or miles).")
            within = sql.SQL("ST_DWithin({}::geography, {}::geography, {})").format(
                self._geometry(node.lhs), self._geometry(node.rhs), Bound(float(node.distance) * factor))
            return within if isinstance(node, ast.DistanceWithin) else sql.SQL("NOT {}").format(within)
        if isinstance(node, ast.TemporalPredicate):
            return self._temporal(node)
        if isinstance(node, ast.Attribute) and self.columns.get(node.name) == "boolean":
            return sql.Identifier(node.name)
        if isinstance(node, bool):
            return sql.SQL("TRUE" if node else "FALSE")
        raise CQLError(f"This filter construct is not supported: {type(node).__name__}.")

    def _day_comparison(self, node: Any) -> sql.Composable | None:
        """`observed_at <= DATE('2026-12-01')` and the like: the date is the whole local day, so `<=`
        and `>` compare with its last instant, `<` and `>=` with its first, `=` is within it."""
        lhs, rhs, t = node.lhs, node.rhs, type(node)
        if not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            t = {ast.LessThan: ast.GreaterThan, ast.GreaterThan: ast.LessThan, ast.LessEqual: ast.GreaterEqual,
                 ast.GreaterEqual: ast.LessEqual}.get(t, t)
        if not isinstance(lhs, ast.Attribute) or self._attr(lhs)[1] != "datetime":
            return None
        bounds = day_literal(rhs)
        if bounds is None:
            return None
        col, (first, last) = self._attr(lhs)[0], bounds
        if t in (ast.Equal, ast.NotEqual):
            return sql.SQL("({} {}BETWEEN {} AND {})").format(col, sql.SQL("NOT " if t is ast.NotEqual else ""),
                                                              Bound(first), Bound(last))
        at = last if t in (ast.LessEqual, ast.GreaterThan) else first
        return sql.SQL("({} {} {})").format(col, sql.SQL(_CMP[t]), Bound(at))

    def _like(self, node: ast.Like) -> sql.Composable:
        pattern = str(node.pattern)
        out, i = [], 0
        while i < len(pattern):
            ch = pattern[i]
            if node.escapechar and ch == node.escapechar and i + 1 < len(pattern):
                nxt = pattern[i + 1]
                out.append("\\" + nxt if nxt in "%_\\" else nxt)
                i += 2
                continue
            if ch == node.wildcard:
                out.append("%")
            elif ch == node.singlechar:
                out.append("_")
            elif ch in "%_\\":
                out.append("\\" + ch)
            else:
                out.append(ch)
            i += 1
        op = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        return sql.SQL("({}::text {} {})").format(self._value(node.lhs), sql.SQL(op), Bound("".join(out)))

    def _temporal(self, node: ast.TemporalPredicate) -> sql.Composable:
        """Instants only on our side (event time columns); the literal may be an instant or interval."""
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
        if not isinstance(lhs, ast.Attribute):
            raise CQLError("A temporal predicate needs a date-time property.")
        col, kind = self._attr(lhs)
        if kind != "datetime":
            raise CQLError(f"Property '{lhs.name}' is not a date-time.")
        if isinstance(rhs, values.Interval):
            lo = None if rhs.start in (None, "..") else parse_instant(rhs.start)
            hi = None if rhs.end in (None, "..") else parse_instant(rhs.end, end=True)
        else:
            lo, hi = day_literal(rhs) or (parse_instant(rhs),) * 2
        name = type(node).__name__
        p = Bound
        if name in ("TimeAfter",):
            return sql.SQL("({} > {})").format(col, p(hi)) if hi else sql.SQL("FALSE")
        if name in ("TimeBefore",):
            return sql.SQL("({} < {})").format(col, p(lo)) if lo else sql.SQL("FALSE")
        if name in ("TimeEquals",) and lo == hi:
            return sql.SQL("({} = {})").format(col, p(lo))
        inside = sql.SQL(" AND ").join(
            [sql.SQL("({} >= {})").format(col, p(lo))] * bool(lo) + [sql.SQL("({} <= {})").format(col, p(hi))] * bool(hi)
        ) if (lo or hi) else sql.SQL("TRUE")
        if name in ("TimeDuring", "TimeOverlaps", "TimeOverlappedBy", "TimeEquals", "TimeBeforeOrDuring",
                    "TimeDuringOrAfter", "TimeContains", "TimeBegins", "TimeEnds", "TimeMeets", "TimeMetBy",
                    "TimeBegunBy", "TimeEndedBy"):
            return sql.SQL("({})").format(inside)
        if name == "TimeDisjoint":
            return sql.SQL("NOT ({})").format(inside)
        raise CQLError(f"Temporal operator {name} is not supported.")


def params(composed: sql.Composable) -> list[Any]:
    """The values of every bound placeholder in a composed statement, in order."""
    out: list[Any] = []

    def walk(c: Any) -> None:
        if isinstance(c, Bound):
            out.append(c._obj)
        elif isinstance(c, sql.Composed):
            for part in c:
                walk(part)

    walk(composed)
    return out
