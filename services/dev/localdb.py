"""The project-local PostGIS cluster: initdb into .local/pg, listen on 127.0.0.1:RTCC_PG_PORT.

Used only when DATABASE_URL is unset. PostgreSQL refuses to run as root, so as root the
cluster is owned and run by the system `postgres` user (Debian's packages create it).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from services.settings import get_settings


def _bindir() -> Path:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(cand, "initdb").exists():
            return Path(cand)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql-15-postgis-3")


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str]) -> None:
    subprocess.run(_as_owner(cmd), check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def data_dir() -> Path:
    """RTCC_PG_DIR, unless the postgres user cannot reach it (a clone under a private folder):
    then a per-checkout folder under /var/tmp."""
    s = get_settings()
    pgdir = Path(s.pg_dir)
    if os.geteuid() != 0:
        return pgdir
    probe = pgdir.parent
    while not probe.exists():
        probe = probe.parent
    ok = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(probe)]).returncode == 0
    if ok:
        return pgdir
    import hashlib
    return Path("/var/tmp") / f"rtcc-pg-{hashlib.sha1(str(pgdir).encode()).hexdigest()[:10]}" / "pg"


def is_running() -> bool:
    s = get_settings()
    try:
        with psycopg.connect(f"postgresql://rtcc@127.0.0.1:{s.pg_port}/postgres", connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def up() -> str:
    """Create (first time) and start the local cluster; idempotent. Returns a one-line status."""
    s = get_settings()
    pgdir = data_dir()
    if is_running():
        ensure_database()
        return f"local PostGIS already running on 127.0.0.1:{s.pg_port}"
    bindir = _bindir()
    pgdir.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(pgdir.parent, 0o755)
    owner = "postgres" if os.geteuid() == 0 else None
    if not (pgdir / "PG_VERSION").exists():
        pgdir.mkdir(parents=True, exist_ok=True)
        if owner:
            pw = pwd.getpwnam(owner)
            os.chown(pgdir, pw.pw_uid, pw.pw_gid)
        os.chmod(pgdir, 0o700)
        _run([str(bindir / "initdb"), "-D", str(pgdir), "-U", "rtcc", "--auth=trust",
              "--encoding=UTF8", "--locale=C.UTF-8"])
        with open(pgdir / "postgresql.conf", "a") as f:
            # A development/demo cluster on a 2-core, 24 GiB machine.
            f.write(
                "\n# rtcc local cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {s.pg_port}\n"
                f"unix_socket_directories = '{pgdir}'\n"
                "max_connections = 200\n"
                "shared_buffers = 1GB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 512MB\n"
                "synchronous_commit = off\n"
                "max_wal_size = 4GB\n"
                "jit = off\n"
            )
    log = pgdir.parent / "pg.log"
    if owner and not log.exists():
        log.touch()
        pw = pwd.getpwnam(owner)
        os.chown(log, pw.pw_uid, pw.pw_gid)
    _run([str(bindir / "pg_ctl"), "-D", str(pgdir), "-l", str(log), "-w", "-t", "60", "start"])
    for _ in range(60):
        if is_running():
            break
        time.sleep(0.5)
    ensure_database()
    return f"local PostGIS started on 127.0.0.1:{s.pg_port} (data in {pgdir})"


def down() -> str:
    s = get_settings()
    pgdir = data_dir()
    if not (pgdir / "PG_VERSION").exists() or not is_running():
        return "local PostGIS not running"
    _run([str(_bindir() / "pg_ctl"), "-D", str(pgdir), "-m", "fast", "-w", "stop"])
    return "local PostGIS stopped"


def ensure_database(name: str | None = None) -> None:
    s = get_settings()
    name = name or s.pg_dbname
    with psycopg.connect(f"postgresql://rtcc@127.0.0.1:{s.pg_port}/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')
