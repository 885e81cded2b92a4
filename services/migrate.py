"""Plain-SQL migrations from sql/, applied in file-name order and recorded in schema_migrations."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import psycopg

from services.settings import ROOT

SQL_DIR = ROOT / "sql"
log = logging.getLogger("rtcc.migrate")


def migration_files() -> list[Path]:
    return sorted(p for p in SQL_DIR.glob("*.sql") if p.name[:3].isdigit())


def apply(conn: psycopg.Connection) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied. Safe to run concurrently."""
    applied: list[str] = []
    conn.autocommit = True
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute("SELECT pg_advisory_lock(7419001)")
    try:
        done = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
        for path in migration_files():
            if path.name in done:
                if done[path.name] != hashlib.sha256(path.read_bytes()).hexdigest():
                    # An applied migration is never re-run; a changed file needs a new migration.
                    log.warning("migration %s changed after it was applied to this database", path.name)
                continue
            sql = path.read_text()
            with conn.transaction():
                conn.execute(sql)
                conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                    (path.name, hashlib.sha256(sql.encode()).hexdigest()),
                )
            applied.append(path.name)
    finally:
        conn.execute("SELECT pg_advisory_unlock(7419001)")
    return applied
