"""Vector tile benchmark: our /tiles vs tipg vs the raw ST_AsMVT SQL floor, side by side, one run.

On `rtcc synth` data (1,000,000 events, 50,000 cameras) in a SEPARATE database, never `rtcc`:

    DATABASE_URL=postgresql://rtcc@127.0.0.1:54329/rtcc_bench .venv/bin/python bench/tiles.py

(build it once with `createdb rtcc_bench`, `rtcc db migrate` and `rtcc synth` under the same
DATABASE_URL, or pass --build). A fixed, seeded list of distinct tiles at zooms 10..16 over the
service area is fetched once each (cold: our tile cache is empty, every tile is new to it) by
--concurrency clients, for: the SQL floor (psycopg, one connection per client), tipg (its own
uvicorn process on the same database, `pip install tipg`), and our server (its own uvicorn
process), all with the same layer, 10,000-feature cap and 64-unit buffer. Our thinned low-zoom
tiles (the default below the layer's thin_below_zoom) and warm (cached) passes are reported apart,
and so is our own SQL through psycopg without HTTP (generic plans, no parallel workers: why we
beat the plain floor, and what our HTTP layer costs).

--auth-overhead adds our server without its front door (bench/_noauth.py: a fixed principal, no
credential lookup) to the systems in turn, cold and warm: authentication may cost at most 5% of
tiles/s (issue 13).

--baseline-root DIR adds a second server of ours running the code of another checkout (e.g. a
worktree of main before a change, with .venv linked into it), fetched in the same alternating
chunks, cold, warm and thinned, and prints "this tree vs baseline: cold x.xx, warm x.xx, thinned
x.xx" (tiles/s of this tree over the baseline's): a change must not make tiles slower.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, free_port, pct, server  # noqa: E402

from geo import tiles as T  # noqa: E402
from layers.catalog import get_layer  # noqa: E402
from services.settings import get_settings  # noqa: E402

CAP = 10_000  # features per tile, for all three


def tile_list(n: int, seed: int, zooms=range(10, 17)) -> list[tuple[int, int, int]]:
    """n distinct tiles: a seeded uniform zoom in 10..16 and a point in the service area."""
    rng = random.Random(seed)
    w, s, e, nn = get_settings().service_area
    seen: dict[tuple[int, int, int], None] = {}
    zs = list(zooms)
    tries = 0
    while len(seen) < n and tries < n * 50:
        tries += 1
        z = rng.choice(zs)
        t = T.TMS.tile(rng.uniform(w, e), rng.uniform(s, nn), z)
        seen.setdefault((t.z, t.x, t.y), None)
    tiles = list(seen)
    rng.shuffle(tiles)
    return tiles


def floor_sql(layer, z: int, x: int, y: int) -> str:
    """The plain query every tile server wraps: what PostGIS alone costs per tile."""
    props = ", ".join(dict.fromkeys([layer.id_column] + [p.name for p in layer.properties]))
    return (f"SELECT ST_AsMVT(q, '{layer.id}', 4096, 'geom') FROM ("
            f"SELECT {props}, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope({z}, {x}, {y}), 4096, 64, true) AS geom "
            f"FROM {layer.source} WHERE geom && ST_Transform(ST_TileEnvelope({z}, {x}, {y}, margin => {64 / 4096}), 4326) "
            f"LIMIT {CAP}) q")


def run(fetch_factory, tiles, concurrency: int) -> dict:
    """Fetch every tile once with `concurrency` workers; tiles/s over the wall time, latencies in ms."""
    lat: list[float] = []
    sizes: list[int] = []
    errors = [0]
    lock = threading.Lock()
    it = iter(tiles)

    def worker():
        fetch, close = fetch_factory()
        try:
            while True:
                with lock:
                    t = next(it, None)
                if t is None:
                    return
                t0 = time.perf_counter()
                try:
                    size = fetch(*t)
                except Exception as e:  # counted; the first one is shown
                    size = -1
                    if not errors[0]:
                        print(f"  error on tile {t}: {str(e)[:300]}", file=sys.stderr)
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    if size < 0:
                        errors[0] += 1
                    else:
                        lat.append(dt)
                        sizes.append(size)
        finally:
            close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as ex:
        for f in [ex.submit(worker) for _ in range(concurrency)]:
            f.result()
    wall = time.perf_counter() - t0
    return {"n": len(lat), "rate": len(lat) / wall, "p50": pct(lat, 50), "p99": pct(lat, 99),
            "kb": sum(sizes) / max(len(sizes), 1) / 1024, "errors": errors[0], "wall": wall, "lat": lat}


def in_turn(systems: dict, tiles, chunk: int, concurrency: int) -> dict[str, dict]:
    """Every system fetches every tile, chunk by chunk in turn, the order rotating, so load from other
    users of the machine hits all alike."""
    chunks = [tiles[i:i + chunk] for i in range(0, len(tiles), chunk)]
    parts: dict[str, list[dict]] = {k: [] for k in systems}
    for i, c in enumerate(chunks):
        names = list(systems)
        names = names[i % len(names):] + names[:i % len(names)]
        for name in names:
            parts[name].append(run(systems[name], c, concurrency))
    return {k: merge(v) for k, v in parts.items()}


def merge(parts: list[dict]) -> dict:
    lat = [v for p in parts for v in p["lat"]]
    wall = sum(p["wall"] for p in parts)
    return {"n": len(lat), "rate": len(lat) / wall, "p50": pct(lat, 50), "p99": pct(lat, 99),
            "kb": sum(p["kb"] * p["n"] for p in parts) / max(len(lat), 1), "errors": sum(p["errors"] for p in parts),
            "wall": wall, "lat": lat}


def sql_fetcher(url: str, layer):
    def factory():
        conn = psycopg.connect(url, autocommit=True)

        def fetch(z, x, y):
            return len(conn.execute(floor_sql(layer, z, x, y)).fetchone()[0] or b"")
        return fetch, conn.close
    return factory


HITS = [0]  # responses with X-Tile-Cache: hit (our server)


def our_sql_fetcher(url: str, layer):
    """Our server's own SQL and settings (services/tiles/query.py) through psycopg, without HTTP."""
    from services.tiles import query as Q
    from services.query.params import Filters

    def factory():
        conn = psycopg.connect(url, autocommit=True)

        def fetch(z, x, y):
            return len(Q.render(conn, layer, z, x, y, Filters(), thin=False))
        return fetch, conn.close
    return factory


def http_fetcher(template: str):
    def factory():
        # identity: tipg gzips every answer the client accepts gzip for; compare tile making alone.
        client = httpx.Client(timeout=120, headers={"Accept-Encoding": "identity"})

        def fetch(z, x, y):
            r = client.get(template.format(z=z, x=x, y=y))
            r.raise_for_status()
            if r.headers.get("x-tile-cache") == "hit":
                HITS[0] += 1
            return len(r.content)
        return fetch, client.close
    return factory


@contextmanager
def tipg_server(database_url: str, layer, workers: int):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, TIPG_DB_TABLES=f'["public.{layer.source}"]',
               TIPG_DB_SPATIAL_EXTENT="false", TIPG_DB_DATETIME_EXTENT="false",
               TIPG_MAX_FEATURES_PER_TILE=str(CAP), TIPG_TILE_BUFFER="64", TIPG_SET_MVT_LAYERNAME="true")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning",
                             "--no-access-log"], cwd="/tmp", env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/collections/public.{layer.source}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("tipg exited; is it installed? (.venv/bin/pip install tipg)")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def build(url: str, events: int, cameras: int, seed: int) -> None:
    """Create the bench database with `rtcc synth` (minutes; run once)."""
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    assert name != "rtcc", "never benchmark on the dev database"
    with psycopg.connect(admin, autocommit=True) as a:
        if not a.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            a.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=url)
    rtcc = str(ROOT / ".venv" / "bin" / "rtcc")
    subprocess.run([rtcc, "db", "migrate"], env=env, check=True)
    subprocess.run([rtcc, "synth", "--events", str(events), "--cameras", str(cameras), "--seed", str(seed)],
                   env=env, check=True)


def row(name: str, r: dict, ref: dict | None = None, floor: dict | None = None) -> str:
    s = (f"{name:<34} {r['rate']:8.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['kb']:8.1f} {r['n']:6d} {r['errors']:4d}")
    if ref:
        s += f"   {r['rate'] / ref['rate']:5.2f}x tipg"
    if floor:
        s += f"   {100 * r['rate'] / floor['rate']:5.0f}% of floor"
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", default="alpr_reads", help="catalog layer (default: the biggest, alpr_reads)")
    ap.add_argument("--tiles", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--concurrency", type=int, default=4, help="clients in flight (each system)")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers for our server and for tipg")
    ap.add_argument("--chunk", type=int, default=250, help="tiles per turn when the systems alternate")
    ap.add_argument("--build", action="store_true", help="create the database with rtcc synth first")
    ap.add_argument("--no-tipg", action="store_true")
    ap.add_argument("--auth-overhead", action="store_true", help="also our server without authentication")
    ap.add_argument("--baseline-root", metavar="DIR", type=Path,
                    help="also our server from another checkout (cold, warm, thinned; ratio line)")
    a = ap.parse_args()

    url = os.environ.get("DATABASE_URL")
    if not url or psycopg.conninfo.conninfo_to_dict(url).get("dbname") in (None, "rtcc"):
        sys.exit("set DATABASE_URL to the bench database (e.g. .../rtcc_bench), never the dev database rtcc")
    if a.build:
        build(url, 1_000_000, 50_000, 42)
    layer = get_layer(a.layer)
    with psycopg.connect(url, autocommit=True) as c:
        n_events = c.execute("SELECT count(*) FROM events").fetchone()[0]
        n_layer = c.execute(f"SELECT count(*) FROM {layer.source}").fetchone()[0]
        n_cams = c.execute("SELECT count(*) FROM cameras").fetchone()[0]
    tiles = tile_list(a.tiles, a.seed)
    zc = {z: sum(1 for t in tiles if t[0] == z) for z in range(10, 17)}
    low = [t for t in tiles if t[0] < (layer.thin_below_zoom or 0)]
    print(f"database: {n_events:,} events ({layer.id}: {n_layer:,}), {n_cams:,} cameras")
    print(f"tiles: {len(tiles)} distinct, seed {a.seed}, by zoom {zc}; cap {CAP}, buffer 64, "
          f"concurrency {a.concurrency}, {a.workers} uvicorn workers per server")

    results: dict[str, dict] = {}
    floor_f = sql_fetcher(url, layer)
    # Warm PostgreSQL's and the OS's caches (not timed): the low-zoom tiles read every row.
    run(floor_f, [t for t in tiles if t[0] <= 12], a.concurrency)
    with ExitStack() as stack:
        su = stack.enter_context(server(url, workers=a.workers))
        systems = {"floor": floor_f, "our_sql": our_sql_fetcher(url, layer),
                   "ours": http_fetcher(f"{su}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt?thin=false")}
        if a.auth_overhead:
            sn = stack.enter_context(server(url, workers=a.workers, auth=False))
            systems["ours_noauth"] = http_fetcher(f"{sn}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt?thin=false")
        if a.baseline_root:
            sb = stack.enter_context(server(url, workers=a.workers, root=a.baseline_root.resolve()))
            systems["baseline"] = http_fetcher(f"{sb}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt?thin=false")
        if not a.no_tipg:
            tu = stack.enter_context(tipg_server(url, layer, a.workers))
            systems["tipg"] = http_fetcher(f"{tu}/collections/public.{layer.source}/tiles/WebMercatorQuad/"
                                           "{z}/{x}/{y}")
        results.update(in_turn(systems, tiles, a.chunk, a.concurrency))
        if low:
            thin = {"ours_thin": http_fetcher(f"{su}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt")}
            if a.baseline_root:
                thin["baseline_thin"] = http_fetcher(f"{sb}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt")
            results["floor_low"] = run(floor_f, low, a.concurrency)
            results.update(in_turn(thin, low, a.chunk, a.concurrency))
            # What the web map asks by default: the last 24 hours (the window prunes partitions).
            day_f = http_fetcher(f"{su}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt?hours=24")
            results["ours_thin_24h"] = run(day_f, low, a.concurrency)
        # Warm: each uvicorn worker has its own cache and the kernel picks the worker, so pass
        # again until (nearly) every answer is a cache hit; the last pass is reported.
        ours = ["ours"] + (["ours_noauth"] if a.auth_overhead else []) + (["baseline"] if a.baseline_root else [])
        for name in ours:
            for _ in range(6):
                HITS[0] = 0
                results[name + "_warm"] = run(systems[name], tiles, a.concurrency)
                results[name + "_warm"]["hits"] = HITS[0] / len(tiles)
                if results[name + "_warm"]["hits"] >= 0.99:
                    break
        if len(ours) > 1:  # the warm passes again, in turn (the ones above also filled the caches)
            warm: dict[str, list[dict]] = {k: [] for k in ours}
            for i in range(4):
                for name in (list(warm) if i % 2 == 0 else list(reversed(warm))):
                    warm[name].append(run(systems[name], tiles, a.concurrency))
            for name, v in warm.items():
                results[name + "_warm"] = {**merge(v), "hits": results[name + "_warm"]["hits"]}

    tipg = results.get("tipg")
    fl = results["floor"]
    print(f"\n{'system':<34} {'tiles/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'avg KB':>8} {'tiles':>6} {'err':>4}")
    print(row("raw ST_AsMVT SQL floor (psycopg)", fl))
    if tipg:
        print(row(f"tipg {__import__('tipg').__version__}", tipg, None, fl))
    print(row("our SQL via psycopg, no HTTP", results["our_sql"], tipg, fl))
    print(row("ours, cold (thin=false)", results["ours"], tipg, fl))
    print(row(f"ours, warm ({100 * results['ours_warm']['hits']:.0f}% cache hits)", results["ours_warm"], tipg, fl))
    if a.auth_overhead:
        na = results["ours_noauth"]
        print(row("ours without authentication, cold", na, tipg, fl))
        print(row(f"ours without authentication, warm ({100 * results['ours_noauth_warm']['hits']:.0f}% hits)",
                  results["ours_noauth_warm"], tipg, fl))
        for label, on, off in (("cold", results["ours"], na), ("warm", results["ours_warm"], results["ours_noauth_warm"])):
            r = on["rate"] / off["rate"]
            print(f"authentication, {label}: tiles/s {100 * r:.1f}% of the same server without it "
                  f"(p99 {on['p99'] / off['p99']:.2f}x); target >= 95% {'met' if r >= 0.95 else 'NOT met'}")
    if a.baseline_root:
        b = results["baseline"]
        print(row(f"baseline ({a.baseline_root.name}), cold", b, tipg, fl))
        print(row(f"baseline, warm ({100 * results['baseline_warm']['hits']:.0f}% cache hits)",
                  results["baseline_warm"], tipg, fl))
    if low:
        print(f"\nlow zooms (< {layer.thin_below_zoom}): {len(low)} tiles")
        print(row("raw SQL floor, unthinned", results["floor_low"]))
        print(row("ours, thinned (default), cold", results["ours_thin"], None, None))
        if a.baseline_root:
            print(row("baseline, thinned (default), cold", results["baseline_thin"], None, None))
        print(row("ours, thinned, hours=24, cold", results["ours_thin_24h"], None, None))
    if a.baseline_root:
        def vs(k: str) -> str:  # tiles/s of this tree over the baseline's
            return f"{results[k]['rate'] / results['baseline' + k[4:]]['rate']:.2f}" if k in results else "n/a"
        print(f"\nthis tree vs baseline: cold {vs('ours')}, warm {vs('ours_warm')}, thinned {vs('ours_thin')}")
    if tipg:
        ok2 = results["ours"]["rate"] >= 2 * tipg["rate"]
        ok80 = results["ours"]["rate"] >= 0.8 * fl["rate"]
        print(f"\ntargets (cold): >= 2x tipg: {'met' if ok2 else 'NOT met'} "
              f"({results['ours']['rate'] / tipg['rate']:.2f}x); >= 80% of floor: {'met' if ok80 else 'NOT met'} "
              f"({100 * results['ours']['rate'] / fl['rate']:.0f}%)")


if __name__ == "__main__":
    main()
