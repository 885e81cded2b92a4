"""Keep the demo picture alive: patrol units drive along streets and change status, and new
synthetic events (calls, CAD incidents, gunshots, ALPR reads) arrive every few seconds.
Everything goes through the ingest pipeline as raw feed rows, exactly like a real feed."""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone

import shapely
from shapely.strtree import STRtree

from services import db
from services.ingest.pipeline import ingest_rows
from services.dev.synth import CAD_TYPES, CALL_TYPES

STEP_M = 120.0          # how far a moving unit travels per tick (metres, roughly)
DEG_PER_M = 1 / 111_000  # degrees of latitude per metre


class Streets:
    def __init__(self, conn):
        rows = conn.execute("SELECT ST_AsBinary(geom) FROM streets WHERE subtype = 'Paved Road'").fetchall()
        self.lines = shapely.from_wkb([r[0] for r in rows])
        self.tree = STRtree(self.lines)

    def snap(self, x: float, y: float) -> tuple[float, float]:
        p = shapely.Point(x, y)
        line = self.lines[self.tree.nearest(p)]
        q = line.interpolate(line.project(p))
        return q.x, q.y


def tick(conn, streets: Streets, rnd: random.Random, n: int) -> dict:
    now = datetime.now(timezone.utc).isoformat()
    units = conn.execute("SELECT id, callsign, status, ST_X(geom), ST_Y(geom), heading_deg FROM units "
                         "WHERE geom IS NOT NULL AND id LIKE 'U-%' ORDER BY id").fetchall()
    avl = []
    for uid, callsign, status, x, y, heading in units:
        incident = None
        if rnd.random() < 0.04:
            status = rnd.choices(["available", "enroute", "onscene", "busy"], [0.6, 0.15, 0.15, 0.1])[0]
            if status in ("enroute", "onscene"):  # dispatched: to the nearest recent CAD incident
                hit = conn.execute("SELECT feed_id FROM events WHERE kind = 'cad_incident' AND geom IS NOT NULL "
                                   "AND observed_at > now() - interval '2 hours' "
                                   "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1", (x, y)).fetchone()
                incident = hit[0] if hit else None
        heading = (heading or 0) + rnd.uniform(-50, 50)
        moving = status in ("available", "enroute")
        if moving:
            import math
            step = STEP_M * (2.0 if status == "enroute" else 1.0)
            x += math.sin(math.radians(heading)) * step * DEG_PER_M * 1.29  # 1/cos(39.3°)
            y += math.cos(math.radians(heading)) * step * DEG_PER_M
            x, y = streets.snap(x, y)
        avl.append({"unit_id": uid, "callsign": callsign, "status": status, "observed_at": now, "lon": x,
                    "lat": y, "heading": heading % 360, "speed": 40 if moving else 0, "incident": incident})
    out = {"units": ingest_rows(conn, "avl", avl, origin="simulate").accepted if avl else 0}
    events: dict[str, list] = {}
    for k in range(rnd.choice([0, 1, 1, 2, 3])):
        feed = rnd.choices(["call", "cad", "gunshot", "alpr"], [0.4, 0.3, 0.1, 0.2])[0]
        x, y = streets.snap(rnd.uniform(-76.70, -76.53), rnd.uniform(39.21, 39.36))
        row = {"id": f"sim-{int(time.time() * 1000)}-{n}-{k}", "observed_at": now, "lon": x, "lat": y}
        if feed == "call":
            row.update(type=rnd.choice(CALL_TYPES), priority=rnd.randint(1, 4))
        elif feed == "cad":
            row.update(type=rnd.choice(CAD_TYPES), priority=rnd.randint(1, 4), description="simulated incident")
        elif feed == "gunshot":
            row.update(rounds=rnd.randint(1, 9), confidence=0.9)
        else:
            row.update(plate="".join(rnd.choices("ABCDEFGHJKLMNPRSTUVWXYZ0123456789", k=7)), state="MD",
                       confidence=0.93)
        events.setdefault(feed, []).append(row)
    for feed, rows in events.items():
        out[feed] = ingest_rows(conn, feed, rows, origin="simulate").accepted
    return out


def run(interval: float = 3.0, ticks: int | None = None, seed: int | None = None) -> None:
    rnd = random.Random(seed)
    with db.connect(autocommit=True) as conn:
        streets = Streets(conn)
        n = 0
        while ticks is None or n < ticks:
            t0 = time.monotonic()
            try:
                tick(conn, streets, rnd, n)
            except Exception as e:  # keep the demo alive through a transient database error
                print(f"simulate: tick failed: {e}")
            n += 1
            time.sleep(max(0.0, interval - (time.monotonic() - t0)))
