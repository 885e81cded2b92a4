"""GET/POST /api/geocode and GET /api/reverse: the HTTP face of geo.geocode (same functions as ingest)."""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query

from geo import geocode as geocoder
from services import auth, db
from services.errors import BadRequest, Unprocessable

router = APIRouter(prefix="/api", tags=["geocode"], dependencies=[Depends(auth.require("events:read"))])

MAX_BATCH = 10_000  # addresses per POST; larger batches should be split by the caller


@router.get("/geocode", summary="Candidates for one address, intersection or block, best first",
            description="An empty list when nothing scores at least `min_score` (default: the "
                        f"no-match threshold {geocoder.THRESHOLD}).")
def geocode_one(q: str = Query("", description="e.g. '1500 blk W North Av' or 'N Charles St & E 25th St'"),
                limit: int = Query(5, ge=1, le=50),
                min_score: float = Query(geocoder.THRESHOLD, ge=0.0, le=1.0)) -> list[dict]:
    if not q.strip():
        raise BadRequest("q must be a non-empty address, block or intersection")
    with db.pool().connection() as conn:
        return [r.as_dict() for r in geocoder.geocode(conn, q, limit=limit, min_score=min_score)]


@router.post("/geocode", summary="Best match for each address of a batch (no-match entries carry a reason)")
def geocode_batch(addresses: list[str] = Body(..., description="JSON array of address strings",
                                              examples=[["600 N LUZERNE AV", "N CHARLES ST & E 25TH ST"]])
                  ) -> list[dict]:
    if len(addresses) > MAX_BATCH:
        raise Unprocessable(f"batch of {len(addresses)} exceeds {MAX_BATCH} addresses: split it")
    with db.pool().connection() as conn:
        return [r.as_dict() for r in geocoder.geocode_many(conn, addresses)]


@router.get("/reverse", summary="Nearest address point or house number on the nearest block face")
def reverse(lon: float = Query(..., ge=-180, le=180), lat: float = Query(..., ge=-90, le=90),
            max_m: float = Query(200.0, gt=0, le=2000, description="search radius in metres")) -> dict:
    with db.pool().connection() as conn:
        r = geocoder.reverse(conn, lon, lat, max_m=max_m)
    return r.as_dict()
