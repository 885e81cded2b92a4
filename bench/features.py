"""OGC API - Features items: our /ogc (pygeoapi + our psycopg provider) vs tipg vs the raw SQL floor.

    DATABASE_URL=postgresql://rtcc@127.0.0.1:54329/rtcc_bench .venv/bin/python bench/features.py

The database must hold `rtcc synth` data (1,000,000 events, 50,000 cameras); `--synth` makes it.
Three cases over a fixed seeded list of ~1 km bboxes: bbox + limit=100; + a datetime interval;
+ a CQL2 filter. Each server is a separate uvicorn process (--workers, default 1, the same for both); each case runs for
--seconds with --clients concurrent clients. Prints requests/s, p50 and p99 side by side.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import psycopg

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._common import ROOT, Client, free_port, pct, server  # noqa: E402

BENCH_DB = "postgresql://rtcc@127.0.0.1:54329/rtcc_bench"


def bboxes(n: int, seed: int, extent: tuple[float, float, float, float], size: float = 0.01) -> list[str]:
    """n seeded bboxes of `size` degrees (~1 km) inside extent."""
    rnd = random.Random(seed)
    x0, y0, x1, y1 = extent
    out = []
    for _ in range(n):
        x, y = rnd.uniform(x0, x1 - size), rnd.uniform(y0, y1 - size)
        out.append(f"{x:.5f},{y:.5f},{x + size:.5f},{y + size:.5f}")
    return out


def cases(url: str, layer: str, n: int, seed: int) -> dict[str, list[dict]]:
    with psycopg.connect(url) as c:
        ext = c.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                        f"(SELECT ST_Extent(geom) e FROM {layer}) s").fetchone()
        hi = c.execute(f"SELECT max(observed_at) FROM {layer}").fetchone()[0]
    lo = hi - timedelta(days=10)
    dt = f"{lo.strftime('%Y-%m-%dT%H:%M:%SZ')}/{hi.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    boxes = bboxes(n, seed, ext)
    return {
        "bbox+limit=100": [{"bbox": b, "limit": 100} for b in boxes],
        "+datetime interval": [{"bbox": b, "limit": 100, "datetime": dt} for b in boxes],
        "+CQL2 filter": [{"bbox": b, "limit": 100, "filter": "priority <= 2", "filter-lang": "cql2-text"}
                         for b in boxes],
    }


def raw_sql(conn: psycopg.Connection, layer: str, q: dict) -> tuple[str, list]:
    """Exactly the SQL our provider runs for this page (GeoJSON built in PostgreSQL, no count): the floor."""
    from services.query.cql import params
    from services.query.cql import parse_any
    from services.ogc.provider import RTCCProvider
    p = RTCCProvider({"name": "bench", "type": "feature", "data": layer})
    bbox = [float(v) for v in q["bbox"].split(",")]
    where = p._where(bbox, q.get("datetime"), [], parse_any(q["filter"]) if "filter" in q else None)
    stmt = p.page_sql(where, 0, int(q["limit"]), spatial=not q.get("datetime"))
    return stmt.as_string(conn), params(stmt)


def load(make_call, queries: list[dict], seconds: float, clients: int) -> dict:
    """Run `clients` threads for `seconds`, each cycling through queries; latencies in ms."""
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        call = make_call()
        k = i
        while time.perf_counter() < stop:
            q = queries[k % len(queries)]
            k += clients
            t0 = time.perf_counter()
            if not call(q):
                errors[i] += 1
            lat[i].append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    all_ = [v for row in lat for v in row]
    return {"rps": len(all_) / took, "p50": pct(all_, 50), "p99": pct(all_, 99), "n": len(all_),
            "errors": sum(errors)}


def http_caller(base: str, path: str, extra: dict):
    """A keep-alive raw-socket client per thread: the load generator must cost less than the servers."""
    host, port = base.split("//")[1].split(":")

    def make():
        client = Client(host, int(port))

        def call(q: dict) -> bool:
            status, body = client.get(f"{path}?{urlencode({**extra, **q})}")
            return status == 200 and body.startswith(b"{")
        return call
    return make


def sql_caller(url: str, layer: str, queries: list[dict]):
    with psycopg.connect(url) as c:  # statements made before the clock starts
        stmts = {id(q): raw_sql(c, layer, q) for q in queries}

    def make():
        conn = psycopg.connect(url, autocommit=True)

        def call(q: dict) -> bool:
            sql, params = stmts[id(q)]
            rows = conn.execute(sql, params).fetchall()
            "[" + ",".join(r[0] for r in rows) + "]"
            return True
        return call
    return make


class Tipg:
    """tipg as its own uvicorn process on the same database (bench-only dependency: pip install tipg)."""

    def __init__(self, url: str, layer: str, workers: int = 1):
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=url, TIPG_DB_TABLES=f'["public.{layer}"]',
                   TIPG_DB_SPATIAL_EXTENT="false", TIPG_DB_DATETIME_EXTENT="false",
                   **{f"TIPG_TABLE_CONFIG__public_{layer}__PK": "id",
                      f"TIPG_TABLE_CONFIG__public_{layer}__DATETIMECOL": "observed_at",
                      f"TIPG_TABLE_CONFIG__public_{layer}__GEOMCOL": "geom"})
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--workers", str(workers), "--log-level", "warning",
                                      "--no-access-log"], cwd=ROOT, env=env)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        for _ in range(300):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("tipg did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layer", default="cad_incidents", help="catalog layer over events (a view of the same name)")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server and case")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers, the same for our server and tipg")
    ap.add_argument("--synth", action="store_true", help="(re)create the database with rtcc synth first")
    ap.add_argument("--no-tipg", action="store_true", help="ours and the raw SQL floor only")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL") or BENCH_DB
    os.environ["DATABASE_URL"] = url  # the provider (raw SQL floor) uses the app's settings and pool
    if "/rtcc?" in url or url.endswith("/rtcc"):
        sys.exit("refusing to benchmark the dev database `rtcc`: use a separate one (rtcc_bench)")
    if args.synth:
        from bench._common import scratch_db
        url = scratch_db(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
        subprocess.run([str(ROOT / ".venv" / "bin" / "rtcc"), "synth", "--events", "1000000", "--cameras", "50000"],
                       env=dict(os.environ, DATABASE_URL=url), check=True)
    with psycopg.connect(url) as c:
        n = c.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'events'").fetchone()
        rows = c.execute(f"SELECT count(*) FROM {args.layer}").fetchone()[0]
    print(f"database {url}: ~{sum(r for r in [n[0] if n else 0])} events (planner estimate), "
          f"{rows} rows in {args.layer}; {args.clients} clients, {args.seconds:g} s per case, "
          f"{args.workers} uvicorn worker(s) per server")
    work = cases(url, args.layer, 400, args.seed)
    results: dict[str, dict[str, dict]] = {}
    with ExitStack() as stack:
        ours = stack.enter_context(server(url, args.workers))
        tipg = None if args.no_tipg else stack.enter_context(Tipg(url, args.layer, args.workers))
        targets = {"ours /ogc": http_caller(ours, f"/ogc/collections/{args.layer}/items", {"f": "json"})}
        if tipg:
            targets["tipg"] = http_caller(tipg, f"/collections/public.{args.layer}/items", {"f": "geojson"})
        # like for like: both servers return the same features (ids) for the first 20 queries of each case
        for case, qs in work.items() if tipg else ():
            same, feats = 0, 0
            for q in qs[:20]:
                a = httpx.get(f"{ours}/ogc/collections/{args.layer}/items", params={"f": "json", **q}, timeout=60)
                b = httpx.get(f"{tipg}/collections/public.{args.layer}/items", params={"f": "geojson", **q},
                              timeout=60)
                ia = sorted(f["id"] for f in a.json()["features"])
                ib = sorted(int(f["id"]) for f in b.json()["features"])
                same += ia == ib
                feats += len(ia)
            print(f"  check {case}: {same}/20 queries return the same ids on both servers "
                  f"({feats / 20:.0f} features per page on average)")
        for case, qs in work.items():
            for name, make in {**targets, "raw SQL": sql_caller(url, args.layer, qs)}.items():
                load(make, qs, min(2.0, args.seconds / 5), args.clients)  # warm-up: pools, plans, caches
                results.setdefault(case, {})[name] = load(make, qs, args.seconds, args.clients)
    print(f"\n{'case':<22}{'server':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for case, by in results.items():
        for name, r in by.items():
            print(f"{case:<22}{name:<12}{r['rps']:>9.1f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['errors']:>8}")
        ours, floor = by["ours /ogc"], by["raw SQL"]
        vs_tipg = f"ours/tipg {ours['rps'] / by['tipg']['rps']:.1f}x (target >= 5x), " if "tipg" in by else ""
        print(f"{'':<22}{vs_tipg}ours/raw SQL {ours['rps'] / floor['rps']:.0%}")


if __name__ == "__main__":
    main()
