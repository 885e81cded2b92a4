"""Alert rules: what to watch for, checked when a rule is saved so it never fails later at ingest.

A rule's CQL2 filter is compiled by the one CQL2 compiler of /ogc and /tiles (services/query/cql.py) over the properties the
catalog declares for its event kinds, and a "within N m of" target by the same compiler over that
layer's properties: one compiler, one vocabulary of properties for the map, OGC clients and rules.
"""
from __future__ import annotations

from typing import Literal

import psycopg
from fastapi import APIRouter, Depends, Request
from psycopg import sql
from pydantic import BaseModel, Field

from layers.catalog import CATALOG, get_layer
from services import audit, auth, db
from services.errors import NotFound, Unprocessable
from services.query.cql import Compiler, CQLError, parse_any

router = APIRouter(prefix="/api", tags=["alerts"])

EVENT_LAYERS = {layer.event_kind: layer for layer in CATALOG if layer.event_kind}
EVENT_COLUMNS = {"feed_id", "observed_at", "received_at", "district", "beat", "loc_method", "type", "priority",
                 "address", "loc_score", "plate"}  # columns of `events`; other properties live in attrs
_CAST = {"integer": "integer", "number": "double precision", "boolean": "boolean", "datetime": "timestamptz"}
RULE_FIELDS = ("id", "name", "kind", "kinds", "filter", "hotlists", "tolerant", "geofence_id", "any_geofence",
               "near_layer", "near_filter", "near_m", "priority", "throttle_s", "active", "builtin",
               "created_by", "updated_at")


def event_properties(kinds: list[str] | None = None) -> dict[str, str]:
    """name -> type of the properties a filter may use for these event kinds (all kinds if none)."""
    out: dict[str, str] = {"kind": "string", "plate": "string"}
    for kind, layer in EVENT_LAYERS.items():
        if kinds and kind not in kinds:
            continue
        for p in layer.properties:
            out.setdefault(p.name, p.type)
    return out


def property_sql(name: str, kind: str) -> sql.Composable:
    """The SQL expression of an event property over `events e` (a column, or a cast attrs value)."""
    if name in EVENT_COLUMNS or name == "kind":
        return sql.SQL("e.{}").format(sql.Identifier(name))
    expr = sql.SQL("(e.attrs->>{})").format(sql.Literal(name))
    return sql.SQL("{}::{}").format(expr, sql.SQL(_CAST[kind])) if kind in _CAST else expr


def parse(text: str):
    """CQL2 text or JSON → pygeofilter AST, with the same parser as /ogc and /tiles `filter=`."""
    try:
        return parse_any(text)
    except Exception as e:  # lark and pygeofilter raise many kinds for unparseable text
        raise CQLError(f"the filter is not valid CQL2: {str(e).splitlines()[0][:200]}") from None


def compile_filter(text: str | None, columns: dict[str, str]) -> sql.Composable:
    """The WHERE fragment of a filter over `columns` (unqualified names), or TRUE."""
    if not text or not text.strip():
        return sql.SQL("TRUE")
    return Compiler(columns, "geom", "observed_at").compile(parse(text))


def near_columns(layer_id: str) -> dict[str, str]:
    layer = get_layer(layer_id)
    if layer is None or layer.aggregate or layer.geometry_column != "geom":
        raise Unprocessable(f"near_layer '{layer_id}' is not a layer of the catalog that rules can use "
                            "(GET /tiles lists them)")
    return {p.name: p.type for p in layer.properties}


class RuleIn(BaseModel):
    """A rule. kind 'hotlist': ALPR reads whose plate is on a hotlist; 'event': events of `kinds`."""
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["event", "hotlist"] = "event"
    kinds: list[str] = Field(default_factory=list, max_length=10, description="event kinds (empty: all)")
    filter: str | None = Field(None, max_length=10_000, description="CQL2 text or JSON over the event's properties")
    hotlists: list[str] | None = Field(None, max_length=100, description="hotlist rules: only these lists")
    tolerant: bool = Field(True, description="hotlist rules: O/0, I/1, B/8 misreads match as 'possible'")
    geofence: str | None = Field(None, max_length=200, description="only inside this geofence (name)")
    any_geofence: bool = Field(False, description="only inside any active geofence")
    near_layer: str | None = Field(None, max_length=100, description="only within near_m of this layer's features")
    near_filter: str | None = Field(None, max_length=10_000, description="CQL2 over near_layer's properties")
    near_m: float | None = Field(None, gt=0, le=10_000, description="metres")
    priority: int = Field(2, ge=1, le=3, description="1 = highest")
    throttle_s: int = Field(600, ge=0, le=7 * 86400, description="one alert per subject per this many seconds")
    active: bool = True


def validate(conn: psycopg.Connection, r: RuleIn) -> int | None:
    """422 with a sentence for anything that could fail at ingest; returns the geofence id."""
    unknown = [k for k in r.kinds if k not in EVENT_LAYERS]
    if unknown:
        raise Unprocessable(f"unknown event kind(s) {', '.join(unknown)}: use {', '.join(EVENT_LAYERS)}")
    if r.kind == "hotlist" and r.kinds not in ([], ["alpr_read"]):
        raise Unprocessable("a hotlist rule watches ALPR reads only (kinds: ['alpr_read'])")
    try:
        compile_filter(r.filter, event_properties(r.kinds or None))
    except CQLError as e:
        raise Unprocessable(f"filter: {e}") from None
    if r.near_layer or r.near_m or r.near_filter:
        if not (r.near_layer and r.near_m):
            raise Unprocessable("a 'within N m of' rule needs both near_layer and near_m (metres)")
        try:
            compile_filter(r.near_filter, near_columns(r.near_layer))
        except CQLError as e:
            raise Unprocessable(f"near_filter: {e}") from None
    if r.geofence and r.any_geofence:
        raise Unprocessable("give either geofence (one, by name) or any_geofence, not both")
    if r.geofence:
        row = conn.execute("SELECT id FROM geofences WHERE name = %s", (r.geofence,)).fetchone()
        if row is None:
            raise Unprocessable(f"no geofence named '{r.geofence[:100]}'")
        return row[0]
    return None


def _get(conn: psycopg.Connection, rule_id: int) -> dict:
    row = conn.execute(f"SELECT {', '.join(RULE_FIELDS)} FROM alert_rules WHERE id = %s", (rule_id,)).fetchone()
    if row is None:
        raise NotFound(f"no rule {rule_id}")
    return dict(zip(RULE_FIELDS, row))


def save(conn: psycopg.Connection, r: RuleIn, who: str, rule_id: int | None = None) -> dict:
    fence = validate(conn, r)
    vals = (r.name, r.kind, r.kinds or (["alpr_read"] if r.kind == "hotlist" else []), r.filter, r.hotlists,
            r.tolerant, fence, r.any_geofence, r.near_layer, r.near_filter, r.near_m, r.priority, r.throttle_s,
            r.active)
    cols = ("name, kind, kinds, filter, hotlists, tolerant, geofence_id, any_geofence, near_layer, near_filter, "
            "near_m, priority, throttle_s, active")
    try:
        if rule_id is None:
            rid = conn.execute(f"INSERT INTO alert_rules ({cols}, created_by) VALUES "
                               f"({', '.join(['%s'] * 15)}) RETURNING id", (*vals, who)).fetchone()[0]
        else:
            cur = conn.execute(f"UPDATE alert_rules SET ({cols}, updated_at) = ({', '.join(['%s'] * 14)}, now()) "
                               "WHERE id = %s", (*vals, rule_id))
            if not cur.rowcount:
                raise NotFound(f"no rule {rule_id}")
            rid = rule_id
    except psycopg.errors.UniqueViolation:
        raise Unprocessable(f"a rule named '{r.name[:100]}' exists already") from None
    return _get(conn, rid)


@router.get("/rules", summary="Alert rules (built-in and the agency's)")
def list_rules(_: auth.Principal = Depends(auth.require("alerts:read"))) -> list[dict]:
    with db.pool().connection() as conn:
        rows = conn.execute(f"SELECT {', '.join(RULE_FIELDS)} FROM alert_rules ORDER BY id").fetchall()
    return [dict(zip(RULE_FIELDS, r)) for r in rows]


@router.post("/rules", status_code=201, summary="Create a rule (the filter is checked now, never at ingest)")
def create_rule(body: RuleIn, request: Request,
                principal: auth.Principal = Depends(auth.require("rules:write"))) -> dict:
    with db.pool().connection() as conn, conn.transaction():
        out = save(conn, body, principal.name)
        audit.record(conn, request, "rule.create", f"rules/{out['id']}", {"name": body.name})
    return out


@router.put("/rules/{rule_id}", summary="Replace a rule")
def update_rule(rule_id: int, body: RuleIn, request: Request,
                principal: auth.Principal = Depends(auth.require("rules:write"))) -> dict:
    with db.pool().connection() as conn, conn.transaction():
        out = save(conn, body, principal.name, rule_id)
        audit.record(conn, request, "rule.update", f"rules/{rule_id}", {"name": body.name})
    return out


@router.delete("/rules/{rule_id}", summary="Delete a rule (its alerts stay)")
def delete_rule(rule_id: int, request: Request,
                _: auth.Principal = Depends(auth.require("rules:write"))) -> dict:
    with db.pool().connection() as conn:
        if not conn.execute("DELETE FROM alert_rules WHERE id = %s", (rule_id,)).rowcount:
            raise NotFound(f"no rule {rule_id}")
        audit.record(conn, request, "rule.delete", f"rules/{rule_id}", {})
    return {"deleted": rule_id}
