"""The query parameters shared by /tiles, /api/hexbins (and, through the same parsers, /ogc), declared
once, as tipg's dependencies.py does: each parameter is one `Annotated` declaration (its name, alias
and description in the OpenAPI document are the same everywhere) read by one parser, and routes
name the dependencies that parse them.

The dependencies are `async def` (they only parse; FastAPI runs a plain `def` dependency on a worker
thread, one hop each). The tile route takes none: each dependency FastAPI resolves costs ~230
Python calls (~20-40 µs), a sub-dependency is resolved again for every dependency naming it, and a
cached tile costs about a millisecond in all, so nine of them made warm tiles ~12% slower
(bench/tiles.py --baseline-root). It declares the shared parameters itself (the declarations
below) and calls `tile_query`. Code outside a route calls the plain parsers (`parse_bbox`,
`parse_kinds`, `parse_cql`, `times.parse_window`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from psycopg import sql
from starlette.datastructures import QueryParams

from layers.catalog import CATALOG, Layer, get_layer
from services import auth
from services.errors import BadRequest, NotFound
from services.query import cql, filters
from services.query.times import Window, parse_window
from services.settings import get_settings

DATETIME_DOC = ("OGC API datetime: an RFC 3339 instant, a date (the whole agency-local day), or an interval "
                "`start/end` with `..` for an open end (e.g. `2026-05-01T00:00:00Z/..`, `2026-05-01/2026-05-07`)")
# The stated purpose of a plate read (read by services/auth), never a filter nor a cache key part.
PURPOSE = frozenset({"reason", "case_number", "purpose"})
# Query parameters of the tile routes that are never `property=value` filters.
RESERVED = {"datetime", "since", "hours", "filter", "filter-lang", "filter-crs", "thin", "kinds", "kind",
            "res", "bbox", "f", "v", "ts", *PURPOSE}

# Each shared parameter, declared once (FastAPI copies an Annotated declaration for every use).
Datetime = Annotated[str | None, Query(description=DATETIME_DOC)]
Since = Annotated[str | None, Query(description="RFC 3339 instant or date: events observed since then")]
Hours = Annotated[str | None, Query(description="events of the last N hours (a positive number)")]
Filter = Annotated[str | None, Query(description="CQL2 filter over the layer's properties (OGC API - Features Part 3)")]
FilterLang = Annotated[str | None, Query(alias="filter-lang",
                                         description="cql2-text or cql2-json (default: read from the text)")]
Kinds = Annotated[str | None, Query(description="comma-separated event kinds (default all)")]
Kind = Annotated[str | None, Query(include_in_schema=False)]  # the older spelling of kinds
Bbox = Annotated[str | None, Query(description="west,south,east,north (degrees)")]


async def layer(layer: str, request: Request) -> Layer:
    """The tiled catalog layer named in the path (404 with the way to the catalog), if the caller's
    role may read it (403: the catalog's `roles`, before the 404 of a layer without geometry)."""
    got = get_layer(layer)
    if got is None:
        raise NotFound(f"unknown layer '{layer}': see /tiles for the catalog")
    auth.check_layer(auth.current_principal(request), got)
    if not got.spatial:
        raise NotFound(f"layer '{layer}' has no geometry: it has no tiles (read it at /ogc/collections/{layer})")
    return got


async def time_window(datetime: Datetime = None, since: Since = None, hours: Hours = None) -> Window:
    return parse_window(datetime, since, hours)


@dataclass(frozen=True)
class CQL:
    """A parsed `filter` with the text it came from (the text is the cache key)."""
    tree: Any
    text: str
    lang: str

    def key(self) -> str:
        return f"filter={self.lang}:{self.text}"


def parse_cql(text: str | None, lang: str | None) -> CQL | None:
    """A CQL2 `filter` (text or JSON, `filter-lang` or read from the text); None when absent."""
    if not text:
        return None
    return CQL(cql.parse(text, lang), text, (lang or "cql2-text").lower())


async def cql_filter(filter: Filter = None, filter_lang: FilterLang = None) -> CQL | None:
    return parse_cql(filter, filter_lang)


async def bbox(bbox: Bbox = None) -> tuple[float, ...] | None:
    return parse_bbox(bbox)


def parse_bbox(text: str | None) -> tuple[float, ...] | None:
    """west,south,east,north in degrees (400 with the expected form); None when absent."""
    if not text:
        return None
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise BadRequest("bbox must be four numbers: west,south,east,north (degrees)") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise BadRequest("bbox must be west,south,east,north in degrees with west < east and south < north")
    return w, s, e, n


async def bbox_or_service_area(box: tuple[float, ...] | None = Depends(bbox)) -> tuple[float, ...]:
    return box or tuple(get_settings().service_area)


async def kinds(kinds: Kinds = None, kind: Kind = None) -> tuple[str, ...] | None:
    """`kinds=a,b` (or `kind=`): event kinds known to the catalog."""
    return parse_kinds(kinds or kind)


def parse_kinds(text: str | None) -> tuple[str, ...] | None:
    """Comma-separated event kinds known to the catalog (400 naming the unknown ones); None = all."""
    if not text:
        return None
    known = {lyr.event_kind for lyr in CATALOG if lyr.event_kind}
    got = tuple(sorted({k.strip() for k in text.split(",") if k.strip()}))
    bad = [k for k in got if k not in known]
    if bad:
        raise BadRequest(f"unknown kind(s) {', '.join(bad)}: use {', '.join(sorted(known))}")
    return got or None


@dataclass
class Filters:
    """Every filter of a tile request on one layer: the SQL conditions (bound values), the time window
    (the tile cache drops entries by it) and the cache key."""
    window: Window = field(default_factory=Window)
    conditions: list[sql.Composable] = field(default_factory=list)
    key_parts: list[str] = field(default_factory=list)
    kinds: tuple[str, ...] | None = None

    def key(self) -> str:
        return "&".join([self.window.key(), *self.key_parts, f"kinds={','.join(self.kinds or ())}"])


@dataclass(frozen=True)
class TileQuery:
    """The shared parameters of a tile request, parsed (the layer's own `name=value` filters are
    read with the layer, by `tile_filters`)."""
    window: Window
    where: CQL | None
    kinds: tuple[str, ...] | None
    params: QueryParams


def tile_query(params: QueryParams, datetime: str | None = None, since: str | None = None,
               hours: str | None = None, filter: str | None = None, filter_lang: str | None = None,
               kinds: str | None = None, kind: str | None = None) -> TileQuery:
    """The time window, CQL2 filter and kinds of a tile request (the route declares them: Datetime, ...)."""
    return TileQuery(parse_window(datetime, since, hours), parse_cql(filter, filter_lang), parse_kinds(kinds or kind),
                     params)


def tile_query_of(params: QueryParams) -> TileQuery:
    """tile_query of a whole query string (TileJSON carries it into its tile URLs)."""
    g = params.get
    return tile_query(params, g("datetime"), g("since"), g("hours"), g("filter"), g("filter-lang"), g("kinds"), g("kind"))


def tile_filters(lyr: Layer, q: TileQuery) -> Filters:
    """The filters of /tiles/{layer}: time window, CQL2 and `name=value` (or `name=a,b`, any of them) for
    any exposed property. Those names depend on the layer, so they alone are read from the query string."""
    if lyr.aggregate:
        if q.where is not None:
            raise BadRequest(f"layer '{lyr.id}' is an aggregate: it takes datetime and kinds, not filter")
        return Filters(window=q.window, kinds=q.kinds)
    window = q.window if lyr.time_column else Window()  # layers without time ignore the window (one map-wide window)
    f = Filters(window=window, conditions=filters.time_conditions(lyr, window))
    types = filters.queryables(lyr)
    params = q.params
    for name in sorted(k for k in params if k not in RESERVED and k in types):
        f.conditions.append(filters.equals_condition(types, name, params[name].split(",")))
        f.key_parts.append(f"{name}={params[name]}")
    if q.where is not None:
        f.conditions.append(filters.compiler(lyr).compile(q.where.tree))
        f.key_parts.append(q.where.key())
    return f
