"""Alerts (issue 14): hotlists, geofences and rules raise alerts at ingest; an outbox delivers each
alert to the channels (Slack, Teams, TAK, CAP, webhook, email) exactly once as the receiver sees it."""
from fastapi import APIRouter

from services.alerts import cap_feed, channel_admin, geofences, hotlists, records, rules, sites

router = APIRouter()
# cap_feed first: /api/alerts/{id}.cap must match before /api/alerts/{id}
for _r in (cap_feed.router, hotlists.router, geofences.router, sites.router, rules.router, records.router,
           channel_admin.router):
    router.include_router(_r)


def start() -> None:
    """At server start-up: seed the channels of the settings, start the outbox workers."""
    from services import db
    from services.alerts import outbox
    with db.pool().connection() as conn:
        channel_admin.seed(conn)
    outbox.start()


def stop() -> None:
    from services.alerts import outbox
    outbox.stop()
