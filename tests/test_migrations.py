"""Migrations apply to an empty database, are recorded, and re-apply cleanly."""
import psycopg

from services import migrate


def test_apply_to_empty_then_reapply(empty_database):
    files = [p.name for p in migrate.migration_files()]
    with psycopg.connect(empty_database, autocommit=True) as c:
        assert migrate.apply(c) == files
        assert migrate.apply(c) == []  # recorded: nothing pending
        recorded = [r[0] for r in c.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert recorded == files
        for t in ("events", "cameras", "units", "unit_positions", "streets", "addresses", "districts", "beats",
                  "h3_cells", "event_keys", "ingest_batches", "audit_log"):
            assert c.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is not None, t
        # events is partitioned by time
        assert c.execute("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'events'::regclass"
                         ).fetchone()[0] == "r"


def test_sql_files_are_idempotent_when_rerun_raw(empty_database):
    """Each file can be executed again on its own (IF NOT EXISTS / OR REPLACE)."""
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
        for p in migrate.migration_files():
            with c.transaction():
                c.execute(p.read_text())
