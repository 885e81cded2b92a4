"""The accepted time window: how far back and ahead a time may lie for the server to store it.

Every time that enters the database (a feed's observed_at in every form, epoch numbers included;
a task's created_at and closed_at) must fall inside it. It is what bounds the monthly partitions a
batch can create and the periods a dashboard can list. Settings: RTCC_ACCEPT_YEARS_BACK,
RTCC_ACCEPT_DAYS_AHEAD.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.settings import get_settings


def bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[earliest, latest] accepted instants (UTC) as of now."""
    s = get_settings()
    now = now or datetime.now(timezone.utc)
    try:
        lo = now.replace(year=now.year - s.accept_years_back)
    except ValueError:  # 29 February
        lo = now.replace(year=now.year - s.accept_years_back, day=28)
    return lo, now + timedelta(days=s.accept_days_ahead)


def outside(t: datetime) -> str | None:
    """Why t is not accepted (a sentence), or None when it is inside the window."""
    lo, hi = bounds()
    if t < lo:
        return f"is more than {get_settings().accept_years_back} years in the past (earliest {lo:%Y-%m-%d})"
    if t > hi:
        return f"is in the future (latest accepted {hi:%Y-%m-%dT%H:%M}Z)"
    return None
