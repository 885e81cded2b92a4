"""Deterministic synthetic load inside the demo city, for benchmarks (never committed).

Events cluster around hot spots (seeded from the real incident locations) on top of a city-wide
background along streets, follow a day/night rhythm, and cover every feed. Same seed, same data.
Events go through the pipeline's bulk path (COPY, H3, district/beat, partitions, NOTIFY).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import psycopg
import shapely
from tqdm import tqdm

from services import db
from services.dev import demo
from services.ingest import feeds as F
from services.ingest.model import Event
from services.ingest.pipeline import IngestResult, store_models

# Share of each kind in the synthetic stream.
KIND_SHARE = {"alpr_read": 0.55, "call": 0.22, "cad_incident": 0.15, "gunshot": 0.08}
FEED_OF = {"alpr_read": "alpr", "call": "call", "cad_incident": "cad", "gunshot": "gunshot"}
CALL_TYPES = ["DISORDERLY", "NOISE", "SUSPICIOUS PERSON", "ALARM", "DOMESTIC", "AUTO ACCIDENT", "ASSAULT",
              "BURGLARY", "LARCENY", "DISCHARGING", "NARCOTICS", "TRESPASS", "WELFARE CHECK"]
CAD_TYPES = ["SHOOTING", "AGG ASSAULT", "ROBBERY", "BURGLARY", "AUTO THEFT", "LARCENY", "DISTURBANCE",
             "TRAFFIC STOP", "MISSING PERSON", "HOMICIDE"]
# Relative activity by local hour (night-heavy, morning trough).
HOUR_WEIGHT = np.array([6, 5, 4, 3, 2, 2, 2, 3, 4, 5, 5, 6, 6, 6, 6, 7, 7, 8, 8, 9, 9, 9, 8, 7], float)
PLATE_CHARS = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"))


class StreetSampler:
    """Random points along the city's paved streets, weighted by length."""

    def __init__(self, conn: psycopg.Connection, rng: np.random.Generator):
        rows = conn.execute("SELECT ST_AsBinary(geom) FROM streets WHERE subtype IN ('Paved Road', 'Alley')").fetchall()
        self.lines = shapely.from_wkb([r[0] for r in rows])
        w = shapely.length(self.lines)
        self.p = w / w.sum()
        self.rng = rng

    def sample(self, n: int) -> np.ndarray:
        idx = self.rng.choice(len(self.lines), size=n, p=self.p)
        frac = self.rng.random(n)
        pts = shapely.line_interpolate_point(self.lines[idx], frac, normalized=True)
        return shapely.get_coordinates(pts)


def _times(rng, n: int, days: int, now: datetime) -> list[datetime]:
    day = rng.integers(0, days, n)
    hour = rng.choice(24, size=n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    sec = rng.integers(0, 3600, n)
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    out = []
    for d, h, s in zip(day.tolist(), hour.tolist(), sec.tolist()):
        t = start + timedelta(days=d, hours=h, seconds=s)
        out.append(min(t, now))
    return out


def _plates(rng, n: int) -> list[str]:
    idx = rng.integers(0, len(PLATE_CHARS), size=(n, 7))
    return ["".join(r) for r in PLATE_CHARS[idx]]


def make_cameras(conn, rng, sampler: StreetSampler, n: int) -> int:
    """n cameras along streets: agency CCTV (omni), partner and private with headings, ALPR."""
    xy = sampler.sample(n)
    kinds = rng.choice(["cctv", "alpr", "private"], size=n, p=[0.5, 0.1, 0.4])
    owners = np.where(kinds == "private", "private", rng.choice(["agency", "partner"], size=n, p=[0.7, 0.3]))
    heading = rng.uniform(0, 360, n)
    fov = rng.choice([40.0, 60.0, 90.0, 120.0], size=n)
    rng_m = rng.choice([50.0, 80.0, 120.0, 200.0], size=n)
    omni = (kinds == "cctv") & (rng.random(n) < 0.6)
    conn.execute("DELETE FROM cameras WHERE id LIKE 'SYN-%'")
    with conn.cursor().copy("COPY cameras (id, name, kind, owner, project, heading_deg, fov_deg, range_m, "
                            "stream_url, contact, status, geom) FROM STDIN") as cp:
        for i in range(n):
            cid = f"SYN-{i:06d}"
            cp.write_row((cid, f"Synthetic {kinds[i]} {i}", str(kinds[i]), str(owners[i]), "synthetic",
                          None if omni[i] else round(float(heading[i]), 1) % 360, None if omni[i] else float(fov[i]),
                          None if omni[i] else float(rng_m[i]),
                          f"rtsp://video.example/{cid}" if owners[i] != "private" else None,
                          "registry contact" if owners[i] == "private" else None, "online",
                          demo.ewkb(shapely.Point(xy[i, 0], xy[i, 1]))))
    conn.execute("ANALYZE cameras")
    return n


def make_units(conn, rng, sampler: StreetSampler, n: int, now: datetime) -> int:
    from services.ingest.model import UnitPosition
    xy = sampler.sample(n)
    status = rng.choice(list(F.UNIT_STATUSES), size=n, p=[0.6, 0.12, 0.12, 0.1, 0.06])
    ages = rng.integers(0, 600, n)  # some positions are stale on purpose
    models = [UnitPosition(unit_id=f"SYN-U{i:04d}", callsign=f"S{i:04d}", status=str(status[i]),
                           observed_at=now - timedelta(seconds=int(ages[i])), lon=float(xy[i, 0]),
                           lat=float(xy[i, 1]), heading_deg=float(rng.uniform(0, 360)), speed_kmh=0.0, row=i)
              for i in range(n)]
    res = IngestResult()
    store_models(conn, F.FEEDS["avl"], models, res, origin="synth")
    return res.accepted


def make_events(conn, rng, sampler: StreetSampler, n: int, days: int, now: datetime, batch: int = 50_000,
                progress: bool = True) -> tuple[int, float]:
    """n events in batches through the bulk path; returns (accepted, seconds spent storing)."""
    centres = np.array(conn.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM events WHERE geom IS NOT NULL ORDER BY id LIMIT 2000").fetchall()
        or [(-76.61, 39.29)], float)
    hot = centres[rng.choice(len(centres), size=min(60, len(centres)), replace=False)]
    alpr_cams = np.array(conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom) FROM cameras WHERE kind = 'alpr' ORDER BY id LIMIT 500").fetchall()
        or [("NONE", -76.61, 39.29)], object)
    kinds = list(KIND_SHARE)
    accepted, spent = 0, 0.0
    bar = tqdm(total=n, unit="ev", desc="synth events", disable=not progress)
    for start in range(0, n, batch):
        m = min(batch, n - start)
        k = rng.choice(len(kinds), size=m, p=list(KIND_SHARE.values()))
        xy = sampler.sample(m)
        near = rng.random(m) < 0.5
        h = hot[rng.integers(0, len(hot), m)]
        # ~250 m gaussian around hot spots (degrees: 1e-5 deg lat ~ 1.1 m)
        jitter = rng.normal(0, 0.0025, (m, 2)) * np.array([1.3, 1.0])
        xy = np.where(near[:, None], h + jitter, xy)
        times = _times(rng, m, days, now)
        plates = _plates(rng, m)
        cam_idx = rng.integers(0, len(alpr_cams), m)
        pri = rng.integers(1, 5, m)
        call_t = rng.integers(0, len(CALL_TYPES), m)
        cad_t = rng.integers(0, len(CAD_TYPES), m)
        rounds = rng.integers(1, 12, m)
        models = []
        for i in range(m):
            kind = kinds[k[i]]
            lon, lat = float(xy[i, 0]), float(xy[i, 1])
            if not F.in_service_area(lon, lat):
                lon, lat = float(h[i, 0]), float(h[i, 1])
            e = Event(feed=FEED_OF[kind], feed_id=f"syn-{start + i:09d}", kind=kind, observed_at=times[i],
                      lon=lon, lat=lat, loc_method="given", loc_score=1.0, row=i)
            if kind == "alpr_read":
                cid, cx, cy = alpr_cams[cam_idx[i]]
                e.lon, e.lat, e.loc_method = float(cx), float(cy), "camera"
                e.plate = plates[i]
                e.attrs = {"state": "MD", "camera_id": cid, "confidence": 0.9}
            elif kind == "call":
                e.type, e.priority = CALL_TYPES[call_t[i]], int(pri[i])
            elif kind == "cad_incident":
                e.type, e.priority = CAD_TYPES[cad_t[i]], int(pri[i])
            else:
                e.type, e.attrs = "gunshot", {"rounds": int(rounds[i]), "confidence": 0.95}
            models.append(e)
        t0 = time.perf_counter()
        for feed in ("alpr", "call", "cad", "gunshot"):
            part = [e for e in models if e.feed == feed]
            if part:
                res = IngestResult()
                store_models(conn, F.FEEDS[feed], part, res, origin="synth")
                accepted += res.accepted
        spent += time.perf_counter() - t0
        bar.update(m)
    bar.close()
    return accepted, spent


def run(events: int, cameras: int, units: int, seed: int, days: int = 30) -> None:
    rng = np.random.default_rng(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with db.connect_owner(autocommit=True) as conn:
        if not demo.is_loaded(conn):
            print(demo.load(conn))
        sampler = StreetSampler(conn, rng)
        if cameras:
            t0 = time.perf_counter()
            make_cameras(conn, rng, sampler, cameras)
            print(f"cameras: {cameras} in {time.perf_counter() - t0:.1f}s")
        if units:
            print(f"units: {make_units(conn, rng, sampler, units, now)}")
        if events:
            t0 = time.perf_counter()
            n, spent = make_events(conn, rng, sampler, events, days, now)
            wall = time.perf_counter() - t0
            print(f"events: {n} accepted in {wall:.1f}s ({n / wall:,.0f}/s end to end; "
                  f"{n / spent:,.0f}/s in the bulk store)")
        conn.execute("ANALYZE events")
