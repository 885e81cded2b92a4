"""POST /api/events/{id}/location: an analyst places an event its feed could not locate.

Events whose address the geocoder could not place are kept without a position (loc_method
'failed') and listed in the non-spatial OGC collection `unlocated_events`. Placing the pin gives
the event its position, H3 cells, district and beat, marks it 'placed' (by whom, when, why in
attrs.placed), writes an audit row, and flushes the tiles it now appears in.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from geo import h3cells
from layers.catalog import CATALOG
from services import audit, auth, db
from services.errors import Conflict, NotFound, Unprocessable
from services.ingest.feeds import in_service_area
from services.bus import publish
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["events"])

# failed: the geocoder could not place it; none: it came without a location (tips); placed: by an analyst.
PLACEABLE = ("failed", "none", "placed")  # a position the feed gave (given, camera, geocoded) is never moved


class Placement(BaseModel):
    lon: float = Field(ge=-180, le=180, description="Longitude (WGS 84 degrees)")
    lat: float = Field(ge=-90, le=90, description="Latitude (WGS 84 degrees)")
    note: str | None = Field(None, max_length=500, description="Why here (kept with the event)")


PLACE_SQL = """
UPDATE events e SET geom = p.geom, loc_method = 'placed', loc_score = 1,
       h3_r7 = %(r7)s, h3_r8 = %(r8)s, h3_r9 = %(r9)s, h3_r10 = %(r10)s,
       district = (SELECT name FROM district_parts d WHERE ST_Intersects(d.geom, p.geom) LIMIT 1),
       beat = (SELECT id FROM beat_parts b WHERE ST_Intersects(b.geom, p.geom) LIMIT 1),
       attrs = e.attrs || jsonb_build_object('placed', jsonb_build_object('by', %(by)s::text, 'at', now(),
                                                                          'note', %(note)s::text))
FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom) p
WHERE e.id = %(id)s AND e.observed_at = %(at)s
"""


@router.post("/events/{event_id}/location", summary="Place an event that has no position (analyst's pin)",
             responses={409: {"description": "the event's position came from its feed and is not moved"}})
def place(request: Request, body: Placement, event_id: int = Path(ge=1, le=2**63 - 1),
          who: auth.Principal = Depends(auth.require("events:locate"))) -> dict:
    if not in_service_area(body.lon, body.lat):
        raise Unprocessable(f"position (lon {body.lon:g}, lat {body.lat:g}) is outside the service area")
    cells = h3cells.cells(body.lat, body.lon, get_settings().h3_resolutions)
    r = dict(zip(("r7", "r8", "r9", "r10"), (cells + [None] * 4)[:4]))
    with db.pool().connection() as conn, conn.transaction():
        row = conn.execute("SELECT e.observed_at, e.kind, e.loc_method FROM event_keys k "
                           "JOIN events e ON e.id = k.id AND e.observed_at = k.observed_at "
                           "WHERE k.id = %s FOR UPDATE OF e", (event_id,)).fetchone()
        if row is None:
            raise NotFound(f"no event {event_id}")
        at, kind, method = row
        if method not in PLACEABLE:
            raise Conflict(f"event {event_id} was located by its feed ({method}): only events without a "
                           "position (or placed by an analyst) can be placed")
        for c in cells:
            conn.execute("INSERT INTO h3_cells (cell, res, geom) VALUES (%s, %s, ST_SetSRID(%s::geometry, 4326)) "
                         "ON CONFLICT (cell) DO NOTHING", (c, h3cells.resolution(c), h3cells.boundary(c).wkb_hex))
        conn.execute(PLACE_SQL, {**r, "by": who.name, "note": body.note, "lon": body.lon, "lat": body.lat,
                                 "id": event_id, "at": at})
        audit.record(conn, request, "events.locate", f"events/{event_id}",
                     {"lon": body.lon, "lat": body.lat, "previous": method, "note": body.note})
        layers = [layer.id for layer in CATALOG if layer.event_kind == kind or layer.aggregate == "h3"]
        publish(conn, "layers", {"layers": layers, "bbox": [body.lon, body.lat, body.lon, body.lat]})
        out = conn.execute("SELECT id, kind, feed_id, loc_method, ST_X(geom), ST_Y(geom), district, beat "
                           "FROM events WHERE id = %s AND observed_at = %s", (event_id, at)).fetchone()
    return dict(zip(("id", "kind", "feed_id", "loc_method", "lon", "lat", "district", "beat"), out))
