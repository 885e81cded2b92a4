"""The schema from sql/: migrations apply once and may not change; definitions (every function,
view and trigger, each in one file) are re-applied when they change; a database migrated through
the old flat chain of sql/*.sql ends with the same schema as a fresh one."""
import hashlib
import re
import shutil
import subprocess

import psycopg
import pytest

from services import migrate
from services.settings import ROOT

OLD_CHAIN = "f67338d"  # the last commit with every migration, function and view in flat sql/*.sql
# a trigger is named with its table: "trigger geocode_refresh on streets"
CREATES = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|VIEW|TRIGGER)\s+(\w+)(?:\s[^;]*?\sON\s+(\w+))?",
                     re.I | re.M)


def _created(text: str) -> list[str]:
    return [f"{kind} {name}" + (f" on {table}" if kind == "trigger" else "")
            for kind, name, table in ((k.lower(), n.lower(), t.lower()) for k, n, t in CREATES.findall(text))]


def test_apply_to_empty_then_reapply(empty_database):
    migrations = [p.name for p in migrate.migration_files()]
    definitions = [p.name for p in migrate.definition_files()]
    with psycopg.connect(empty_database, autocommit=True) as c:
        assert migrate.apply(c) == (migrations, definitions)
        assert migrate.apply(c) == ([], [])  # recorded: nothing pending, nothing changed
        assert [r[0] for r in c.execute("SELECT version FROM schema_migrations ORDER BY version")] == migrations
        assert [r[0] for r in c.execute("SELECT name FROM schema_definitions ORDER BY name")] == definitions
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
        for p in migrate.migration_files() + migrate.definition_files():
            with c.transaction():
                c.execute(p.read_text())


def test_every_function_view_and_trigger_is_defined_in_exactly_one_definitions_file(empty_database):
    where: dict[str, list[str]] = {}
    for p in migrate.migration_files() + migrate.definition_files():
        for obj in _created(p.read_text()):
            where.setdefault(obj, []).append(f"{p.parent.name}/{p.name}")
    twice = {k: v for k, v in where.items() if len(v) != 1}
    assert not twice, f"defined in more than one file: {twice}"
    in_migrations = {k: v for k, v in where.items() if not v[0].startswith("definitions/")}
    assert not in_migrations, f"functions, views and triggers belong in sql/definitions/: {in_migrations}"
    # and the scan above misses nothing the database ends up with
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
        live = {r[0] for r in c.execute(_OWN_OBJECTS).fetchall()}
    assert live - set(where) == set(), "created by a file but not found by the scan"


_OWN_OBJECTS = """
    SELECT 'function ' || p.proname FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e')
    UNION
    SELECT 'view ' || c.relname FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e')
    UNION
    SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass FROM pg_trigger t WHERE NOT t.tgisinternal
"""


def _schema(url: str) -> dict[str, list]:
    """What the definitions and migrations made, in comparable text (extension objects left out)."""
    q = {
        "functions": """
            SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                              AND d.objid = p.oid AND d.deptype = 'e')
            ORDER BY 1""",
        "views": """
            SELECT c.relname, c.relkind, pg_get_viewdef(c.oid) FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype = 'e')
            ORDER BY 1""",
        "triggers": "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
        "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "columns": """
            SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default
            FROM information_schema.columns WHERE table_schema = 'public'
              AND table_name NOT IN ('schema_migrations', 'schema_definitions')
            ORDER BY 1, 2""",
        "extensions": "SELECT extname FROM pg_extension ORDER BY 1",
        "geocode_words": "SELECT role, word, norm FROM geocode_words ORDER BY 1, 2",
    }
    with psycopg.connect(url) as c:
        return {k: c.execute(sql).fetchall() for k, sql in q.items()}


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.fail(f"this test reads the old migration chain from git history (commit {OLD_CHAIN}); "
                    f"run it in a full clone of the repository: {e}")


def test_database_of_the_old_chain_upgrades_to_the_fresh_schema(empty_database, other_empty_database):
    old_files = sorted(n for n in _git("ls-tree", "--name-only", f"{OLD_CHAIN}:sql").decode().split()
                       if n.endswith(".sql"))
    assert len(old_files) == 27, old_files
    with psycopg.connect(other_empty_database, autocommit=True) as c:
        # what the old migrate.py did: apply each file in order, record its name and checksum
        c.execute("CREATE TABLE schema_migrations ("
                  " version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for name in old_files:
            sql = _git("show", f"{OLD_CHAIN}:sql/{name}")
            with c.transaction():
                c.execute(sql)
                c.execute("INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                          (name, hashlib.sha256(sql).hexdigest()))
        old = _schema(other_empty_database)
        applied = migrate.apply(c)
        assert applied.definitions == [p.name for p in migrate.definition_files()]
        assert "060_legacy_leftovers.sql" in applied.migrations
        assert migrate.apply(c) == ([], [])
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
    upgraded, fresh = _schema(other_empty_database), _schema(empty_database)
    for part in fresh:
        assert upgraded[part] == fresh[part], part
    # every function and view of the old chain is still defined, but those a later migration retired
    retired = {  # migrations/190: unit ETAs moved from pgRouting to the in-memory graph
        "rtcc_nearest_units(geometry,integer,integer,double precision,double precision,double precision,"
        "double precision,double precision)",
        "rtcc_route_seconds(geometry,geometry[],double precision,double precision,double precision)",
        # migrations/210: geocode_range_point gained the calibrated parameter (same name, four now)
        "geocode_range_point(integer,integer,double precision)",
        "rtcc_proximity_enqueue(bigint)"}  # migrations/160: the worker queues from the bus log
    assert {f[0] for f in old["functions"]} - retired <= {f[0] for f in fresh["functions"]}
    assert {v[0] for v in old["views"]} <= {v[0] for v in fresh["views"]}


@pytest.fixture
def sql_copy(tmp_path, monkeypatch):
    """A copy of sql/ that the migrator reads, to edit files without touching the repository."""
    root = tmp_path / "sql"
    shutil.copytree(migrate.SQL_DIR, root)
    monkeypatch.setattr(migrate, "SQL_DIR", root)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", root / "migrations")
    monkeypatch.setattr(migrate, "DEFINITIONS_DIR", root / "definitions")
    return root


def test_editing_an_applied_migration_is_an_error(empty_database, sql_copy):
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
        path = sql_copy / "migrations" / "040_tasks.sql"
        path.write_text(path.read_text() + "CREATE INDEX IF NOT EXISTS tasks_title ON tasks (title);\n")
        with pytest.raises(migrate.MigrationError, match="040_tasks.sql changed after it was applied"):
            migrate.apply(c)
        assert c.execute("SELECT to_regclass('tasks_title')").fetchone()[0] is None


def test_a_changed_definition_is_reapplied_alone(empty_database, sql_copy):
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
        path = sql_copy / "definitions" / "50_hexbins.sql"
        path.write_text(path.read_text().replace("WHEN 7 THEN 2.9", "WHEN 7 THEN 3.1"))
        assert migrate.apply(c) == ([], ["50_hexbins.sql"])
        assert "WHEN 7 THEN 3.1" in c.execute(
            "SELECT pg_get_functiondef('rtcc_h3_margin_deg'::regproc)").fetchone()[0]
        assert migrate.apply(c) == ([], [])


def test_a_new_migration_redefines_what_it_dropped(empty_database, sql_copy):
    """A migration may drop a view to change its table; the definitions bring the view back."""
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
        (sql_copy / "migrations" / "999_tasks_title.sql").write_text(
            "DROP VIEW task_locations;\nALTER TABLE tasks ALTER COLUMN title TYPE varchar(200);\n")
        applied = migrate.apply(c)
        assert applied.migrations == ["999_tasks_title.sql"]
        assert applied.definitions == [p.name for p in migrate.definition_files()]
        assert c.execute("SELECT to_regclass('task_locations')").fetchone()[0] is not None


def test_sql_files_outside_the_two_folders_are_refused(empty_database, sql_copy):
    (sql_copy / "150_alerts.sql").write_text("CREATE TABLE alerts (id int);\n")
    with psycopg.connect(empty_database, autocommit=True) as c:
        with pytest.raises(migrate.MigrationError, match="150_alerts.sql"):
            migrate.apply(c)
