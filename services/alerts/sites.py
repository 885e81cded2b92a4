"""Sites: the places the agency watches (schools, hospitals, stations...), targets of "within N m of"
rules (the built-in "Gunshot near a school" reads kind 'school'). Loaded as GeoJSON points; the
`sites` catalog layer shows them."""
from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from services import audit, auth, db
from services.errors import Unprocessable
from services.ingest.pipeline import notify
from services.ingest.routes import read_body
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["alerts"])


def parse_feature(f, area) -> tuple:
    """(name, kind, address, lon, lat) of one GeoJSON Point feature, or ValueError with the reason."""
    if not isinstance(f, dict) or f.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    g = f.get("geometry") or {}
    if g.get("type") != "Point":
        raise ValueError(f"a site is a Point, not {g.get('type') or 'an empty geometry'}")
    try:
        lon, lat = (float(v) for v in g["coordinates"][:2])
    except (TypeError, ValueError, KeyError):
        raise ValueError("coordinates are not [lon, lat] numbers") from None
    if not (area[0] <= lon <= area[2] and area[1] <= lat <= area[3]):
        raise ValueError(f"({lon}, {lat}) is outside the service area")
    p = f.get("properties") or {}
    name = str(p.get("name") or "").strip()
    if not name or len(name) > 200:
        raise ValueError("a site needs a name (at most 200 characters)")
    kind = str(p.get("kind") or "school").strip().lower()[:50]
    return name, kind, (str(p["address"])[:300] if p.get("address") else None), lon, lat


@router.post("/sites", summary="Load sites (GeoJSON FeatureCollection of Points: name, kind, address)",
             description="`mode=append` (default) adds; `replace` first removes the sites of the kinds loaded. "
                         "Bad features are listed under `rejected` with their reason; the rest load.")
async def post_sites(request: Request, mode: Literal["append", "replace"] = "append",
                     _: auth.Principal = Depends(auth.require("rules:write"))) -> dict:
    body = await read_body(request, 50 * 1024 * 1024)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise Unprocessable(f"the body is not JSON: {e}") from None
    feats = doc.get("features") if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" else None
    if not isinstance(feats, list):
        raise Unprocessable("send a GeoJSON FeatureCollection of Point features")
    area, good, rejected = get_settings().service_area, [], []
    for i, f in enumerate(feats):
        try:
            good.append(parse_feature(f, area))
        except ValueError as e:
            rejected.append({"row": i, "reason": str(e)})

    def run():
        with db.pool().connection() as conn, conn.transaction():
            if mode == "replace":
                conn.execute("DELETE FROM sites WHERE kind = ANY(%s)", (sorted({g[1] for g in good}),))
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO sites (name, kind, address, geom) "
                                "VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))", good)
            notify(conn, {"type": "layers", "layers": ["sites"]})
            audit.record(conn, request, "sites.load", "api/sites", {"mode": mode, "loaded": len(good)})
            return conn.execute("SELECT count(*) FROM sites").fetchone()[0]
    total = await run_in_threadpool(run)
    return {"loaded": len(good), "rejected": rejected, "total": total}
