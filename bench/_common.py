"""Helpers shared by the benchmark scripts: a scratch database and a server process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def admin_url() -> str:
    from services.settings import get_settings
    s = get_settings()
    if os.environ.get("DATABASE_URL"):
        return psycopg.conninfo.make_conninfo(os.environ["DATABASE_URL"], dbname="postgres")
    from services.dev import localdb
    localdb.up()
    return f"postgresql://rtcc@127.0.0.1:{s.pg_port}/postgres"


def scratch_db(name: str, reference: bool = True) -> str:
    """A fresh database `name` with the schema (and the demo city's reference layers)."""
    admin = admin_url()
    with psycopg.connect(admin, autocommit=True) as a:
        a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        a.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin, dbname=name)
    from services import migrate
    from services.dev import demo
    with psycopg.connect(url, autocommit=True) as c:
        migrate.apply(c)
        if reference:
            demo.load_reference(c)
            demo.refresh_lookups(c)
            from services.ingest.pipeline import ingest_rows
            ingest_rows(c, "camera", demo.camera_rows(), origin="bench")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Every request of a benchmark is authenticated as it would be in production: an admin API key made
# for the run (services/auth), and the purpose plate data needs (each ALPR read is audited).
HEADERS: dict[str, str] = {}
_SERVERS: set[str] = set()


def _identity(database_url: str) -> None:
    import psycopg
    from services.auth import keys
    with psycopg.connect(database_url, autocommit=True) as c:
        key = keys.create_key(c, "bench", "admin", created_by="bench")[1]
    HEADERS.update({"Authorization": f"Bearer {key}", "X-RTCC-Reason": "benchmark", "X-RTCC-Case-Number": "BENCH-1"})
    send = httpx.Client.send
    if getattr(send, "_bench", False):
        return

    def authed(self, request, **kw):  # httpx calls of the scripts to our server carry HEADERS
        if request.url.netloc.decode() in _SERVERS:
            for k, v in HEADERS.items():
                request.headers.setdefault(k, v)
        return send(self, request, **kw)
    authed._bench = True  # type: ignore[attr-defined]
    httpx.Client.send = authed


@contextmanager
def server(database_url: str, workers: int = 1, auth: bool = True, root: Path = ROOT):
    """Our app in its own uvicorn process, as deployed (auth=False: without its front door, the
    baseline of `--auth-overhead`, see bench/_noauth.py). `root`: the checkout whose code is served
    (its cwd comes first on sys.path, ahead of the venv's editable install), e.g. a worktree of main
    as the baseline of `bench/tiles.py --baseline-root`."""
    port = free_port()
    _identity(database_url)
    _SERVERS.add(f"127.0.0.1:{port}")
    env = dict(os.environ, DATABASE_URL=database_url)
    factory = "services.app:create_app" if auth else "bench._noauth:create_app"
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", factory, "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning", "--no-access-log"], cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Client:
    """A minimal HTTP/1.1 keep-alive client (raw socket): the load generator must cost less than the server."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def get(self, path: str) -> tuple[int, bytes]:
        extra = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (ln.partition(b":") for ln in lines[1:]) if k.lower() == b"content-length")
        while len(rest) < length:
            rest += self._recv()
        body, self.buf = rest[:length], rest[length:]
        return status, body

    def _recv(self) -> bytes:
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("server closed the connection")
        return d

    def close(self) -> None:
        self.sock.close()


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
