"""Proximity engine speed on `rtcc synth` data, side by side with the issue's targets, in one run.

  raw SQL floor        KNN "nearest 5 cameras" (ORDER BY geom <-> pt LIMIT 5), one connection
  HTTP floor           GET /healthz (one SELECT 1 through the same app and pool), 4 concurrent clients
  engine SQL           rtcc_proximity() for cameras + recent context
  engine ETA           engine.answer_json() for 10 routed units (candidates in SQL, the in-memory graph)
  HTTP by coordinates  GET /api/nearest?lon&lat&units=0 (5 cameras + recent), 4 concurrent clients
  HTTP by address      GET /api/nearest?address=...&units=0, 4 concurrent clients
  HTTP ETA             GET /api/nearest?lon&lat&cameras=0&recent_m=0&units=5 (10 candidates routed), 1 client
  HTTP fleet lines     GET /api/nearest?lon&lat&units=5 against units=0 (the whole answer), 1 client, for
                       the dense synthetic fleet and for a sparse one (50 units over the city, like the
                       demo's): units=5 within 6x of units=0 is the target (issue 12, item 6)

Needs a separate database with synthetic data (never the dev database `rtcc`):
  DATABASE_URL=postgresql://rtcc@127.0.0.1:54329/rtcc_bench .venv/bin/rtcc synth --events 1000000 --cameras 50000 --units 500
Run:
  DATABASE_URL=postgresql://rtcc@127.0.0.1:54329/rtcc_bench .venv/bin/python bench/proximity.py [--seconds 5] [--workers 1]
  ... bench/proximity.py --auth-overhead   only: /api/nearest by coordinates through our server with its
                                           authentication and without it (bench/_noauth.py), in
                                           alternating rounds; target: p99 at most +5% (issue 13)
The sparse fleet is made for the run by leaving 50 units (spread by a seeded md5 order) available and
marking the others 'offduty'; their statuses are restored afterwards. The server is started with
RTCC_UNIT_MAX_AGE_S=1e9 so the synthetic unit positions (minutes old by the
time the bench runs) still count as fresh; routing work is the same. Every request asks as of the newest
synthetic event (`at=`), so the recent-context window (500 m, 60 min) holds events as it would live.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Client, pct, server  # noqa: E402

TARGETS = {"http_coords": (10.0, 500.0), "http_address": (30.0, None), "http_eta": (100.0, None)}
ETA_RATIO = 6.0   # /api/nearest?units=5 p50 within this many times units=0 (issue 12, item 6)
SPARSE_UNITS = 50


def bench_url() -> str:
    url = os.environ.get("DATABASE_URL") or "postgresql://rtcc@127.0.0.1:54329/rtcc_bench"
    if psycopg.conninfo.conninfo_to_dict(url).get("dbname") == "rtcc":
        sys.exit("refusing to benchmark the dev database 'rtcc': use a separate one, e.g. rtcc_bench")
    return url


def prepare(url: str, n_points: int, n_addr: int, seed: int) -> tuple[list[tuple[float, float]], list[str], str]:
    """Current proximity functions in the bench database; random street points and geocodable addresses."""
    from geo.geocode import geocode_best
    with psycopg.connect(url, autocommit=True) as c:
        cams, units, events, at = c.execute(
            "SELECT (SELECT count(*) FROM cameras), (SELECT count(*) FROM units), (SELECT count(*) FROM events), "
            "(SELECT max(observed_at) FROM events)").fetchone()
        print(f"database {c.info.dbname}: {cams:,} cameras, {units:,} units, {events:,} events, newest {at}")
        if cams < 10_000:
            sys.exit("too few cameras: run `rtcc synth` into this database first (see the docstring)")
        from services import migrate
        migrate.apply(c)  # the schema and functions as in this tree
        c.execute("SELECT setseed(%s)", (seed / 1000,))
        pts = c.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p "
                        "FROM streets WHERE subtype = 'Paved Road' ORDER BY md5(id::text || %s) LIMIT %s) q",
                        (str(seed), n_points)).fetchall()
        cand = c.execute("SELECT number || ' ' || street FROM addresses ORDER BY md5(id || %s) LIMIT %s",
                         (str(seed), n_addr * 2)).fetchall()
        addrs = [a for (a,) in cand if geocode_best(c, a).ok][:n_addr]
        n_recent = c.execute("SELECT count(*) FROM events WHERE observed_at > %s - interval '1 hour'", (at,)).fetchone()[0]
    print(f"sample: {len(pts)} street points, {len(addrs)} geocodable addresses (of {len(cand)} tried); "
          f"{n_recent:,} events in the last hour before `at`")
    return pts, addrs, at.isoformat()


def sql_mix(url: str, jobs: dict[str, tuple[str, list[tuple]]], seconds: float) -> dict[str, tuple[list[float], float]]:
    """One connection, prepared statements, the jobs interleaved query by query (so a noisy, shared
    machine slows them alike): per job, milliseconds per query and queries/s of time spent on it."""
    lat: dict[str, list[float]] = {k: [] for k in jobs}
    with psycopg.connect(url, autocommit=True) as c:
        for sql, args in jobs.values():
            for a in args[:20]:
                c.execute(sql, a, prepare=True).fetchall()
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            for k, (sql, args) in jobs.items():
                t = time.perf_counter()
                c.execute(sql, args[i % len(args)], prepare=True).fetchall()
                lat[k].append((time.perf_counter() - t) * 1000)
            i += 1
    return {k: (v, 1000 * len(v) / sum(v)) for k, v in lat.items()}


def http_load(base: str, paths: list[str], clients: int, seconds: float) -> tuple[list[float], float, int]:
    """`clients` concurrent keep-alive connections for `seconds`: latencies (ms), requests/s, errors."""
    host, port = base.split("//")[1].split(":")
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    stop = time.perf_counter() + seconds + 0.5

    def run(k: int) -> None:
        c = Client(host, int(port))
        for p in paths[k::clients][:5]:  # warm this connection's path through the server
            c.get(p)
        start.wait()
        i = k
        while time.perf_counter() < stop:
            t = time.perf_counter()
            status, _ = c.get(paths[i % len(paths)])
            lat[k].append((time.perf_counter() - t) * 1000)
            if status != 200:
                errors[k] += 1
            i += clients
        c.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = [x for v in lat for x in v]
    return flat, len(flat) / wall, sum(errors)


def row(name: str, lat: list[float], rps: float, target: tuple[float | None, float | None] = (None, None),
        note: str = "") -> None:
    p50, p99 = pct(lat, 50), pct(lat, 99)
    tp99, trps = target
    verdict = []
    if tp99 is not None:
        verdict.append(f"p99<{tp99:g}ms {'OK' if p99 < tp99 else 'MISS'}")
    if trps is not None:
        verdict.append(f">={trps:g}/s {'OK' if rps >= trps else 'MISS'}")
    print(f"{name:<34} {len(lat):>7} {p50:>8.2f} {p99:>8.2f} {rps:>9.0f}   {' '.join(verdict):<28} {note}")


def engine_eta(url: str, pts: list[tuple[float, float]], p: dict, seconds: float) -> tuple[list[float], float]:
    """engine.answer_json (candidates in SQL, routing in this process) on one connection."""
    from services.proximity import engine
    lat: list[float] = []
    with psycopg.connect(url, autocommit=True) as c:
        engine.answer_json(c, *pts[0], p)  # loads the graph
        end, i = time.perf_counter() + seconds, 0
        while time.perf_counter() < end:
            t = time.perf_counter()
            engine.answer_json(c, *pts[i % len(pts)], p)
            lat.append((time.perf_counter() - t) * 1000)
            i += 1
    return lat, 1000 * len(lat) / sum(lat)


def fleet_lines(url: str, base: str, pts: list[tuple[float, float]], at: str, s: float, seed: int) -> None:
    """units=5 against units=0 (the whole answer, 1 client) for the dense fleet, then a sparse one."""
    def pair(label: str) -> None:
        q = [{"lon": x, "lat": y, "at": at} for x, y in pts]
        lat0, rps0, err0 = http_load(base, [f"/api/nearest?{urlencode(d | {'units': 0})}" for d in q], 1, s / 2)
        lat5, rps5, err5 = http_load(base, [f"/api/nearest?{urlencode(d | {'units': 5})}" for d in q], 1, s)
        ratio = pct(lat5, 50) / pct(lat0, 50)
        row(f"HTTP nearest units=0, {label}", lat0, rps0, note=f"1 client, {err0} errors")
        row(f"HTTP nearest units=5, {label}", lat5, rps5,
            note=f"1 client, {err5} errors; p50 {ratio:.1f}x units=0, target <={ETA_RATIO:g}x "
                 f"{'OK' if ratio <= ETA_RATIO else 'MISS'}")

    with psycopg.connect(url, autocommit=True) as c:
        dense = c.execute("SELECT count(*) FROM units WHERE status = 'available'").fetchone()[0]
    pair(f"dense {dense}")
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TEMP TABLE bench_status AS SELECT id, status FROM units")
        try:
            c.execute("UPDATE units SET status = 'offduty' WHERE status = 'available' AND id NOT IN ("
                      "SELECT id FROM units WHERE status = 'available' AND geom IS NOT NULL "
                      "ORDER BY md5(id || %s) LIMIT %s)", (str(seed), SPARSE_UNITS))
            pair(f"sparse {SPARSE_UNITS}")
        finally:
            c.execute("UPDATE units u SET status = b.status FROM bench_status b WHERE b.id = u.id")


AUTH_MAX = 1.05  # authentication may add at most 5% to /api/nearest p99 (issue 13)


def auth_overhead(url: str, pts: list[tuple[float, float]], at: str, clients: int, workers: int,
                  seconds: float, rounds: int) -> None:
    """The same requests through our server with its front door (API key resolved per request) and
    without it (a fixed principal), in alternating rounds so machine noise hits both alike."""
    coords = [f"/api/nearest?{urlencode({'lon': x, 'lat': y, 'units': 0, 'at': at})}" for x, y in pts]
    with server(url, workers=workers) as on, server(url, workers=workers, auth=False) as off:
        bases = {"with authentication (API key)": on, "without (bench/_noauth.py)": off}
        lat: dict[str, list[float]] = {k: [] for k in bases}
        n_err = {k: 0 for k in bases}
        wall = {k: 0.0 for k in bases}
        for i in range(rounds):
            for k in (list(bases) if i % 2 == 0 else list(reversed(bases))):
                t0 = time.perf_counter()
                part, _, err = http_load(bases[k], coords, clients, seconds / rounds)
                wall[k] += time.perf_counter() - t0
                lat[k] += part
                n_err[k] += err
    for k in bases:
        row(f"HTTP nearest, {k}", lat[k], len(lat[k]) / wall[k], TARGETS["http_coords"],
            f"{clients} clients, {rounds} rounds, {n_err[k]} errors")
    (k_on, k_off) = bases
    r99 = pct(lat[k_on], 99) / pct(lat[k_off], 99)
    r50 = pct(lat[k_on], 50) / pct(lat[k_off], 50)
    print(f"authentication: p99 {r99:.3f}x, p50 {r50:.3f}x of the same server without it; "
          f"target p99 <= {AUTH_MAX:g}x {'OK' if r99 <= AUTH_MAX else 'MISS'}")
    # The same question without the machine's noise: CPU time of the front door alone, per request.
    os.environ["DATABASE_URL"] = url
    from _noauth import door_cost_us
    cost = door_cost_us()
    extra_us = cost["with authentication"] - cost["fixed principal"]
    p50_off = pct(lat[k_off], 50)
    print(f"front door alone (CPU time per request, cached API key): {cost['with authentication']:.1f} us with "
          f"authentication, {cost['fixed principal']:.1f} us without: +{extra_us:.1f} us = "
          f"{100 * extra_us / 1000 / p50_off:.2f}% of the nearest p50 without it ({p50_off:.2f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--auth-overhead", action="store_true", help="only the with/without authentication comparison")
    ap.add_argument("--rounds", type=int, default=8, help="alternating rounds of --auth-overhead")
    a = ap.parse_args()
    url = bench_url()
    pts, addrs, at = prepare(url, 500, 300, a.seed)
    random.Random(a.seed).shuffle(pts)
    s = a.seconds
    if a.auth_overhead:
        print(f"\n{'measurement':<34} {'n':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}   {'target':<28}")
        auth_overhead(url, pts, at, a.clients, a.workers, s * a.rounds / 2, a.rounds)
        print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        return

    print(f"\n{'measurement':<34} {'n':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}   {'target':<28}")
    knn = "SELECT id FROM cameras ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 5"
    eng = "SELECT rtcc_proximity(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s::jsonb)::text"
    os.environ["RTCC_UNIT_MAX_AGE_S"] = "1000000000"  # for the server below too
    from services.proximity import engine
    from services.settings import get_settings
    get_settings.cache_clear()
    import orjson
    from datetime import datetime
    pc = orjson.dumps(engine.params(units=0, at=datetime.fromisoformat(at))).decode()
    pcr = orjson.dumps(engine.params(units=0, recent_m=0)).decode()
    res = sql_mix(url, {
        "raw SQL floor: KNN 5 cameras": (knn, pts),
        "engine SQL: 5 cameras": (eng, [(x, y, pcr) for x, y in pts]),
        "engine SQL: 5 cameras + recent": (eng, [(x, y, pc) for x, y in pts]),
    }, s)
    for name, (lat, qps) in res.items():
        row(name, lat, qps, note="1 connection, interleaved" + (", rtcc_proximity()" if "engine" in name else ""))
    lat, qps = engine_eta(url, pts, engine.params(cameras=0, units=5, recent_m=0), s / 2)
    row("engine: ETA 10 candidates", lat, qps, note="1 connection, engine.answer_json()")

    with server(url, workers=a.workers) as base:
        lat, rps, err = http_load(base, ["/healthz"], a.clients, s / 2)
        row("HTTP floor: /healthz (SELECT 1)", lat, rps, note=f"{a.clients} clients, same server and pool")
        coords = [f"/api/nearest?{urlencode({'lon': x, 'lat': y, 'units': 0, 'at': at})}" for x, y in pts]
        lat, rps, err = http_load(base, coords, a.clients, s)
        row("HTTP nearest by coordinates", lat, rps, TARGETS["http_coords"],
            f"{a.clients} clients, {a.workers} worker(s), {err} errors")
        by_addr = [f"/api/nearest?{urlencode({'address': t, 'units': 0, 'at': at})}" for t in addrs]
        lat, rps, err = http_load(base, by_addr, a.clients, s)
        row("HTTP nearest by address", lat, rps, TARGETS["http_address"], f"{a.clients} clients, {err} errors")
        eta = [f"/api/nearest?{urlencode({'lon': x, 'lat': y, 'cameras': 0, 'recent_m': 0, 'units': 5})}"
               for x, y in pts]
        lat, rps, err = http_load(base, eta, 1, s)
        row("HTTP ETA, 10 candidate units", lat, rps, TARGETS["http_eta"], f"1 client, {err} errors")
        lat, rps, err = http_load(base, eta, a.clients, s)
        row("HTTP ETA, 10 candidate units", lat, rps, TARGETS["http_eta"], f"{a.clients} clients, {err} errors")
        fleet_lines(url, base, pts, at, s, a.seed)
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
