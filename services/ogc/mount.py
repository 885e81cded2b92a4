"""pygeoapi's Starlette app, mounted at /ogc, configured from the catalog at first use.

pygeoapi reads PYGEOAPI_CONFIG / PYGEOAPI_OPENAPI when its starlette_app module is imported, so we
write the generated files to an ignored folder, point the variables at them, then import it. Four
seams of pygeoapi are replaced (all here, nowhere else):
- `execute_from_starlette`: links must name the host the client used (tests run on random ports), so
  each origin and set of readable collections gets its own pygeoapi API object (config + OpenAPI
  generated for it, cached), so a collection the caller's role may not read is not listed; the caller
  (principal, stated purpose, address) is handed to the provider thread for the audit log; the standard
  `filter-lang` names cql2-text / cql2-json, and GDAL's `resultType`, are accepted.
- `itemtypes.parse_ecql_text` / `parse_cql2_json`: filters are parsed by the one CQL2 reader of /ogc
  and /tiles (services.query.cql: CQL2 text then ECQL, or CQL2 JSON with its bbox in the standard order).
- `itemtypes.to_json`: orjson instead of json.dumps (a page of thousands of features is serialised in C);
  `itemtypes.transform_bbox` skips building a pyproj transformer when the bbox is already in CRS84.
- the `CSV` formatter plugin: `services.ogc.csv_format` also writes features without a geometry.
Empty `sortby` keys are dropped (pygeoapi indexes their first character); a Host header that is not a
host[:port] is replaced by the configured one (it would end up in every link); writes to items are 405
(this server creates no items; POST only carries a CQL2 JSON filter); a database that cannot be reached
is a 503 with Retry-After, as everywhere else.
"""
from __future__ import annotations

import asyncio
import os
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson
import yaml
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope, Send

from starlette.requests import HTTPConnection

from layers.catalog import CATALOG, get_layer
from services import auth
from services.errors import DATABASE_DOWN, Forbidden, MethodNotAllowed, retry_after, unavailable
from services.ogc.config import build_config, build_openapi
from services.ogc.context import Caller, set_caller
from services.query import cql
from services.settings import ROOT, get_settings

_FILTER_LANG_ALIASES = {"cql2-text": "cql-text", "cql2-json": "cql-json"}
_PARAM_ALIASES = {"resultType": "resulttype"}  # GDAL asks resultType=hits for a feature count
_MAX_ORIGINS = 32  # distinct (Host header, role) API objects cached (bounded: Host is client input)
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?")
_ITEMS = re.compile(r"/collections/[^/]+/items(/[^/]+)?/?$")
_CQL_JSON = "application/query-cql-json"
_READ_METHODS = ("GET", "HEAD", "OPTIONS")
_COLLECTION = re.compile(r"/collections/([^/]+)(/.*)?$")
_PURPOSE_PARAMS = ("reason", "case_number", "purpose")  # read by services/auth, not query filters
_PLATE_READS = ("/items", "/tiles/")  # paths under a collection that return features or tiles


def _json_default(o: Any) -> Any:
    from pygeoapi.util import json_serial
    return json_serial(o)


def _to_json(dict_: dict, pretty: bool = False) -> str:
    opts = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(dict_, default=_json_default, option=opts).decode()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


# pygeoapi output formats that read the features as dicts (HTML templates, CSV, JSON-LD); every
# other answer is the JSON document itself.
_DICT_FORMATS = {"html", "csv", "jsonld"}


class OGCApp:
    """ASGI app for /ogc: builds pygeoapi on the first request (the database is up by then)."""

    def __init__(self) -> None:
        self._app = None
        self._apis: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _check_method(scope)
            refused = self._refused(scope)
            if refused:
                body = orjson.dumps({"detail": refused})
                await send({"type": "http.response.start", "status": 403, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        if self._app is None:
            await run_in_threadpool(self._build)
        await self._app(scope, receive, send)

    @staticmethod
    def _refused(scope: Scope) -> str | None:
        """A collection this role may not read (403), or plate data without a stated purpose (403)."""
        m = _COLLECTION.search(scope["path"])
        layer = get_layer(m.group(1)) if m else None
        if layer is None:
            return None
        conn = HTTPConnection(scope)
        try:
            auth.check_layer(auth.current_principal(conn), layer)
            if layer.event_kind in auth_personal() and (m.group(2) or "").startswith(_PLATE_READS):
                auth.require_purpose(conn)
        except Forbidden as e:
            return e.detail
        return None

    # -- set-up --------------------------------------------------------------------------------
    def _build(self) -> None:
        with self._lock:
            if self._app is not None:
                return
            s = get_settings()
            config = build_config(f"http://{s.host}:{s.port}/ogc")
            folder = ROOT / ".local" / "ogc"
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                folder = Path(tempfile.mkdtemp(prefix="rtcc-ogc-"))
            cfg, oas = folder / "pygeoapi-config.yml", folder / "openapi.yml"
            _write_atomic(cfg, yaml.safe_dump(config, sort_keys=False))  # other app processes share them
            _write_atomic(oas, yaml.safe_dump(build_openapi(config), sort_keys=False))
            os.environ["PYGEOAPI_CONFIG"], os.environ["PYGEOAPI_OPENAPI"] = str(cfg), str(oas)

            import pygeoapi.api.itemtypes as itemtypes
            import pygeoapi.starlette_app as sa
            import logging
            logging.getLogger("pygeoapi").setLevel(logging.CRITICAL)  # 4xx are answered, not logged as errors
            itemtypes.parse_ecql_text = cql.parse_any
            itemtypes.parse_cql2_json = cql.parse_json
            itemtypes.to_json = _to_json
            from pygeoapi.plugin import PLUGINS
            PLUGINS["formatter"]["CSV"] = "services.ogc.csv_format.NullGeometryCSVFormatter"
            transform = itemtypes.transform_bbox
            itemtypes.transform_bbox = lambda bbox, frm, to: bbox if frm == to else transform(bbox, frm, to)
            sa.execute_from_starlette = self._execute
            self._sa = sa
            self._app = sa.APP

    def _cached(self, key: tuple):
        with self._lock:
            api = self._apis.get(key)
            if api is not None:
                self._apis.move_to_end(key)
            return api

    def _api_for(self, key: tuple):
        """The pygeoapi API object whose links point at base_url and that lists only the collections
        `layers` (one per origin and role, LRU)."""
        api = self._cached(key)
        if api is not None:
            return api
        from pygeoapi.api import API
        base_url, layers = key
        config = build_config(base_url, layers)
        api = API(config, build_openapi(config))
        with self._lock:
            self._apis[key] = api
            while len(self._apis) > _MAX_ORIGINS:
                self._apis.popitem(last=False)
        return api

    # -- the replaced pygeoapi seam --------------------------------------------------------------
    async def _execute(self, api_function, request, *args, skip_valid_check: bool = False,
                       alternative_api=None):
        from pygeoapi.api import APIRequest
        host = request.headers.get("host") or ""
        if not _HOST.fullmatch(host):  # absent, or a path or other junk that would land in every link
            host = f"{get_settings().host}:{get_settings().port}"
        base = f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}".rstrip("/")
        principal = auth.current_principal(request)
        key = (base, tuple(layer.id for layer in CATALOG if auth.may_read_layer(principal, layer)))
        api = alternative_api or self._cached(key) or await run_in_threadpool(self._api_for, key)
        api_request = await APIRequest.from_starlette(request, api.locales)
        params = api_request.params
        if ("resultType" in params or params.get("filter-lang") in _FILTER_LANG_ALIASES
                or "sortby" in params or any(k in params for k in _PURPOSE_PARAMS)):
            items = [(_PARAM_ALIASES.get(k, k), _FILTER_LANG_ALIASES.get(v, v) if k == "filter-lang" else v)
                     for k, v in params.multi_items() if k not in _PURPOSE_PARAMS]
            items = [(k, _clean_sortby(v) if k == "sortby" else v) for k, v in items]
            api_request._args = QueryParams([(k, v) for k, v in items if not (k == "sortby" and not v)])
        caller = Caller(principal, request.scope.get("state", {}).get("purpose"),
                        request.client.host if request.client else None,
                        geojson=api_request.format not in _DICT_FORMATS)
        if not skip_valid_check and not api_request.is_valid():
            headers, status, content = api.get_format_exception(api_request)
        else:
            loop = asyncio.get_running_loop()
            headers, status, content = await run_in_threadpool(
                self._call, loop, caller, api_function, api, api_request, *args)
        if status == 503:
            headers["Retry-After"] = retry_after()
        return self._sa._to_response(headers, status, content)

    @staticmethod
    def _call(loop, caller: Caller, api_function, api, api_request, *args):
        asyncio.set_event_loop(loop)  # as pygeoapi's call_api_threadsafe: some API calls need a loop
        set_caller(caller)
        try:
            return api_function(api, api_request, *args)
        except DATABASE_DOWN as e:  # pygeoapi would answer 500: the database is down, not the request wrong
            headers = api_request.get_response_headers(**api.api_headers)
            return api.get_exception(503, headers, api_request.format, "ServiceUnavailable", unavailable(e).detail)
        finally:
            set_caller(Caller())


def _clean_sortby(value: str) -> str:
    """sortby without empty keys (',plate' or '+' made pygeoapi index an empty string: a 500)."""
    keys = [k.strip() for k in value.split(",")]
    return ",".join(k for k in keys if k.lstrip("+-").strip())


def _check_method(scope: Scope) -> None:
    """405 for writes to items: no transactions are configured (pygeoapi answered 500 or 400)."""
    method, m = scope["method"], _ITEMS.search(scope["path"])
    if m is None or method in _READ_METHODS:
        return
    if method == "POST" and m.group(1) is None:
        ctype = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if ctype == _CQL_JSON:
            return  # a CQL2 JSON filter in the body: a search, not a write
    raise MethodNotAllowed(f"{method} is not supported here: this server creates, replaces and deletes no items "
                           f"(a POST to items carries a CQL2 JSON filter, Content-Type: {_CQL_JSON})",
                           allow=list(_READ_METHODS))


def auth_personal() -> frozenset[str]:
    from services.audit import PERSONAL_KINDS
    return PERSONAL_KINDS


ogc_app = OGCApp()
