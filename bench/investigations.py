"""Investigation speed on `rtcc synth` data, beside the issue's targets, in one run.

  exact plate        GET /api/alpr/search?plate=<a plate that has reads>             p99 < 20 ms
  wildcard prefix    GET /api/alpr/search?plate=<3 characters>*                      p99 < 100 ms
  (also reported)    1- and 2-character prefixes, a leading-wildcard pattern (*ABC*), a trajectory
  near X around T    GET /api/alpr/near?lon&lat&at (300 m, ±20 min) at ALPR cameras  p99 < 50 ms
  correlation        GET /api/correlate?event_id= (500 m, ±30 min, every feed)       p99 < 50 ms
  GeoPackage export  GET /api/cases/{n}/export?format=gpkg of a 5,000-event case     < 5 s
  (also reported)    the same case as KML, TAK data package and PDF

One client, requests in sequence, over HTTP to the app in its own uvicorn process (as deployed);
each request states a reason (audited, as in production).

Needs a separate database with synthetic data (never the dev database `rtcc`):
  DATABASE_URL=postgresql://rtcc@127.0.0.1:54329/rtcc_bench .venv/bin/rtcc synth --events 1000000 --cameras 50000 --units 500
Run:
  DATABASE_URL=postgresql://rtcc@127.0.0.1:54329/rtcc_bench .venv/bin/python bench/investigations.py [--n 300]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Client, pct, server  # noqa: E402

TARGETS = {"exact plate": 20.0, "wildcard prefix (3 chars)": 100.0, "near X around T": 50.0,
           "correlation": 50.0}
CASE = "BENCH-5000"


def bench_url() -> str:
    url = os.environ.get("DATABASE_URL") or "postgresql://rtcc@127.0.0.1:54329/rtcc_bench"
    if psycopg.conninfo.conninfo_to_dict(url).get("dbname") == "rtcc":
        sys.exit("refusing to benchmark the dev database 'rtcc': use a separate one, e.g. rtcc_bench")
    return url


def samples(conn: psycopg.Connection, n: int, rng: random.Random) -> dict:
    reads = conn.execute("SELECT plate, ST_X(geom), ST_Y(geom), observed_at FROM events TABLESAMPLE SYSTEM (2) "
                         "WHERE kind = 'alpr_read' LIMIT %s", (n * 4,)).fetchall()
    if len(reads) < n:
        sys.exit("no ALPR reads: run `rtcc synth` on this database first")
    rng.shuffle(reads)
    incidents = [r[0] for r in conn.execute(
        "SELECT id FROM events TABLESAMPLE SYSTEM (2) WHERE kind IN ('gunshot', 'cad_incident', 'call') "
        "AND geom IS NOT NULL AND observed_at > now() - interval '30 days' LIMIT %s", (n,))]
    return {"reads": reads[:n], "incidents": incidents}


def paths(s: dict, rng: random.Random) -> dict[str, list[str]]:
    q = lambda path, **kw: f"{path}?{urlencode({**kw, 'reason': 'benchmark'})}"  # noqa: E731
    reads = s["reads"]
    return {
        "exact plate": [q("/api/alpr/search", plate=r[0]) for r in reads],
        "wildcard prefix (3 chars)": [q("/api/alpr/search", plate=r[0][:3] + "*") for r in reads],
        "wildcard prefix (2 chars)": [q("/api/alpr/search", plate=r[0][:2] + "*") for r in reads],
        "wildcard prefix (1 char)": [q("/api/alpr/search", plate=r[0][:1] + "*") for r in reads],
        "leading wildcard (*ABC*)": [q("/api/alpr/search", plate="*" + r[0][2:5] + "*") for r in reads],
        "trajectory": [q("/api/alpr/trajectory", plate=r[0]) for r in reads],
        "near X around T": [q("/api/alpr/near", lon=r[1], lat=r[2], radius_m=300, minutes=20,
                              at=(r[3] + timedelta(minutes=rng.uniform(-20, 20))).isoformat()) for r in reads],
        "correlation": [q("/api/correlate", event_id=i, radius_m=500, minutes=30) for i in s["incidents"]],
    }


def run_http(url: str, batches: dict[str, list[str]]) -> None:
    u = urlsplit(url)
    c = Client(u.hostname, u.port)
    print(f"{'request':28s} {'n':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'target p99':>11s}")
    for name, ps in batches.items():
        for p in ps[:10]:  # warm: each connection of the pool plans its statements once
            c.get(p)
        ts = []
        for p in ps:
            t = time.perf_counter()
            status, body = c.get(p)
            ts.append((time.perf_counter() - t) * 1000)
            if status != 200:
                sys.exit(f"{p}: {status} {body[:200]!r}")
        tgt = TARGETS.get(name)
        verdict = "" if tgt is None else (f"< {tgt:.0f} ms  " + ("ok" if pct(ts, 99) < tgt else "MISSED"))
        print(f"{name:28s} {len(ts):5d} {pct(ts, 50):8.1f} {pct(ts, 95):8.1f} {pct(ts, 99):8.1f} {verdict:>11s}")
    c.close()


def make_case(conn: psycopg.Connection, n: int) -> int:
    """A case of n events: the newest reads of 40 plates and everything around 20 incidents."""
    conn.execute("DELETE FROM cases WHERE case_number = %s", (CASE,))
    conn.execute("INSERT INTO cases (case_number, title, created_by) VALUES (%s, 'benchmark case', 'bench')", (CASE,))
    conn.execute("""INSERT INTO case_items (case_number, item_type, ref_id, added_by)
                    SELECT %s, 'event', id, 'bench' FROM (SELECT id FROM events TABLESAMPLE SYSTEM (5)
                    WHERE geom IS NOT NULL AND observed_at > now() - interval '30 days' LIMIT %s) e""", (CASE, n))
    conn.execute("INSERT INTO case_notes (case_number, author, text) VALUES (%s, 'bench', 'a note')", (CASE,))
    return conn.execute("SELECT count(*) FROM case_items WHERE case_number = %s", (CASE,)).fetchone()[0]


def run_exports(url: str, events: int) -> None:
    u = urlsplit(url)
    c = Client(u.hostname, u.port)
    print(f"\ncase package of a {events:,}-event case")
    for fmt, target in (("gpkg", 5.0), ("kml", None), ("takzip", None), ("pdf", None)):
        ts, size = [], 0
        for _ in range(3):
            t = time.perf_counter()
            status, body = c.get(f"/api/cases/{CASE}/export?format={fmt}")
            ts.append(time.perf_counter() - t)
            if status != 200:
                sys.exit(f"export {fmt}: {status} {body[:200]!r}")
            size = len(body)
        best, worst = min(ts), max(ts)
        verdict = "" if target is None else f"target < {target:.0f} s  " + ("ok" if worst < target else "MISSED")
        print(f"  {fmt:7s} best {best:6.2f} s  worst of 3 {worst:6.2f} s  {size / 1e6:7.2f} MB  {verdict}")
    c.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300, help="requests per kind")
    ap.add_argument("--case-events", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    url = bench_url()
    rng = random.Random(a.seed)
    with psycopg.connect(url, autocommit=True) as conn:
        total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        alpr = conn.execute("SELECT count(*) FROM events WHERE kind = 'alpr_read'").fetchone()[0]
        s = samples(conn, a.n, rng)
        events = make_case(conn, a.case_events)
    print(f"database: {total:,} events ({alpr:,} ALPR reads); {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")
    with server(url) as http:
        run_http(http, paths(s, rng))
        run_exports(http, events)


if __name__ == "__main__":
    main()
