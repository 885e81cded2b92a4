"""The one Event model every feed is normalised into, and the per-row error."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class RowError(ValueError):
    """A row that cannot be accepted; the message is the reason returned to the sender."""


@dataclass(slots=True)
class Event:
    feed: str
    feed_id: str
    kind: str
    observed_at: datetime            # timezone-aware, UTC
    lon: float | None = None
    lat: float | None = None
    loc_method: str = "given"        # given | camera | geocoded | failed
    loc_score: float | None = None
    address: str | None = None
    type: str | None = None
    priority: int | None = None
    plate: str | None = None
    attrs: dict = field(default_factory=dict)
    row: int = 0                     # position in the submitted batch (0-based)


@dataclass(slots=True)
class UnitPosition:
    unit_id: str
    callsign: str
    status: str
    observed_at: datetime
    lon: float
    lat: float
    heading_deg: float | None = None
    speed_kmh: float | None = None
    type: str = "patrol"
    incident: str | None = None   # the CAD incident the unit is assigned to (feed id), when busy
    row: int = 0


@dataclass(slots=True)
class Camera:
    id: str
    name: str
    lon: float
    lat: float
    kind: str = "cctv"
    owner: str = "agency"
    project: str | None = None
    heading_deg: float | None = None
    fov_deg: float | None = None
    range_m: float | None = None
    stream_url: str | None = None
    snapshot_url: str | None = None
    contact: str | None = None
    status: str = "online"
    row: int = 0
