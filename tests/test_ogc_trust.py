"""OGC answers a GIS client can trust (issue 12): spatial collections hold only located features,
numberMatched is exact (resulttype=hits too) or absent, and what the documents promise is served."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from layers.catalog import CATALOG
from tests.conftest import PURPOSE

SPATIAL = [layer.id for layer in CATALOG if layer.geometry_type]


def unlocated_incident(client) -> str:
    """A CAD incident whose address cannot be geocoded: stored with no geometry."""
    fid = f"nowhere-{uuid.uuid4().hex[:8]}"
    t = (datetime.now(timezone.utc) - timedelta(minutes=3)).isoformat()
    r = client.post("/api/ingest/cad", json=[{"id": fid, "observed_at": t, "address": "99999 NOWHERE XQZ"}])
    assert r.json()["accepted"] == 1 and r.json()["warnings"], r.text
    return fid


@pytest.mark.parametrize("coll", SPATIAL)
def test_no_feature_without_a_geometry_in_a_spatial_collection(client, coll):
    page = client.get(f"/ogc/collections/{coll}/items", params={"f": "json", "limit": 10000},
                      headers=PURPOSE).json()  # plate layers need a stated purpose
    assert all(f["geometry"] is not None for f in page["features"]), coll


def test_an_unlocated_incident_is_not_served_as_a_feature(client, conn):
    fid = unlocated_incident(client)
    eid = conn.execute("SELECT id FROM events WHERE feed_id = %s", (fid,)).fetchone()[0]
    assert client.get(f"/ogc/collections/cad_incidents/items/{eid}", params={"f": "json"}).status_code == 404
    got = client.get("/ogc/collections/cad_incidents/items",
                     params={"f": "json", "filter": f"feed_id = '{fid}'"}).json()
    assert got["features"] == []


@pytest.mark.parametrize("coll", ["cad_incidents", "calls", "event_hexbins", "cameras"])
def test_number_matched_is_exact_or_absent(client, conn, coll):
    src = next(layer.source for layer in CATALOG if layer.id == coll)
    exact = conn.execute(f'SELECT count(*) FROM "{src}" WHERE geom IS NOT NULL').fetchone()[0]
    hits = client.get(f"/ogc/collections/{coll}/items", params={"f": "json", "resulttype": "hits"}).json()
    assert hits["numberMatched"] == exact
    gdal = client.get(f"/ogc/collections/{coll}/items", params={"f": "json", "resultType": "hits"}).json()
    assert gdal["numberMatched"] == exact
    page = client.get(f"/ogc/collections/{coll}/items", params={"f": "json", "limit": 10000}).json()
    assert page.get("numberMatched", exact) == exact
    if exact <= 10000:
        assert page["numberReturned"] == exact
