"""POST /api/ingest/{feed}: the HTTP face of the ingest pipeline."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from services.responses import JSONResponse

from services import audit, auth, db
from services.errors import Forbidden, PayloadTooLarge
from services.ingest import parsers
from services.ingest.feeds import FEEDS
from services.ingest.pipeline import check_columns, get_feed, ingest_rows
from services.settings import get_settings

router = APIRouter(prefix="/api", tags=["ingest"])

_EXAMPLE = {"accepted": 2, "duplicates": 0, "rejected": [{"row": 2, "reason": "missing observed_at"}]}


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {int(declared)} bytes exceeds the {limit}-byte limit: split the batch")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the {limit}-byte limit: split the batch")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/feeds", summary="The feeds and their canonical columns",
            dependencies=[Depends(auth.require("events:read"))])
def list_feeds() -> dict:
    return {name: {"kind": f.kind, "required": list(f.required), "fields": list(f.fields)} for name, f in FEEDS.items()}


@router.post(
    "/ingest/{feed}",
    summary="Ingest a batch for one feed",
    description=(
        "Body: JSON array, NDJSON (`application/x-ndjson`), CSV (`text/csv`) with the feed's column names, "
        "a GeoJSON FeatureCollection, or (feed `cad`) a NENA EIDO incident document. "
        "Good rows are stored even when others are rejected; re-sending a batch only counts duplicates."),
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}},
               404: {"description": "unknown feed"}, 413: {"description": "body too large"},
               400: {"description": "undecodable body"}, 422: {"description": "wrong or missing columns"}},
)
async def ingest(feed: str, request: Request, principal: auth.Principal = Depends(auth.require("ingest"))) -> JSONResponse:
    f = get_feed(feed)
    if principal.feeds is not None and f.name not in principal.feeds:
        raise Forbidden(f"this API key may ingest only {', '.join(principal.feeds)}, not '{f.name}'")
    body = await read_body(request, get_settings().max_body_bytes)
    rows, header = parsers.parse_body(body, request.headers.get("content-type"))
    check_columns(f, rows, header)

    def run():
        with db.pool().connection() as conn:
            result = ingest_rows(conn, f.name, rows, origin="api")
            d = result.as_dict()  # audited after the batch committed: by whom, how many
            detail = {"accepted": d.get("accepted"), "duplicates": d.get("duplicates"),
                      "rejected": len(d.get("rejected") or ()), "batch_id": d.get("batch_id")}
            if f.name == "camera":  # registry changes: which cameras
                detail["cameras"] = [str(r.get("id")) for r in rows[:1000]]
            audit.record(conn, request, "ingest", f"ingest/{f.name}", detail)
            return result

    result = await run_in_threadpool(run)
    return JSONResponse(result.as_dict())
