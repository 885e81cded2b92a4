"""GET /api/cases/{case_number}/export?format=gpkg|kml|kmz|pdf|takzip: the case package, in the
forms the detective (QGIS), the prosecutor (PDF, Google Earth) and officers' devices (ATAK) open.
Every export is audited (who, which case, which format, how many events)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from services import auth, db
from services.investigations import cases, common
from services.investigations.export import gpkg, kml, pdf, takzip

router = APIRouter(prefix="/api/cases", tags=["cases"])

EXT = {"gpkg": "gpkg", "kml": "kml", "kmz": "kmz", "pdf": "pdf", "takzip": "zip"}
MEDIA = {"gpkg": gpkg.MEDIA_TYPE, "kml": kml.MEDIA_TYPES["kml"], "kmz": kml.MEDIA_TYPES["kmz"],
         "pdf": pdf.MEDIA_TYPE, "takzip": takzip.MEDIA_TYPE}


def build(request: Request, case_number: str, fmt: str) -> tuple[str, bytes]:
    with db.pool().connection() as conn:
        data = cases.load(conn, request, case_number, "cases.export", {"format": fmt})
        n = data["case"]["case_number"]
        meta = {"exported_by": auth.current_principal(request).name, "agency": common.agency(),
                "exported_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if fmt == "gpkg":
            body = gpkg.write(data, meta)
        elif fmt in ("kml", "kmz"):
            body = kml.write(data, meta, zipped=fmt == "kmz")
        elif fmt == "pdf":
            body = pdf.write(conn, data, meta, cases.summary(data))
        else:
            body = takzip.write(data, meta)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in n)
    return f"case-{safe}.{EXT[fmt]}", body


@router.get("/{case_number}/export", summary="The case package: GeoPackage, KML/KMZ, PDF report or TAK data package",
            response_class=Response, responses={404: {"description": "unknown case"}})
async def export(case_number: str, request: Request,
                 format: Literal["gpkg", "kml", "kmz", "pdf", "takzip"] = Query("gpkg"),
                 _: auth.Principal = Depends(auth.require("cases:export"))) -> Response:
    name, body = await run_in_threadpool(build, request, case_number, format)
    return Response(body, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
