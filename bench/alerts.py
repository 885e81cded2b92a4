"""Alerts benchmark (issue 14): ALPR ingest against 100,000 hotlist entries and 50 active rules.

    .venv/bin/python bench/alerts.py [--seconds 20] [--rate 2000] [--hit 0.005]

1. Throughput: POST /api/ingest/alpr as fast as 4 clients can (batches of 500), with every rule off,
   then with the 50 rules on. Target: with rules >= 80% of without.
2. Latency at a sustained --rate reads/s (batches of 200) with the rules on, --hit of the reads on a
   hotlist: POST sent → `event: alert` on /api/live (target p99 < 1 s), and → the Slack receiver
   (a local HTTP server on a `slack` channel; target p99 < 2 s). Measured from the moment the POST
   is sent, so the figures include the batch's own ingest time (an upper bound of commit → alert).
Runs in its own scratch database (rtcc_bench_alerts), never the demo one.
"""
from __future__ import annotations

import argparse
import json
import random
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psycopg

from _common import free_port, pct, scratch_db, server  # noqa: E402  (bench/ on sys.path when run as a script)

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
BOX = (-76.70, 39.21, -76.53, 39.36)
SENDERS = 4  # concurrent clients of the paced run


def rand_plate(rnd: random.Random, prefix: str = "") -> str:
    return prefix + "".join(rnd.choice(LETTERS) for _ in range(7 - len(prefix)))


def setup(url: str, rnd: random.Random) -> None:
    """100,000 hotlist entries in 5 lists, 5 geofences, 20 schools and 46 rules beside the 4 built-ins."""
    from services.alerts import hotlists
    with psycopg.connect(url, autocommit=True) as c:
        for i in range(5):
            rows = [{"plate": rand_plate(rnd, "Q"), "state": rnd.choice(["MD", "VA", "PA", ""]),
                     "reason": rnd.choice(["stolen vehicle", "stolen plate", "wanted person", "BOLO"])}
                    for _ in range(20_000)]
            hotlists.load(c, f"ncic-{i}", rows)
        for i in range(5):
            x, y = -76.68 + i * 0.03, 39.25 + i * 0.02
            c.execute("""INSERT INTO geofences (name, geom, zone) SELECT %s, g, g FROM
                         (SELECT ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)) g) q""",
                      (f"zone-{i}", x, y, x + 0.02, y + 0.015))
        for i in range(20):
            c.execute("INSERT INTO sites (name, kind, geom) VALUES (%s, 'school', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                      (f"school-{i}", rnd.uniform(BOX[0], BOX[2]), rnd.uniform(BOX[1], BOX[3])))
        c.execute("UPDATE alert_rules SET active = true")
        for i in range(46):
            kind = i % 4
            if kind == 0:   # per-list hotlist rules, some in a zone
                c.execute("INSERT INTO alert_rules (name, kind, kinds, hotlists, any_geofence, priority) VALUES "
                          "(%s, 'hotlist', '{alpr_read}', %s, %s, 2)", (f"bench hot {i}", [f"ncic-{i % 5}"], i % 8 == 0))
            elif kind == 1:  # ALPR reads with a filter inside one zone
                c.execute("INSERT INTO alert_rules (name, kinds, filter, geofence_id, priority) VALUES "
                          "(%s, '{alpr_read}', %s, (SELECT id FROM geofences WHERE name = %s), 3)",
                          (f"bench zone {i}", f"state = 'ZZ' AND confidence < {50 + i}", f"zone-{i % 5}"))
            elif kind == 2:  # a plate pattern anywhere
                c.execute("INSERT INTO alert_rules (name, kinds, filter, priority) VALUES (%s, '{alpr_read}', %s, 3)",
                          (f"bench pattern {i}", f"plate LIKE 'ZZ{i:02d}%'"))
            else:            # other kinds (not in this load)
                c.execute("INSERT INTO alert_rules (name, kinds, filter, near_layer, near_m, priority) VALUES "
                          "(%s, '{gunshot}', %s, 'sites', 200, 1)", (f"bench gunshot {i}", f"rounds >= {i % 5 + 1}"))
        n = c.execute("SELECT count(*) FROM alert_rules WHERE active").fetchone()[0]
        assert n == 50, n


def batch(rnd: random.Random, n: int, hit: float, hot: list[str], tag: str) -> tuple[list[dict], list[str]]:
    now = datetime.now(timezone.utc).isoformat()
    out, hits = [], []
    for i in range(n):
        p = rand_plate(rnd, "R")
        if rnd.random() < hit and hot:
            p = hot.pop()
            hits.append(p)
        out.append({"id": f"{tag}-{i}", "plate": p, "state": "MD", "camera_id": "bench", "observed_at": now,
                    "lon": round(rnd.uniform(BOX[0], BOX[2]), 6), "lat": round(rnd.uniform(BOX[1], BOX[3]), 6),
                    "confidence": 90})
    return out, hits


def throughput(base: str, seconds: float, seed: int) -> float:
    done, failed, stop = [0], [0], time.monotonic() + seconds

    def worker(k: int) -> None:
        rnd = random.Random(seed * 10 + k)
        with httpx.Client(timeout=60) as c:
            j = 0
            while time.monotonic() < stop:
                rows, _ = batch(rnd, 500, 0.0, [], f"t{seed}-{k}-{j}")
                r = c.post(base + "/api/ingest/alpr", json=rows)
                if r.status_code == 200:
                    done[0] += r.json()["accepted"]
                else:  # e.g. a deadlock between concurrent batches (h3_cells): counted, not fatal
                    failed[0] += 1
                j += 1
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    if failed[0]:
        print(f"  ({failed[0]} batches failed)", flush=True)
    return done[0] / (time.monotonic() - t0)


def latency(base: str, url: str, seconds: float, rate: int, hit: float) -> dict:
    sent: dict[str, float] = {}
    live_at: dict[str, float] = {}
    slack_at: dict[str, float] = {}

    class Slack(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            t = time.monotonic()
            for p in list(sent):
                if p in body["text"]:
                    slack_at.setdefault(p, t)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass
    port = free_port()
    srv = ThreadingHTTPServer(("127.0.0.1", port), Slack)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    httpx.post(base + "/api/channels", json={"name": "bench-slack", "kind": "slack",
                                             "url": f"http://127.0.0.1:{port}/hook"}).raise_for_status()
    with psycopg.connect(url, autocommit=True) as c:
        hot = [r[0] for r in c.execute("SELECT plate FROM hotlists WHERE state IN ('', 'MD') ORDER BY random() LIMIT 5000")]
    ready = threading.Event()

    def listen():
        with httpx.Client(timeout=None) as c, c.stream("GET", base + "/api/live?types=alert") as r:
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    ready.set()
                if line.startswith("data: "):
                    d = json.loads(line[6:])
                    p = (d.get("event") or {}).get("plate")
                    if p and d.get("status") == "new":
                        live_at.setdefault(p, time.monotonic())
    threading.Thread(target=listen, daemon=True).start()
    ready.wait(10)
    time.sleep(0.5)
    rnd = random.Random(7)
    per_batch = 200
    interval = per_batch / rate

    def sender(k: int, n_batches: int):
        with httpx.Client(timeout=60) as c:
            nxt = time.monotonic()
            for j in range(n_batches):
                rows, hits = batch(rnd, per_batch, hit, hot, f"l-{k}-{j}")
                now = time.monotonic()
                for p in hits:
                    sent[p] = now
                c.post(base + "/api/ingest/alpr", json=rows)
                nxt += interval * SENDERS  # the senders share the rate
                time.sleep(max(0.0, nxt - time.monotonic()))
    n_batches = int(seconds * rate / per_batch / SENDERS)
    t0 = time.monotonic()
    ts = [threading.Thread(target=sender, args=(k, n_batches)) for k in range(SENDERS)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    achieved = SENDERS * n_batches * per_batch / (time.monotonic() - t0)
    time.sleep(3)
    srv.shutdown()
    d_live = [live_at[p] - t for p, t in sent.items() if p in live_at]
    d_slack = [slack_at[p] - t for p, t in sent.items() if p in slack_at]
    return {"rate": achieved, "hits": len(sent), "live": d_live, "slack": d_slack}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--hit", type=float, default=0.005)
    a = ap.parse_args()
    url = scratch_db("rtcc_bench_alerts")
    rnd = random.Random(1)
    setup(url, rnd)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
    with server(url) as base:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("UPDATE alert_rules SET active = false")
        throughput(base, 3, 0)  # warm-up
        off = throughput(base, a.seconds, 1)
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("UPDATE alert_rules SET active = true")
        on = throughput(base, a.seconds, 2)
        print(f"ALPR ingest, 4 clients x 500 reads/batch: no rules {off:,.0f} reads/s; 50 rules + 100,000 "
              f"hotlist entries {on:,.0f} reads/s = {on / off:.0%}   [target >= 80%]", flush=True)
        r = latency(base, url, a.seconds, a.rate, a.hit)
        print(f"sustained {r['rate']:,.0f} reads/s (asked {a.rate:,}) [target 2,000]; {r['hits']} hotlist hits", flush=True)
        print(f"POST sent -> event: alert on /api/live: {len(r['live'])}/{r['hits']} received, "
              f"p50 {pct(r['live'], 50) * 1000:.0f} ms, p99 {pct(r['live'], 99) * 1000:.0f} ms   [target p99 < 1000 ms]")
        print(f"POST sent -> Slack receiver: {len(r['slack'])}/{r['hits']} received, "
              f"p50 {pct(r['slack'], 50) * 1000:.0f} ms, p99 {pct(r['slack'], 99) * 1000:.0f} ms   [target p99 < 2000 ms]")


if __name__ == "__main__":
    main()
