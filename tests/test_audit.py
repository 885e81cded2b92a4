"""Every read of ALPR data needs a stated reason and case number and leaves exactly one audit row
naming the authenticated caller; the log is append-only and hash-chained (`rtcc audit verify`)."""
import subprocess
import sys

import mapbox_vector_tile
import psycopg
import pytest

from tests.conftest import PURPOSE, ROOT, auth_headers

TILE = "/tiles/alpr_reads/14/4676/6268.mvt"


def _count(conn, action):
    return conn.execute("SELECT count(*) FROM audit_log WHERE action = %s", (action,)).fetchone()[0]


def test_alpr_tiles_need_a_purpose_and_are_audited_other_layers_are_not(client, conn):
    before = _count(conn, "tiles.read")
    r = client.get(TILE)
    assert r.status_code == 403 and "reason" in r.json()["detail"] and "case" in r.json()["detail"]
    assert client.get(TILE, params={"reason": "hit follow-up"}).status_code == 403  # a reason alone is not enough
    h = {"X-RTCC-Reason": "stolen vehicle follow-up", "X-RTCC-Case-Number": "25-000123",
         "X-RTCC-User": "someone-else"}  # a free-form user header is ignored
    r = client.get(TILE, headers=h)
    assert r.status_code == 200
    mapbox_vector_tile.decode(r.content)
    assert client.get(TILE, headers=h).status_code == 200  # cached: still audited
    assert client.get("/tiles/cad_incidents/14/4676/6268.mvt", headers=h).status_code == 200
    assert _count(conn, "tiles.read") - before == 2
    row = conn.execute("SELECT who, role, reason, case_number, resource, client, detail FROM audit_log "
                       "WHERE action = 'tiles.read' ORDER BY id DESC LIMIT 1").fetchone()
    assert row[:5] == ("test-admin", "admin", "stolen vehicle follow-up", "25-000123", f"tiles/alpr_reads/14/4676/6268")
    assert row[5] and row[6]["layer"] == "alpr_reads"


def test_roles_without_alpr_read_get_403_even_with_a_purpose(client_as):
    for role in ("viewer", "gis", "cad"):
        r = client_as(role).get(TILE, headers=PURPOSE)
        assert r.status_code == 403, (role, r.text)


def test_alpr_features_are_audited_once_per_read(client_as, conn):
    before = conn.execute("SELECT count(*) FROM audit_log WHERE resource = 'collections/alpr_reads'").fetchone()[0]
    r = client_as("analyst").get("/ogc/collections/alpr_reads/items?f=json&limit=5", headers=PURPOSE)
    assert r.status_code == 200
    rows = conn.execute("SELECT who, role, reason, case_number FROM audit_log WHERE resource = 'collections/alpr_reads' "
                        "AND id > (SELECT coalesce(max(id), 0) - 5 FROM audit_log) ORDER BY id DESC").fetchall()
    after = conn.execute("SELECT count(*) FROM audit_log WHERE resource = 'collections/alpr_reads'").fetchone()[0]
    assert after == before + 1
    assert rows[0] == ("test-analyst", "analyst", "test suite", "TEST-0001")


def test_audit_log_refuses_update_and_delete_as_app_and_owner(conn, database_url):
    from services.settings import database_url as app_url
    conn.execute("INSERT INTO audit_log (who, action, resource) VALUES ('t', 'test.row', 'x')")
    for sql in ("UPDATE audit_log SET who = 'x' WHERE action = 'test.row'",
                "DELETE FROM audit_log WHERE action = 'test.row'", "TRUNCATE audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql)
        with psycopg.connect(app_url(), autocommit=True) as app:  # the server's own role
            assert app.execute("SELECT current_user").fetchone()[0] == "rtcc_app"
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(sql)


def _verify(url: str) -> subprocess.CompletedProcess:
    import os
    env = dict(os.environ, DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "services.cli", "audit", "verify"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_chain_is_intact_and_verify_detects_a_row_altered_by_hand(empty_database):
    from services import audit, migrate
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)
        for i in range(5):
            audit.write(c, f"user{i}", "analyst", "test.read", f"r/{i}", {"n": i})
        ok = _verify(empty_database)
        assert ok.returncode == 0 and "intact: 5 rows" in ok.stdout, ok.stdout + ok.stderr
        # someone with the owner's rights disables the trigger and rewrites a row
        c.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        c.execute("UPDATE audit_log SET who = 'nobody' WHERE seq = 3")
        bad = _verify(empty_database)
        assert bad.returncode == 1 and "row 3" in bad.stderr and "altered" in bad.stderr, bad.stderr
        c.execute("UPDATE audit_log SET who = 'user2' WHERE seq = 3")  # put back: intact again
        assert _verify(empty_database).returncode == 0
        c.execute("DELETE FROM audit_log WHERE seq = 5")  # the newest row removed
        gone = _verify(empty_database)
        assert gone.returncode == 1 and "removed" in gone.stderr, gone.stderr


def test_concurrent_writers_keep_one_chain(empty_database):
    import threading

    from services import audit, migrate
    with psycopg.connect(empty_database, autocommit=True) as c:
        migrate.apply(c)

    def writer(k):
        with psycopg.connect(empty_database, autocommit=True) as w:
            for i in range(25):
                audit.write(w, f"w{k}", None, "test.concurrent", f"{k}/{i}")
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with psycopg.connect(empty_database, autocommit=True) as c:
        r = audit.verify(c)
    assert r["ok"] and r["checked"] == 100, r


def test_anonymous_and_header_identities_are_refused(anon_client):
    r = anon_client.get(TILE, headers={"X-RTCC-User": "det.smith", **PURPOSE})
    assert r.status_code == 401
    assert anon_client.get("/api/audit").status_code == 401
    assert auth_headers(None) == {"Authorization": ""}
