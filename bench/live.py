"""Live stream benchmark: N SSE clients x R events/s, steady, across a database restart and across a
server kill; prints delivered/sent per client (distinct messages, resumed with Last-Event-ID).

    .venv/bin/python bench/live.py [--clients 150] [--rate 500] [--seconds 20] [--workers 1]
                                   [--scenarios steady,db-restart,server-kill]

Target (issue 12): 150 clients x 500 events/s delivered in full (100% with resume).
Runs in its own scratch database (rtcc_bench_live) on the project-local cluster; the db-restart
scenario restarts that cluster (`pg_ctl restart`), so run it on a cluster of your own (RTCC_PG_PORT).
Clients are raw-socket SSE readers in separate processes (a regex per chunk, no JSON), so the load
generator costs less than the server. Everything is on loopback and every loop is bounded.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import httpx
import psycopg

from _common import HEADERS, ROOT, _identity, free_port, pct, scratch_db  # noqa: E402  (bench/ on sys.path when run as a script)

EVENT_ID = re.compile(rb"id: ([0-9.]+)\nevent: event\n")
ANY_ID = re.compile(rb"id: ([0-9.]+)\n")


# -- the server, killable and restartable on the same port ---------------------------------------------

class Server:
    def __init__(self, url: str, workers: int) -> None:
        self.db_url, self.workers, self.port = url, workers, free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, DATABASE_URL=self.db_url)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "services.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), "--log-level", "error", "--no-access-log"],
            cwd=ROOT, env=env, start_new_session=True)
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """kill -9 of the server and its workers (its own process group)."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


# -- SSE clients (in child processes) -------------------------------------------------------------------

async def _client(port: int, auth: str, seen: set, state: dict, stop_at: list, counts, slot: int) -> None:
    last = None
    while time.monotonic() < stop_at[0]:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        state["connects"] += 1
        head = f"GET /api/live?types=event HTTP/1.0\r\nHost: bench\r\n{auth}"
        if last:
            head += f"Last-Event-ID: {last}\r\n"
        w.write((head + "\r\n").encode())
        tail = b""
        try:
            while time.monotonic() < stop_at[0]:
                try:
                    chunk = await asyncio.wait_for(r.read(262144), 1.0)
                except asyncio.TimeoutError:
                    continue
                if not chunk:
                    break
                data = tail + chunk
                cut = data.rfind(b"\n\n") + 2
                if cut < 2:
                    tail = data
                    continue
                done, tail = data[:cut], data[cut:]
                seen.update(EVENT_ID.findall(done))
                counts[slot] = len(seen)
                ids = ANY_ID.findall(done)
                if ids:
                    last = ids[-1].decode()
                if b"event: resync" in done:
                    state["resyncs"] += 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()
        await asyncio.sleep(0.2)   # the server went away or ended the stream: resume after `last`


def _client_proc(port: int, auth: str, n: int, until: float, ctl_q: mp.Queue, out_q: mp.Queue, counts, first: int) -> None:
    async def main():
        stop_at = [time.monotonic() + until]
        sets = [set() for _ in range(n)]
        states = [{"connects": 0, "resyncs": 0} for _ in range(n)]
        tasks = [asyncio.create_task(_client(port, auth, sets[i], states[i], stop_at, counts, first + i)) for i in range(n)]
        ctl = asyncio.get_running_loop().run_in_executor(None, ctl_q.get)   # seconds left to drain
        while True:
            done, _ = await asyncio.wait([ctl], timeout=0.5)
            if done:
                msg = ctl.result()
                stop_at[0] = min(stop_at[0], time.monotonic() + msg)
                break
        await asyncio.gather(*tasks, return_exceptions=True)
        return [(len(s), st["connects"], st["resyncs"]) for s, st in zip(sets, states)]
    out_q.put(asyncio.run(main()))


# -- the sender ----------------------------------------------------------------------------------------

def send(db_url: str, rate: int, seconds: float, tag: str, fault=None) -> tuple[int, threading.Thread | None]:
    """Ingest `rate` ALPR reads per second for `seconds` in batches of rate/10, retrying a batch through
    a database restart (ingest is idempotent by id); returns events committed."""
    sys.path.insert(0, str(ROOT))
    from services.ingest.pipeline import ingest_rows
    per = max(1, rate // 10)
    rnd = random.Random(1)
    sent, i = 0, 0
    conn = psycopg.connect(db_url, autocommit=True)
    sent += ingest_rows(conn, "alpr", [{"id": f"{tag}-warm", "observed_at": datetime.now(timezone.utc).isoformat(),
                                        "plate": "WARM", "lon": -76.6, "lat": 39.3}],
                        origin="bench").accepted  # imports, caches; the clients get it too: it counts as sent
    t0 = time.monotonic()
    thread = None
    while time.monotonic() - t0 < seconds:
        if fault and thread is None and time.monotonic() - t0 > seconds / 3:
            thread = threading.Thread(target=fault, daemon=True)
            thread.start()
        now = datetime.now(timezone.utc).isoformat()
        rows = [{"id": f"{tag}-{i + k}", "observed_at": now, "plate": f"B{rnd.randrange(10**5):05d}",
                 "lon": rnd.uniform(-76.70, -76.53), "lat": rnd.uniform(39.21, 39.36)} for k in range(per)]
        for _ in range(600):   # at most ~60 s of retries for one batch
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(db_url, autocommit=True)
                sent += ingest_rows(conn, "alpr", rows, origin="bench").accepted
                break
            except psycopg.OperationalError:
                conn = None
                time.sleep(0.1)
        i += per
        delay = t0 + (i / rate) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    if conn is not None:
        conn.close()
    return sent, thread


def restart_cluster() -> None:
    from services.dev import localdb
    from services.settings import get_settings
    pgdir = localdb.data_dir()
    cmd = [str(localdb._bindir() / "pg_ctl"), "-D", str(pgdir), "-m", "fast", "-w", "-t", "60", "restart",
           "-l", str(pgdir.parent / "pg.log")]
    t = time.monotonic()
    subprocess.run(localdb._as_owner(cmd), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"    (database restarted on port {get_settings().pg_port} in {time.monotonic() - t:.1f}s)", flush=True)


def run(db_url: str, name: str, clients: int, rate: int, seconds: float, workers: int) -> None:
    server = Server(db_url, workers)
    server.start()
    procs_n = min(8, max(1, clients // 40))
    per = [clients // procs_n + (1 if i < clients % procs_n else 0) for i in range(procs_n)]
    ctls, outs = [mp.Queue() for _ in per], [mp.Queue() for _ in per]
    auth = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())   # admin key + purpose: ALPR reads are plate data
    counts = mp.Array("i", clients, lock=False)   # distinct events per client, updated live
    firsts = [sum(per[:i]) for i in range(len(per))]
    procs = [mp.Process(target=_client_proc, args=(server.port, auth, n, seconds + 300, c, o, counts, f))
             for n, c, o, f in zip(per, ctls, outs, firsts)]
    for p in procs:
        p.start()
    time.sleep(3)   # clients connected
    fault = None
    if name == "db-restart":
        fault = restart_cluster
    elif name == "server-kill":
        def fault():
            server.kill()
            print("    (server killed with SIGKILL; restarting)", flush=True)
            time.sleep(1.0)
            server.start()
    t0 = time.monotonic()
    sent, fault_thread = send(db_url, rate, seconds, f"{name}-{int(time.time())}", fault)
    elapsed = time.monotonic() - t0
    if fault_thread is not None:
        fault_thread.join(180)
    # let the clients catch up (bounded: 60 s after the server is back), then collect
    end = time.monotonic() + 60
    while time.monotonic() < end and min(counts) < sent:
        time.sleep(0.2)
    drained = time.monotonic() - t0 - elapsed
    for c in ctls:
        c.put(0.0)
    results = []
    for o, p in zip(outs, procs):
        results += o.get(timeout=120)
        p.join(30)
    server.stop()
    got = [r[0] for r in results]
    ratio = [g / sent if sent else 0.0 for g in got]
    full = sum(1 for g in got if g >= sent)
    print(f"{name:12s} {clients} clients x {rate}/s for {seconds:.0f}s, workers={workers}: sent {sent} "
          f"({sent / elapsed:.0f}/s); delivered/sent per client min {min(ratio):.2%} median {pct(ratio, 50):.2%} "
          f"max {max(ratio):.2%}; {full}/{clients} clients got 100%; over 100%: {sum(1 for g in got if g > sent)}; "
          f"connects {sum(r[1] for r in results)}, resyncs {sum(r[2] for r in results)}; "
          f"{sum(got) / elapsed:.0f} messages/s delivered; caught up {drained:.1f}s after the last send",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=150)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--scenarios", default="steady,db-restart,server-kill")
    a = ap.parse_args()
    db_url = scratch_db("rtcc_bench_live", reference=False)
    _identity(db_url)
    for name in a.scenarios.split(","):
        run(db_url, name.strip(), a.clients, a.rate, a.seconds, a.workers)


if __name__ == "__main__":
    main()
