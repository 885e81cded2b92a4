"""The database schema from sql/, in two kinds of files.

- sql/migrations/NNN_name.sql: schema changes (tables, indexes, partitions, data fixes, the DROP a
  function's signature change needs). Applied once each, in file-name order, and recorded with
  their checksum in schema_migrations. Append-only: a migration changed after it was applied is an
  error, since the change would never reach that database; write a new migration instead.
- sql/definitions/NN_topic.sql: every function, view and trigger, each in exactly one file,
  written with CREATE OR REPLACE so the file can run again. A file is re-applied whenever its
  checksum differs from the one recorded in schema_definitions, and every file is re-applied after
  a migration ran (a migration may drop or alter what they define). Files run in file-name order,
  so a file may use what an earlier one defines. A migration never calls a defined function: on a
  fresh database the definitions are applied after all migrations.

Databases migrated before this split recorded other checksums for the same migration names;
those are accepted (services/migrate_baseline.py).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import NamedTuple

import psycopg

from services.migrate_baseline import LEGACY_CHECKSUMS
from services.settings import ROOT

SQL_DIR = ROOT / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
DEFINITIONS_DIR = SQL_DIR / "definitions"
LOCK = 7419001  # advisory lock: one migrator at a time per database
log = logging.getLogger("rtcc.migrate")


class MigrationError(RuntimeError):
    """The SQL files and the database disagree in a way only a person can resolve."""


class Applied(NamedTuple):
    migrations: list[str]
    definitions: list[str]


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_layout() -> None:
    stray = sorted(p.name for p in SQL_DIR.glob("*.sql"))
    if stray:
        raise MigrationError(
            f"SQL files directly in sql/ are not applied: {', '.join(stray)}. Move schema changes to "
            "sql/migrations/ (numbered, append-only) and functions/views to sql/definitions/ (see README).")
    unnumbered = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql") if not p.name[:3].isdigit())
    if unnumbered:
        raise MigrationError(f"migrations must start with a 3-digit number: {', '.join(unnumbered)}")


def migration_files() -> list[Path]:
    _check_layout()
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def definition_files() -> list[Path]:
    _check_layout()
    return sorted(DEFINITIONS_DIR.glob("*.sql"))


def apply(conn: psycopg.Connection) -> Applied:
    """Apply pending migrations, then the definitions that changed. Safe to run concurrently."""
    migrations, definitions = migration_files(), definition_files()
    conn.autocommit = True
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_definitions ("
        " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
    try:
        return Applied(_apply_migrations(conn, migrations), _apply_definitions(conn, definitions))
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))


def _apply_migrations(conn: psycopg.Connection, files: list[Path]) -> list[str]:
    done = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    edited = [p.name for p in files if p.name in done and done[p.name] != _checksum(p)
              and done[p.name] not in LEGACY_CHECKSUMS.get(p.name, ())]
    if edited:
        raise MigrationError(
            f"migration {', '.join(edited)} changed after it was applied to this database; the change "
            "would never reach it. Restore the file and put the change in a new migration "
            "(functions and views belong in sql/definitions/).")
    applied = []
    for path in files:
        if path.name in done:
            continue
        with conn.transaction():
            conn.execute(path.read_bytes())
            conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                         (path.name, _checksum(path)))
            # Recorded in the same transaction: whatever the migration dropped or altered is defined
            # again on this run or, if that fails, on the next one.
            conn.execute("DELETE FROM schema_definitions")
        applied.append(path.name)
        log.info("migration %s applied", path.name)
    return applied


def _apply_definitions(conn: psycopg.Connection, files: list[Path]) -> list[str]:
    done = dict(conn.execute("SELECT name, checksum FROM schema_definitions").fetchall())
    stale = [p for p in files if done.get(p.name) != _checksum(p)]
    with conn.transaction():  # all of them or none: a definition may rely on an earlier file
        for path in stale:
            conn.execute(path.read_bytes())
            conn.execute(
                "INSERT INTO schema_definitions (name, checksum) VALUES (%s, %s) ON CONFLICT (name)"
                " DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()", (path.name, _checksum(path)))
            log.info("definitions %s applied", path.name)
        conn.execute("DELETE FROM schema_definitions WHERE NOT (name = ANY(%s))", ([p.name for p in files],))
    return [p.name for p in stale]
