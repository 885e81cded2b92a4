"""The one ingest pipeline: rows → models → (camera position | geocode) → H3 → COPY → bus notice.

Every row is either stored, counted as a duplicate, or rejected with its reason (kept in
ingest_rejects). A batch is one transaction; its notice (services/bus.py) is the transaction's last
write, and subscribers (live stream, tile cache, proximity worker) see it when the batch commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import orjson
import psycopg

from geo import geocode as geocoder
from geo import h3cells
from services import bus
from services.errors import NotFound, Unprocessable
from services.ingest import conflicts
from services.ingest import feeds as F
from services.ingest.model import Camera, Event, RowError, UnitPosition
from services.settings import get_settings

STAGE_COLS = ["row_no", "feed", "feed_id", "kind", "observed_at", "lon", "lat", "loc_method", "loc_score",
              "address", "h3_r7", "h3_r8", "h3_r9", "h3_r10", "type", "priority", "plate", "attrs"]

# Cells whose hexagon this process already wrote to h3_cells (an optimisation only: the insert
# is ON CONFLICT DO NOTHING, so other processes need not share it).
_known_cells: set[int] = set()


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)  # duplicates whose content differs (ingest/conflicts.py)
    batch_id: int | None = None

    def as_dict(self) -> dict:
        d = {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}
        if self.conflicts:
            d["conflicts"] = self.conflicts
        if self.warnings:
            d["warnings"] = self.warnings
        if self.batch_id is not None:
            d["batch_id"] = self.batch_id
        return d

    def add(self, other: "IngestResult", row_offset: int = 0) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += [{**r, "row": r["row"] + row_offset} for r in other.rejected]
        self.warnings += [{**w, "row": w["row"] + row_offset} for w in other.warnings]
        self.conflicts += [{**c, "row": c["row"] + row_offset} for c in other.conflicts]


def get_feed(name: str) -> F.Feed:
    feed = F.FEEDS.get(name)
    if feed is None:
        raise NotFound(f"unknown feed '{name}': use one of {', '.join(F.FEEDS)}")
    return feed


def check_columns(feed: F.Feed, rows: list[dict], header: list[str] | None = None) -> None:
    """422 for a batch of the wrong shape: CSV header without required columns, or no known column."""
    if header is not None:
        missing = F.missing_columns(feed, header)
        if missing:
            raise Unprocessable(f"missing column(s) for feed '{feed.name}': {', '.join(missing)}",
                                missing=missing, expected=list(feed.fields))
    if F.unrecognised(feed, rows):
        raise Unprocessable(f"no column of feed '{feed.name}' found: expected {', '.join(feed.fields)}",
                            missing=list(feed.required), expected=list(feed.fields))


def ingest_rows(conn: psycopg.Connection, feed_name: str, rows: list[dict], origin: str = "api") -> IngestResult:
    """Validate and store one batch of raw rows for a feed."""
    feed = get_feed(feed_name)
    res = IngestResult()
    good: list = []
    raw_rejects: list[tuple[int, str, str]] = []
    for i, row in enumerate(rows):
        try:
            good.append(F.normalise(feed, row, i))
        except RowError as e:
            res.rejected.append({"row": i, "reason": str(e)})
            raw_rejects.append((i, str(e), _raw(row)))
    if feed.kind not in ("unit", "camera"):
        good = _locate(conn, good, res, raw_rejects, rows)
    store_models(conn, feed, good, res, raw_rejects, origin)
    return res


def store_models(conn: psycopg.Connection, feed: F.Feed, good: list, res: IngestResult,
                 raw_rejects: list[tuple[int, str, str]] | None = None, origin: str = "api") -> IngestResult:
    """Store already-validated models as one batch (one transaction, one notice). The bulk path."""
    raw_rejects = raw_rejects or []
    store = {"unit": _store_units, "camera": _store_cameras}.get(feed.kind, _store_events)
    try:
        with conn.transaction():
            batch = conn.execute("INSERT INTO ingest_batches (feed, origin) VALUES (%s, %s) RETURNING id",
                                 (feed.name, origin)).fetchone()[0]
            res.batch_id = batch
            notice = store(conn, batch, good, res) if good else None
            if raw_rejects:
                with conn.cursor().copy("COPY ingest_rejects (batch_id, row_no, reason, raw) FROM STDIN") as cp:
                    for i, reason, raw in raw_rejects:
                        cp.write_row((batch, i, reason, raw))
            conn.execute("UPDATE ingest_batches SET accepted = %s, duplicates = %s, rejected = %s WHERE id = %s",
                         (res.accepted, res.duplicates, len(res.rejected), batch))
            if notice is not None:
                bus.publish(conn, *notice)  # last: it holds the bus lock until commit
    except BaseException:
        _known_cells.clear()  # the cells this batch wrote were rolled back with it: forget them all
        raise
    res.rejected.sort(key=lambda r: r["row"])
    return res


def _raw(row) -> str:
    try:
        return orjson.dumps(row, default=str).decode()
    except TypeError:
        return repr(row)


def _locate(conn, events: list[Event], res: IngestResult, raw_rejects, rows) -> list[Event]:
    """Place events that came without coordinates: ALPR reads at their camera, others by geocoding."""
    cam_ids = {e.attrs.get("camera_id") for e in events if e.lon is None and e.kind == "alpr_read"}
    cams = {}
    if cam_ids:
        cams = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM cameras WHERE id = ANY(%s)", (list(cam_ids),))}
    # Address-only events are geocoded in one set-based call for the whole batch.
    to_geocode = [e for e in events if e.lon is None and e.kind != "alpr_read" and e.loc_method != "none"]
    found = dict(zip(map(id, to_geocode), geocoder.geocode_many(conn, [e.address for e in to_geocode])))
    out = []
    for e in events:
        if e.lon is not None or e.loc_method == "none":  # placed, or (a tip) said nowhere
            out.append(e)
            continue
        if e.kind == "alpr_read":
            pos = cams.get(e.attrs.get("camera_id"))
            if pos is None:
                reason = f"unknown camera '{e.attrs.get('camera_id')}' and no lon/lat"
                res.rejected.append({"row": e.row, "reason": reason})
                raw_rejects.append((e.row, reason, _raw(rows[e.row])))
                continue
            e.lon, e.lat, e.loc_method, e.loc_score = pos[0], pos[1], "camera", 1.0
            out.append(e)
            continue
        g = found[id(e)]
        if g.ok:
            e.lon, e.lat, e.loc_method, e.loc_score = g.lon, g.lat, "geocoded", g.score
            e.attrs["geocode"] = {"match_type": g.match_type, "normalized": g.normalized}
        else:
            # Kept, flagged and reported: an event is never dropped for want of a location.
            e.loc_method, e.loc_score = "failed", g.score
            res.warnings.append({"row": e.row, "reason": f"address not geocoded: {g.reason}"})
        out.append(e)
    return out


def _stage_rows(batch_events: Iterable[Event], resolutions: tuple[int, ...], new_cells: set[int]):
    for e in batch_events:
        cells = [None] * 4
        if e.lon is not None:
            cs = h3cells.cells(e.lat, e.lon, resolutions)
            for c in cs:
                if c not in _known_cells:
                    new_cells.add(c)
            cells = (cs + [None] * 4)[:4]
        attrs = {k: v for k, v in e.attrs.items() if v is not None}
        yield (e.row, e.feed, e.feed_id, e.kind, e.observed_at, e.lon, e.lat, e.loc_method, e.loc_score,
               e.address, *cells, e.type, e.priority, e.plate, orjson.dumps(attrs, default=str).decode())


Notice = tuple[str, dict] | None   # what a store function announces on the bus: (type, payload)


def _store_events(conn: psycopg.Connection, batch: int, events: list[Event], res: IngestResult) -> Notice:
    resolutions = get_settings().h3_resolutions
    new_cells: set[int] = set()
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS events_stage (LIKE events_stage_template) ON COMMIT DELETE ROWS")
    with conn.cursor().copy(f"COPY events_stage ({', '.join(STAGE_COLS)}) FROM STDIN") as cp:
        for r in _stage_rows(events, resolutions, new_cells):
            cp.write_row(r)
    lo = min(e.observed_at for e in events)
    hi = max(e.observed_at for e in events)
    placed = [e for e in events if e.lon is not None]
    bbox = ([min(e.lon for e in placed), min(e.lat for e in placed), max(e.lon for e in placed),
             max(e.lat for e in placed)] if placed else None)
    # Only the months that hold a row: a batch spanning years (at most the accepted time window)
    # must not create every month between its first and last row.
    months = sorted({e.observed_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0) for e in events})
    with conn.cursor() as cur:
        cur.executemany("SELECT rtcc_ensure_event_partitions(%s, %s)", [(m, m) for m in months])
    cur = conn.execute("""
        WITH firsts AS (
            SELECT DISTINCT ON (feed, feed_id) s.*,
                   CASE WHEN lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END AS geom
            FROM events_stage s ORDER BY feed, feed_id, row_no
        ), k AS (
            INSERT INTO event_keys (feed, feed_id, observed_at)
            SELECT feed, feed_id, observed_at FROM firsts
            ON CONFLICT (feed, feed_id) DO NOTHING
            RETURNING id, feed, feed_id
        )
        INSERT INTO events (id, feed, feed_id, kind, observed_at, batch_id, geom, loc_method, loc_score,
                            address, h3_r7, h3_r8, h3_r9, h3_r10, district, beat, type, priority, plate, attrs)
        SELECT k.id, f.feed, f.feed_id, f.kind, f.observed_at, %s, f.geom, f.loc_method, f.loc_score,
               f.address, f.h3_r7, f.h3_r8, f.h3_r9, f.h3_r10, COALESCE(a.district, d.name), COALESCE(a.beat, b.id),
               f.type, f.priority, f.plate, f.attrs
        FROM k JOIN firsts f USING (feed, feed_id)
        LEFT JOIN h3_area a ON a.cell = f.h3_r9  -- whole cell inside one district/beat: no polygon test
        LEFT JOIN LATERAL (SELECT name FROM district_parts p
                           WHERE a.district IS NULL AND ST_Intersects(p.geom, f.geom) LIMIT 1) d ON true
        LEFT JOIN LATERAL (SELECT id FROM beat_parts p
                           WHERE a.beat IS NULL AND ST_Intersects(p.geom, f.geom) LIMIT 1) b ON true
        """, (batch,))
    res.accepted = cur.rowcount
    res.duplicates = len(events) - res.accepted
    if res.duplicates:  # only then can a row differ from what is stored under its id
        res.conflicts = conflicts.find(conn, batch)
    if new_cells:
        _write_cells(conn, new_cells)
    on_events_stored(conn, batch, {e.kind for e in events}, lo, hi)
    if not res.accepted:
        return None
    return "events", {"batch": batch, "n": res.accepted, "lo": lo.isoformat(), "hi": hi.isoformat(),
                      "bbox": bbox, "kinds": sorted({e.kind for e in events})}


def on_events_stored(conn: psycopg.Connection, batch: int, kinds: set[str], lo, hi) -> None:
    """Work that must commit or roll back with the events: the alert rules. (Proximity is not here:
    its worker subscribes to the bus and reacts to the committed batch.)"""
    from services.alerts import evaluate as alert_rules  # imported here: the alerts' routers import ingest
    alert_rules.on_events_stored(conn, batch, kinds, lo, hi)


def _write_cells(conn: psycopg.Connection, cells: set[int]) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS h3_stage (cell bigint, res smallint, geom geometry) "
                 "ON COMMIT DELETE ROWS")
    with conn.cursor().copy("COPY h3_stage (cell, res, geom) FROM STDIN") as cp:
        for c in cells:
            cp.write_row((c, h3cells.resolution(c), h3cells.boundary(c).wkb_hex))
    # In cell order: concurrent batches that share new cells then wait on each other in one order
    # instead of deadlocking (two batches inserting the same cells in opposite orders did).
    conn.execute("INSERT INTO h3_cells (cell, res, geom) SELECT cell, res, ST_SetSRID(geom, 4326) FROM h3_stage "
                 "ORDER BY cell ON CONFLICT (cell) DO NOTHING")
    _known_cells.update(cells)


def _store_units(conn: psycopg.Connection, batch: int, positions: list[UnitPosition], res: IngestResult) -> Notice:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS avl_stage (row_no int, unit_id text, callsign text, "
                 "type text, status text, observed_at timestamptz, lon float8, lat float8, heading real, "
                 "speed real, incident text) ON COMMIT DELETE ROWS")
    with conn.cursor().copy("COPY avl_stage FROM STDIN") as cp:
        for p in positions:
            cp.write_row((p.row, p.unit_id, p.callsign, p.type, p.status, p.observed_at, p.lon, p.lat,
                          p.heading_deg, p.speed_kmh, p.incident))
    cur = conn.execute("""
        INSERT INTO unit_positions (unit_id, observed_at, status, heading_deg, speed_kmh, batch_id, geom)
        SELECT DISTINCT ON (unit_id, observed_at) unit_id, observed_at, status, heading, speed, %s,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326)
        FROM avl_stage ORDER BY unit_id, observed_at, row_no
        ON CONFLICT (unit_id, observed_at) DO NOTHING""", (batch,))
    res.accepted = cur.rowcount
    res.duplicates = len(positions) - res.accepted
    conn.execute("""
        INSERT INTO units AS u (id, callsign, type, status, district, heading_deg, speed_kmh, observed_at,
                                updated_at, geom, incident_id)
        SELECT DISTINCT ON (a.unit_id) a.unit_id, a.callsign, a.type, a.status, d.name, a.heading, a.speed,
               a.observed_at, now(), ST_SetSRID(ST_MakePoint(a.lon, a.lat), 4326),
               CASE WHEN a.status IN ('available', 'offduty') THEN NULL ELSE a.incident END
        FROM avl_stage a
        LEFT JOIN LATERAL (SELECT name FROM district_parts p
                           WHERE ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(a.lon, a.lat), 4326)) LIMIT 1) d ON true
        ORDER BY a.unit_id, a.observed_at DESC, a.row_no DESC
        ON CONFLICT (id) DO UPDATE SET
            callsign = EXCLUDED.callsign, type = EXCLUDED.type, status = EXCLUDED.status,
            district = EXCLUDED.district, heading_deg = EXCLUDED.heading_deg, speed_kmh = EXCLUDED.speed_kmh,
            observed_at = EXCLUDED.observed_at, updated_at = now(), geom = EXCLUDED.geom,
            -- a position report without an incident keeps the assignment while the unit stays busy;
            -- available or off duty ends it
            incident_id = CASE WHEN EXCLUDED.status IN ('available', 'offduty') THEN NULL
                               ELSE COALESCE(EXCLUDED.incident_id, u.incident_id) END
        WHERE u.observed_at IS NULL OR EXCLUDED.observed_at >= u.observed_at""")
    return ("units", {"batch": batch, "n": res.accepted}) if res.accepted else None


def _store_cameras(conn: psycopg.Connection, batch: int, cams: list[Camera], res: IngestResult) -> Notice:
    seen: dict[str, Camera] = {}
    for c in cams:
        seen[c.id] = c  # last row for an id wins within a batch
    changed = 0
    with conn.cursor() as cur:
        for c in seen.values():
            cur.execute("""
                INSERT INTO cameras AS c (id, name, kind, owner, project, heading_deg, fov_deg, range_m,
                                          stream_url, snapshot_url, contact, status, geom, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), now())
                ON CONFLICT (id) DO UPDATE SET
                    name = EXCLUDED.name, kind = EXCLUDED.kind, owner = EXCLUDED.owner, project = EXCLUDED.project,
                    heading_deg = EXCLUDED.heading_deg, fov_deg = EXCLUDED.fov_deg, range_m = EXCLUDED.range_m,
                    stream_url = EXCLUDED.stream_url, snapshot_url = EXCLUDED.snapshot_url,
                    contact = EXCLUDED.contact, status = EXCLUDED.status, geom = EXCLUDED.geom, updated_at = now()
                WHERE (c.name, c.kind, c.owner, c.project, c.heading_deg, c.fov_deg, c.range_m, c.stream_url,
                       c.snapshot_url, c.contact, c.status, c.geom)
                      IS DISTINCT FROM
                      (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.owner, EXCLUDED.project, EXCLUDED.heading_deg,
                       EXCLUDED.fov_deg, EXCLUDED.range_m, EXCLUDED.stream_url, EXCLUDED.snapshot_url,
                       EXCLUDED.contact, EXCLUDED.status, EXCLUDED.geom)""",
                (c.id, c.name, c.kind, c.owner, c.project, c.heading_deg, c.fov_deg, c.range_m, c.stream_url,
                 c.snapshot_url, c.contact, c.status, c.lon, c.lat))
            changed += cur.rowcount
    res.accepted = changed
    res.duplicates = len(cams) - changed
    return ("cameras", {"batch": batch, "n": changed}) if changed else None
