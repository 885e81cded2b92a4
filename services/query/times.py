"""Times: one parser, one meaning, for /ogc, /tiles, hexbins, tasks, alerts and investigations, the
agency's zone (feeds read naive times in it too) and the accepted time window of stored times.

- An instant is RFC 3339 (`2026-12-01T08:00:00Z`, `2026-12-01T03:00:00-05:00`). Without an offset it
  is read in the agency's zone (setting `timezone`), as feeds are: a time an analyst types is local.
- A bare date (`2026-12-01`) is the whole agency-local day: from its local midnight up to the next
  one. RFC 3339 gives a full-date no zone, and the OGC API `datetime` parameter allows dates, so the
  reading an analyst expects ("what happened on the 1st", as tasks and the dashboard count it) is the
  one used everywhere. As the start of an interval it is its first instant, as the end its last.
- An interval is `start/end` with `..` (or nothing) for an open end (OGC API - Features `datetime`).

A `Window` is closed, [lo, hi], in UTC; a day ends one microsecond before the next midnight, which is
PostgreSQL's timestamp resolution, so `<= hi` keeps exactly the day.

The accepted window (`accepted_bounds`, `outside_accepted`) is how far back and ahead a time may lie
for the server to store it: every time that enters the database (a feed's observed_at in every form,
epoch numbers included; a task's created_at and closed_at) must fall inside it. It bounds the monthly
partitions a batch can create and the periods a dashboard lists. Settings: RTCC_ACCEPT_YEARS_BACK,
RTCC_ACCEPT_DAYS_AHEAD.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from services.errors import BadRequest
from services.settings import get_settings

TICK = timedelta(microseconds=1)   # PostgreSQL timestamptz resolution
# Relative windows (`hours=`, `since=` without an end) are resolved against `now` rounded down to
# this many seconds, so tiles of the same minute share a cache entry (and the window's open end
# may reach up to this much further back than asked).
TIME_QUANTUM_S = 60
MAX_HOURS = 24 * 366 * 20


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def agency_zone() -> ZoneInfo:
    return _zone(get_settings().timezone)


@dataclass(frozen=True)
class Window:
    """Closed time window [lo, hi] (aware, UTC); None = open end."""
    lo: datetime | None = None
    hi: datetime | None = None

    def overlaps(self, lo: datetime | None, hi: datetime | None) -> bool:
        return (self.lo is None or hi is None or hi >= self.lo) and (self.hi is None or lo is None or lo <= self.hi)

    def key(self) -> str:
        return f"{self.lo.isoformat() if self.lo else '..'}/{self.hi.isoformat() if self.hi else '..'}"

    @property
    def is_open(self) -> bool:
        return self.lo is None and self.hi is None


def is_date(text: str) -> bool:
    """`YYYY-MM-DD` alone (a full-date), which means a whole day."""
    return len(text) == 10 and text[4] == "-" and text[7] == "-"


def day(d: date) -> Window:
    """The agency-local day `d` as a window in UTC (23 or 25 hours on a DST change)."""
    tz = agency_zone()
    start = datetime.combine(d, time.min, tz).astimezone(timezone.utc)
    if d == date.max:  # 9999-12-31: the calendar's last day has no next midnight
        return Window(start, datetime.max.replace(tzinfo=timezone.utc))
    end = datetime.combine(d + timedelta(days=1), time.min, tz)
    return Window(start, end.astimezone(timezone.utc) - TICK)


def parse_instant(value: Any, what: str = "datetime", end: bool = False) -> datetime:
    """An instant (aware, UTC). A date is its day's first instant, or with `end` its last; a date-time
    without an offset is agency-local. Bad text is a BadRequest naming `what`."""
    if isinstance(value, datetime):
        d = value
    elif isinstance(value, date):
        w = day(value)
        return w.hi if end else w.lo
    else:
        s = str(value).strip()
        try:
            if is_date(s):
                w = day(date.fromisoformat(s))
                return w.hi if end else w.lo
            d = datetime.fromisoformat(s[:-1] + "+00:00" if s[-1:] in ("Z", "z") else s)
        except (ValueError, IndexError, OverflowError):
            raise BadRequest(f"{what} '{value}' is not an RFC 3339 date-time or a YYYY-MM-DD date "
                             f"(e.g. 2026-05-01T12:00:00Z or 2026-05-01)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=agency_zone())
    try:
        return d.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0, which datetime cannot hold
        raise BadRequest(f"{what} '{value}' is out of range") from None


def parse_datetime(value: str, what: str = "datetime") -> Window:
    """OGC API `datetime`: an instant, a date (its whole day), or an interval `start/end` with `..` or
    nothing for an open end."""
    text = value.strip()
    if "/" not in text:
        if text in ("", ".."):
            raise BadRequest(f"{what} needs an instant, a date or an interval 'start/end'")
        if is_date(text):
            return Window(parse_instant(text, what), parse_instant(text, what, end=True))
        t = parse_instant(text, what)
        return Window(t, t)
    a, _, b = text.partition("/")
    if "/" in b:
        raise BadRequest(f"{what} '{value}' must be an instant or one interval 'start/end'")
    lo = None if a.strip() in ("", "..") else parse_instant(a, what)
    hi = None if b.strip() in ("", "..") else parse_instant(b, what, end=True)
    if lo and hi and lo > hi:
        raise BadRequest(f"{what} interval '{value}' ends before it starts")
    return Window(lo, hi)


def now_quantised() -> datetime:
    now = datetime.now(timezone.utc).timestamp()
    return datetime.fromtimestamp(now - now % TIME_QUANTUM_S, timezone.utc)


def parse_window(datetime_: str | None, since: str | None = None, hours: float | str | None = None) -> Window:
    """The map's time window: OGC `datetime`, or `since` (an instant, open end), or the last `hours`."""
    if sum(p is not None and p != "" for p in (datetime_, since, hours)) > 1:
        raise BadRequest("give one of datetime, since or hours, not several")
    if datetime_:
        return parse_datetime(datetime_)
    if since:
        return Window(parse_instant(since, "since"), None)
    if hours is not None and hours != "":
        try:
            h = float(hours)
        except ValueError:
            raise BadRequest(f"hours '{hours}' is not a number") from None
        if math.isnan(h) or not (0 < h <= MAX_HOURS):
            raise BadRequest("hours must be a positive number of hours")
        return Window(now_quantised() - timedelta(hours=h), None)
    return Window()


# -- the accepted window of stored times ------------------------------------------------------------
def accepted_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[earliest, latest] instants (UTC) a stored time may take, as of now."""
    s = get_settings()
    now = now or datetime.now(timezone.utc)
    try:
        lo = now.replace(year=now.year - s.accept_years_back)
    except ValueError:  # 29 February
        lo = now.replace(year=now.year - s.accept_years_back, day=28)
    return lo, now + timedelta(days=s.accept_days_ahead)


def outside_accepted(t: datetime) -> str | None:
    """Why t may not be stored (a sentence), or None when it lies inside the accepted window."""
    lo, hi = accepted_bounds()
    if t < lo:
        return f"is more than {get_settings().accept_years_back} years in the past (earliest {lo:%Y-%m-%d})"
    if t > hi:
        return f"is in the future (latest accepted {hi:%Y-%m-%dT%H:%M}Z)"
    return None
