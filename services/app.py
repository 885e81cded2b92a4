"""The FastAPI application: assembles the routers of each part of the server."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from services.responses import JSONResponse

from services import alerts, db, errors, live, retention
from services.audit.routes import router as audit_router
from services.auth.middleware import AuthMiddleware
from services.auth.oidc import router as oidc_router
from services.auth.routes import router as auth_router
from services.bus import bus
from services.events import router as events_router
from services.geocode import router as geocode_router
from services.ingest.routes import router as ingest_router
from services.investigations import router as investigations_router
from services.proximity import jobs as proximity_jobs
from services.proximity import router as proximity_router
from services.drive_path import router as drive_path_router
from services.ogc import ogc_app
from services.tasks import router as tasks_router
from services.tiles import router as tiles_router
from services.web import router as web_router


@asynccontextmanager
async def lifespan(app: FastAPI):
    bus.start()                     # one LISTEN connection: live hub, tile cache, proximity and alert workers
    proximity_jobs.worker.start()
    alerts.start()
    retention_job = asyncio.create_task(retention.periodic())
    yield
    retention_job.cancel()
    alerts.stop()
    proximity_jobs.worker.stop()
    bus.stop()
    await db.close_apool()
    db.close_pool()


def create_app() -> FastAPI:
    app = FastAPI(title="RTCC situational-awareness server", version="0.1.0",
                  default_response_class=JSONResponse, lifespan=lifespan, responses=errors.RESPONSES,
                  description="Every RTCC feed on one map: ingest, OGC API, vector tiles, proximity, live stream.")
    errors.register(app)
    app.add_middleware(AuthMiddleware)  # who is asking: every request, before any route or mount

    @app.get("/healthz", tags=["ops"], summary="200 when the database answers, 503 (with Retry-After) otherwise",
             responses={503: {"description": "the database is unavailable"}})
    def healthz():
        try:
            with db.pool().connection(timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as e:  # any failure to reach the database is "unavailable"
            raise errors.Unavailable("the database is unavailable", status="unavailable",
                                     database=(str(e).splitlines() or [type(e).__name__])[0][:200]) from None
        return {"status": "ok", "database": "ok"}

    app.include_router(auth_router)  # /login, /logout, /api/me, /api/session/purpose
    app.include_router(oidc_router)  # /auth/oidc/login, /auth/oidc/callback (when configured)
    app.include_router(audit_router)  # /api/audit (supervisors)
    app.include_router(retention.router)  # legal holds, retention runs, /api/transparency (public)
    app.include_router(ingest_router)
    app.include_router(live.router)
    app.include_router(tasks_router)
    app.include_router(geocode_router)  # /api/geocode, /api/reverse
    app.include_router(tiles_router)  # vector tiles, TileJSON, H3 hexbins
    app.include_router(proximity_router)  # /api/nearest (and the proximity live messages)
    app.include_router(drive_path_router)  # /api/route: drive path for the map
    app.include_router(events_router)  # /api/events/{id}/location: an analyst places an unlocated event
    app.include_router(alerts.router)  # hotlists, rules, geofences, alerts, channels, CAP feed
    app.include_router(investigations_router)  # /api/alpr/*, /api/correlate, /api/cases, /api/replay
    app.mount("/ogc", ogc_app)  # OGC API - Features/Tiles (pygeoapi), configured from the catalog
    app.include_router(web_router)
    return app
