"""Proximity engine: which cameras can see a location, which units get there first, what happened
around it. The work is done in PostgreSQL (sql/definitions/7*_proximity*.sql); this package exposes it as
GET /api/nearest, runs it for every new incident at ingest and streams the answers on /api/live.
"""
from services.proximity import stream  # noqa: F401  (registers the "proximity" live fetcher)
from services.proximity.routes import router

__all__ = ["router"]
