"""Every read of ALPR data leaves a row in audit_log: who, what, when, stated purpose."""
import mapbox_vector_tile


def _count(conn, action):
    return conn.execute("SELECT count(*) FROM audit_log WHERE action = %s", (action,)).fetchone()[0]


def test_alpr_tiles_are_audited_other_layers_are_not(client, conn):
    before = _count(conn, "tiles.read")
    h = {"X-RTCC-User": "det.smith", "X-RTCC-Purpose": "case 25-000123"}
    r = client.get("/tiles/alpr_reads/14/4676/6268.mvt", headers=h)
    assert r.status_code == 200
    mapbox_vector_tile.decode(r.content)
    assert client.get("/tiles/alpr_reads/14/4676/6268.mvt", headers=h).status_code == 200  # cached: still audited
    assert client.get("/tiles/cad_incidents/14/4676/6268.mvt", headers=h).status_code == 200
    assert _count(conn, "tiles.read") - before == 2
    who, purpose, resource = conn.execute("SELECT who, purpose, resource FROM audit_log WHERE action = 'tiles.read' "
                                          "ORDER BY id DESC LIMIT 1").fetchone()
    assert (who, purpose, resource) == ("det.smith", "case 25-000123", "tiles/alpr_reads/14/4676/6268")


def test_alpr_features_are_audited(client, conn):
    before = conn.execute("SELECT count(*) FROM audit_log WHERE resource = 'collections/alpr_reads'").fetchone()[0]
    r = client.get("/ogc/collections/alpr_reads/items?f=json&limit=5", headers={"X-RTCC-User": "gis1"})
    assert r.status_code == 200
    after = conn.execute("SELECT count(*) FROM audit_log WHERE resource = 'collections/alpr_reads'").fetchone()[0]
    assert after == before + 1
