"""Rules evaluated set-based on each ingest batch, inside the batch's own transaction.

One SQL statement per batch: the batch's events are read once (a materialized CTE with every
catalog property as a column), the hotlist hits are joined once, each applicable rule is one SELECT
over them (hotlist hit, geofence, "within N m of", CQL2 filter), the throttle is taken with an
upsert, and the alerts, their outbox rows and their proximity jobs are inserted together. The batch,
its alerts and their deliveries commit or roll back as one; the bus notice goes out at commit.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import psycopg
from psycopg import sql

from layers.catalog import get_layer
from services.alerts import rules as R
from services.query.cql import Bound, params
from services.bus import publish
from services.settings import get_settings

log = logging.getLogger("rtcc.alerts")
SKIP_ORIGINS = ("demo", "synth")  # bulk loads of history raise no alerts


@dataclass
class Compiled:
    id: int
    kinds: frozenset[str]        # empty: every kind
    select: sql.Composable       # rows (rule_id, event_id, observed_at, key, match, hotlist, zone)
    hotlist: bool = False        # reads the batch's hotlist hits (HITS)


_lock = threading.Lock()
_cache: tuple[int, list[Compiled]] | None = None


def _compile(r: dict) -> Compiled:
    """One rule as one SELECT over the batch CTE `b` (validated when saved; compiled again here)."""
    kinds = list(r["kinds"] or [])
    where = R.compile_filter(r["filter"], R.event_properties(kinds or None))
    joins: list[sql.Composable] = []
    key: sql.Composable = sql.SQL("COALESCE(x.plate, x.id::text)")
    match, hotlist, zone = sql.SQL("'certain'"), sql.SQL("NULL::jsonb"), sql.SQL("NULL::text")
    source: sql.Composable = sql.SQL("")
    if r["kind"] == "hotlist":
        # Driven by the batch's hotlist hits (HITS, computed once for all hotlist rules): a rule
        # costs nothing for the reads that hit no list, which is nearly all of them.
        cond = [sql.SQL("TRUE") if r["tolerant"] else sql.SQL("hh.exact")]
        if r["hotlists"]:
            cond.append(sql.SQL("hh.list = ANY({})").format(Bound(list(r["hotlists"]))))
        source = sql.SQL("(SELECT DISTINCT ON (hh.event_id) hh.* FROM hits hh WHERE {} "
                         "ORDER BY hh.event_id, hh.exact DESC, hh.list) h JOIN ").format(sql.SQL(" AND ").join(cond))
        joins.append(sql.SQL("ON x.id = h.event_id"))
        match = sql.SQL("CASE WHEN h.exact THEN 'certain' ELSE 'possible' END")
        hotlist = sql.SQL("jsonb_build_object('list', h.list, 'plate', h.plate, 'state', NULLIF(h.state, ''), "
                          "'reason', h.reason, 'source', h.source, 'read_plate', x.plate)")
        key = sql.SQL("x.plate")
    if r["geofence_id"] or r["any_geofence"]:
        one = sql.SQL("AND g.id = {}").format(Bound(r["geofence_id"])) if r["geofence_id"] else sql.SQL("")
        joins.append(sql.SQL("""
            JOIN LATERAL (SELECT g.id, g.name FROM geofences g
                          WHERE g.active {one} AND ST_Intersects(g.zone, x.geom)
                            AND rtcc_geofence_open(g.active_from, g.active_to, x.observed_at, {tz})
                          ORDER BY g.id LIMIT 1) z ON true""").format(one=one, tz=Bound(get_settings().timezone)))
        zone = sql.SQL("z.name")
        if r["kind"] != "hotlist":
            key = sql.SQL("'zone:' || z.id")
    if r["near_layer"]:
        layer = get_layer(r["near_layer"])
        cols = R.near_columns(r["near_layer"])
        near_where = R.compile_filter(r["near_filter"], cols)
        label = sql.SQL("n.name::text") if "name" in cols else sql.SQL("n.{}::text").format(
            sql.Identifier(layer.id_column))
        m = Bound(float(r["near_m"]))
        joins.append(sql.SQL("""
            JOIN LATERAL (SELECT n.{idc}::text AS nid, {label} AS label FROM {src} n
                          WHERE n.geom && rtcc_box_m(x.geom, {m}) AND ST_DWithin(n.geom::geography, x.geom::geography, {m})
                            AND ({near_where})
                          ORDER BY n.geom <-> x.geom LIMIT 1) nr ON true""").format(
            idc=sql.Identifier(layer.id_column), label=label, src=sql.Identifier(layer.source), m=m,
            near_where=near_where))
        zone = sql.SQL("nr.label")
        if r["kind"] != "hotlist":
            key = sql.SQL("'near:' || nr.nid")
    if not r["throttle_s"]:
        key = sql.SQL("x.id::text")  # no throttle: every event is its own alert
    kinds_cond = sql.SQL("b.kind = ANY({})").format(Bound(kinds)) if kinds else sql.SQL("TRUE")
    select = sql.SQL("""
        SELECT {rid}::bigint AS rule_id, x.id AS event_id, x.observed_at, ({key})::text AS key,
               ({match})::text AS match, {hotlist} AS hotlist, ({zone})::text AS zone
        FROM {source}(SELECT * FROM b WHERE {kinds_cond} AND ({where})) x {joins}""").format(
        rid=Bound(r["id"]), key=key, match=match, hotlist=hotlist, zone=zone, kinds_cond=kinds_cond,
        where=where, joins=sql.SQL(" ").join(joins), source=source)
    return Compiled(r["id"], frozenset(kinds), select, r["kind"] == "hotlist")


def compiled_rules(conn: psycopg.Connection, version: int) -> list[Compiled]:
    """The active rules compiled, recompiled when alert_rules_version moves (any process's change)."""
    global _cache
    with _lock:
        if _cache is not None and _cache[0] == version:
            return _cache[1]
    cur = conn.execute(f"SELECT {', '.join(R.RULE_FIELDS)} FROM alert_rules WHERE active ORDER BY id")
    out = []
    for row in cur.fetchall():
        r = dict(zip(R.RULE_FIELDS, row))
        try:
            out.append(_compile(r))
        except Exception:  # validated when saved; a rule the catalog no longer supports is skipped, not fatal
            log.exception("rule %s cannot be compiled; skipped", r["id"])
    with _lock:
        _cache = (version, out)
    return out


def _batch_columns() -> sql.Composable:
    props = R.event_properties(None)
    cols = [sql.SQL("e.id, e.geom, e.attrs")]
    cols += [sql.SQL("{} AS {}").format(R.property_sql(n, t), sql.Identifier(n)) for n, t in props.items()]
    return sql.SQL(", ").join(cols)


# Every hotlist entry an ALPR read of the batch hits: exact plates, and misreads folded by plate_key
# (O/0, I/1, B/8) as inexact ones. Two index joins for the whole batch, whatever the number of rules.
HITS = """
    , hits AS MATERIALIZED (
        SELECT b.id AS event_id, hl.list, hl.plate, hl.state, hl.reason, hl.source, true AS exact
        FROM b JOIN hotlists hl ON hl.plate = b.plate
        WHERE b.kind = 'alpr_read' AND (hl.state = '' OR b.state IS NULL OR hl.state = b.state)
          AND (hl.expires IS NULL OR hl.expires > b.observed_at)
        UNION ALL
        SELECT b.id, hl.list, hl.plate, hl.state, hl.reason, hl.source, false
        FROM b JOIN hotlists hl ON hl.plate_key = translate(b.plate, 'OIB', '018') AND hl.plate <> b.plate
        WHERE b.kind = 'alpr_read' AND (hl.state = '' OR b.state IS NULL OR hl.state = b.state)
          AND (hl.expires IS NULL OR hl.expires > b.observed_at))"""

ALERT_INSERT = """
    , f AS (SELECT DISTINCT ON (m.rule_id, m.key) m.*, r.name AS rule_name, r.priority, r.throttle_s
            FROM m JOIN alert_rules r ON r.id = m.rule_id
            ORDER BY m.rule_id, m.key, m.observed_at, m.event_id)
    , t AS (INSERT INTO alert_throttle AS th (rule_id, key, until)
            SELECT f.rule_id, f.key, now() + make_interval(secs => f.throttle_s) FROM f WHERE f.throttle_s > 0
            ON CONFLICT (rule_id, key) DO UPDATE SET until = EXCLUDED.until WHERE th.until < now()
            RETURNING rule_id, key)
    , w AS (SELECT f.* FROM f WHERE f.throttle_s = 0 OR EXISTS (SELECT 1 FROM t WHERE t.rule_id = f.rule_id
                                                                AND t.key = f.key))
    , a AS (INSERT INTO alerts (rule_id, rule_name, priority, title, match, kind, event_id, event_ids, event, hotlist,
                                zone, observed_at, address, district, beat, proximity, geom)
            SELECT w.rule_id, w.rule_name, w.priority,
                   CASE WHEN w.hotlist IS NOT NULL THEN
                            format('%%sotlist hit: %%s%%s — %%s (%%s)', CASE WHEN w.match = 'possible'
                                   THEN 'Possible h' ELSE 'H' END, w.hotlist->>'plate',
                                   COALESCE(' ' || (w.hotlist->>'state'), ''), w.hotlist->>'reason',
                                   w.hotlist->>'list')
                            || CASE WHEN w.match = 'possible' THEN format(' (read %%s)', e.plate) ELSE '' END
                            || COALESCE(' in ' || w.zone, '')
                        ELSE format('%%s: %%s%%s', w.rule_name, COALESCE(e.type, replace(e.kind, '_', ' ')),
                                    COALESCE(' — ' || w.zone, '')) END,
                   w.match, e.kind, e.id, ARRAY[e.id],
                   jsonb_build_object('id', e.id, 'feed', e.feed, 'feed_id', e.feed_id, 'kind', e.kind,
                       'observed_at', e.observed_at, 'type', e.type, 'priority', e.priority, 'plate', e.plate,
                       'address', e.address, 'lon', ST_X(e.geom), 'lat', ST_Y(e.geom), 'attrs', e.attrs),
                   w.hotlist, w.zone, e.observed_at, e.address, e.district, e.beat,
                   CASE WHEN e.geom IS NULL THEN '{{}}'::jsonb END,  -- NULL: attached by sql/definitions/91_alerts_proximity.sql when computed
                   e.geom
            FROM w JOIN events e ON e.id = w.event_id AND e.observed_at = w.observed_at
            ORDER BY w.priority, w.event_id
            RETURNING id, rule_id, priority, district, event_id, observed_at, proximity IS NULL AS located)
    , pj AS (INSERT INTO proximity_jobs (event_id, observed_at, batch_id, priority)  -- 0: live, first
             SELECT DISTINCT a.event_id, a.observed_at, {batch}::bigint, 0 FROM a WHERE a.located
             ON CONFLICT (event_id) DO NOTHING RETURNING event_id)
    , d AS (INSERT INTO alert_deliveries (alert_id, channel_id)
            SELECT a.id, c.id FROM a JOIN alert_channels c ON c.active
                AND (c.rule_ids IS NULL OR a.rule_id = ANY(c.rule_ids))
                AND (c.max_priority IS NULL OR a.priority <= c.max_priority)
                AND (c.districts IS NULL OR a.district = ANY(c.districts))
            RETURNING id)
    SELECT (SELECT array_agg(id ORDER BY id) FROM a), (SELECT count(*) FROM d), (SELECT count(*) FROM pj)"""


def on_events_stored(conn: psycopg.Connection, batch: int, kinds: set[str], lo, hi) -> list[int]:
    """Called by the ingest pipeline inside the batch transaction; returns the new alert ids."""
    origin, version = conn.execute(
        "SELECT (SELECT origin FROM ingest_batches WHERE id = %s), (SELECT v FROM alert_rules_version)",
        (batch,)).fetchone()
    if origin in SKIP_ORIGINS or version is None:
        return []
    todo = [c for c in compiled_rules(conn, version) if not c.kinds or c.kinds & kinds]
    if not todo:
        return []
    hits = HITS if any(c.hotlist for c in todo) else ""
    stmt = sql.SQL("WITH b AS MATERIALIZED (SELECT {cols} FROM events e WHERE e.batch_id = {batch} "
                   "AND e.observed_at BETWEEN {lo} AND {hi})" + hits + ", m AS ({union})" + ALERT_INSERT).format(
        cols=_batch_columns(), batch=Bound(batch), lo=Bound(lo), hi=Bound(hi),
        union=sql.SQL(" UNION ALL ").join(c.select for c in todo))
    ids, _deliveries, _jobs = conn.execute(stmt, params(stmt)).fetchone()
    # The proximity worker computes the queued answers once the batch commits (its "events" notice
    # wakes it); sql/definitions/91_alerts_proximity.sql attaches them to the alerts. The "alert"
    # notice wakes the outbox too.
    if ids:
        publish(conn, "alert", {"ids": ids})
    return ids or []
