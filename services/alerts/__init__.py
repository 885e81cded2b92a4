"""Alerts (issue 14): hotlists, geofences and rules raise alerts at ingest; an outbox delivers each
alert to the channels (Slack, Teams, TAK, CAP, webhook, email) exactly once as the receiver sees it."""
from fastapi import APIRouter

from services.alerts import geofences, hotlists, records, rules

router = APIRouter()
for _r in (hotlists.router, geofences.router, rules.router, records.router):
    router.include_router(_r)
