"""Ingest benchmark: bulk path (COPY), POST /api/ingest in batches of 1,000, and POST → /api/live delay.

    .venv/bin/python bench/ingest.py [--events 200000] [--posts 40] [--live 200]

Targets (issue 2): bulk ≥ 20,000 coordinate events/s; HTTP ≥ 2,000 events/s; live p99 < 1 s.
Runs in its own scratch database (rtcc_bench_ingest), never the demo one.
"""
from __future__ import annotations

import argparse
import csv
import json
import queue
import random
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from _common import pct, scratch_db, server  # noqa: E402  (bench/ on sys.path when run as a script)


def rows(n: int, prefix: str, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)
    out = []
    for i in range(n):
        out.append({"id": f"{prefix}-{i}", "observed_at": (now - timedelta(seconds=rnd.randrange(86400 * 30))).isoformat(),
                    "lon": round(rnd.uniform(-76.70, -76.53), 6), "lat": round(rnd.uniform(39.21, 39.36), 6),
                    "type": rnd.choice(["NOISE", "ALARM", "DISORDERLY", "ASSAULT"]), "priority": rnd.randint(1, 4)})
    return out


def bench_bulk(url: str, n: int) -> dict:
    import os
    os.environ["DATABASE_URL"] = url
    from services.settings import get_settings
    get_settings.cache_clear()
    from services.ingest.cli import ingest_parallel, load_rows
    data = rows(n, "bulk", 1)
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "calls.csv"
        with open(f, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)
        t0 = time.perf_counter()
        feed, parsed = load_rows(f, "call")
        res = ingest_parallel(feed, parsed, batch_size=10_000, progress=False)
        dt = time.perf_counter() - t0
    assert res.accepted == n, res.as_dict()
    return {"events": n, "seconds": dt, "per_s": n / dt}


def bench_http(base: str, batches: int) -> dict:
    payloads = [json.dumps(rows(1000, f"http{b}", 100 + b)).encode() for b in range(batches)]
    lat = []
    with httpx.Client(timeout=60) as c:
        t0 = time.perf_counter()
        for p in payloads:
            s = time.perf_counter()
            r = c.post(base + "/api/ingest/call", content=p, headers={"content-type": "application/json"})
            lat.append(time.perf_counter() - s)
            assert r.json()["accepted"] == 1000, r.text
        dt = time.perf_counter() - t0
    return {"events": batches * 1000, "seconds": dt, "per_s": batches * 1000 / dt,
            "batch_p50_ms": pct(lat, 50) * 1000, "batch_p99_ms": pct(lat, 99) * 1000}


def bench_live(base: str, n: int) -> dict:
    arrivals: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def listen():
        try:
            with httpx.Client(timeout=None) as c, c.stream("GET", base + "/api/live?types=event") as r:
                for line in r.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    if line.startswith("data: "):
                        d = json.loads(line[6:])
                        arrivals.setdefault(d.get("feed_id"), time.perf_counter())
                    if stop.is_set():
                        return
        except httpx.HTTPError:  # the server went away at the end of the run
            return

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(10)
    time.sleep(0.5)
    sent: dict[str, float] = {}
    now = datetime.now(timezone.utc).isoformat()
    with httpx.Client(timeout=30) as c:
        for i in range(n):
            fid = f"live-{time.time_ns()}-{i}"
            sent[fid] = time.perf_counter()
            c.post(base + "/api/ingest/gunshot", json=[{"id": fid, "observed_at": now, "lon": -76.61, "lat": 39.29}])
            time.sleep(0.02)
    time.sleep(2)
    stop.set()
    delays = [arrivals[k] - v for k, v in sent.items() if k in arrivals]
    return {"sent": n, "received": len(delays), "p50_ms": pct(delays, 50) * 1000, "p99_ms": pct(delays, 99) * 1000}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--posts", type=int, default=40)
    ap.add_argument("--live", type=int, default=200)
    a = ap.parse_args()
    print("preparing scratch database rtcc_bench_ingest …", flush=True)
    url = scratch_db("rtcc_bench_ingest")
    bulk = bench_bulk(url, a.events)
    print(f"bulk (CSV file → parse → validate → H3 → COPY, 2 workers): {bulk['events']:,} events in "
          f"{bulk['seconds']:.1f}s = {bulk['per_s']:,.0f} events/s   [target ≥ 20,000/s: "
          f"{bulk['per_s'] / 20000:.2f}×]", flush=True)
    with server(url) as base:
        http = bench_http(base, a.posts)
        print(f"POST /api/ingest/call, batches of 1,000: {http['events']:,} events in {http['seconds']:.1f}s = "
              f"{http['per_s']:,.0f} events/s (batch p50 {http['batch_p50_ms']:.0f} ms, p99 "
              f"{http['batch_p99_ms']:.0f} ms)   [target ≥ 2,000/s: {http['per_s'] / 2000:.2f}×]", flush=True)
        live = bench_live(base, a.live)
        print(f"POST → /api/live delay: {live['received']}/{live['sent']} delivered, p50 {live['p50_ms']:.1f} ms, "
              f"p99 {live['p99_ms']:.1f} ms   [target p99 < 1000 ms]", flush=True)


if __name__ == "__main__":
    sys.exit(main())
