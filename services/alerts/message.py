"""What every channel says about an alert: title, priority, place, time, trigger, the cameras that see
the spot (stream and snapshot links), the nearest units with ETA and the map deep link `/#alert=ID`.
Each channel (services/alerts/channels/) renders this one Message in its own format."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from services.settings import get_settings

PRIORITY_LABEL = {1: "P1 urgent", 2: "P2 high", 3: "P3 routine"}


@dataclass
class Camera:
    id: str
    name: str
    stream_url: str | None
    snapshot_url: str | None
    sees: bool
    distance_m: float | None


@dataclass
class Message:
    id: int
    title: str
    priority: int
    rule: str
    match: str
    kind: str
    observed_at: datetime
    created_at: datetime
    address: str | None
    district: str | None
    lon: float | None
    lat: float | None
    trigger: str
    map_url: str
    field_url: str
    route_url: str | None
    cameras: list[Camera] = field(default_factory=list)
    units: list[str] = field(default_factory=list)   # "2B21 (available) 1.2 km, ETA 2 min"
    alert: dict = field(default_factory=dict)

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABEL.get(self.priority, f"P{self.priority}")

    @property
    def place(self) -> str:
        bits = [b for b in (self.address, self.district and f"{self.district} district") if b]
        if bits:
            return ", ".join(bits)
        return f"{self.lat:.5f}, {self.lon:.5f}" if self.lat is not None else "location unknown"


def base_url() -> str:
    s = get_settings()
    return (s.public_url or f"http://{s.host}:{s.port}").rstrip("/")


def _when(v) -> datetime:
    return v if isinstance(v, datetime) else datetime.fromisoformat(str(v))


def trigger_text(a: dict) -> str:
    ev = a.get("event") or {}
    attrs = ev.get("attrs") or {}
    if a.get("hotlist"):
        h = a["hotlist"]
        cam = f" at camera {attrs['camera_id']}" if attrs.get("camera_id") else ""
        certainty = ("possible match (misread-tolerant: O/0, I/1, B/8), verify the plate"
                     if a.get("match") == "possible" else "exact match")
        return (f"ALPR read {ev.get('plate')}{' (' + attrs['state'] + ')' if attrs.get('state') else ''}{cam}; "
                f"hotlist '{h.get('list')}': {h.get('plate')} {h.get('reason')} — {certainty}")
    bits = [(ev.get("kind") or "event").replace("_", " ")]
    if ev.get("type"):
        bits.append(str(ev["type"]))
    if ev.get("priority") is not None:
        bits.append(f"priority {ev['priority']}")
    if attrs.get("rounds"):
        bits.append(f"{attrs['rounds']} rounds")
    if a.get("zone"):
        bits.append(f"near/in {a['zone']}")
    return ", ".join(bits) + f" (rule: {a.get('rule')})"


def build(conn: psycopg.Connection | None, a: dict) -> Message:
    """The message of an alert document (records.ALERT_JSON); snapshot links come from the camera registry
    (the proximity answer carries them; an answer stored before it did is completed from the registry)."""
    prox = a.get("proximity") or {}
    cams = prox.get("cameras") or []
    snaps: dict[str, str] = {c["id"]: c["snapshot_url"] for c in cams if c.get("snapshot_url")}
    if conn is not None and cams and not snaps:
        snaps = dict(conn.execute("SELECT id, snapshot_url FROM cameras WHERE id = ANY(%s) AND snapshot_url IS NOT NULL",
                                  ([c["id"] for c in cams],)).fetchall())
    base = base_url()
    lat, lon = a.get("lat"), a.get("lon")
    units = []
    for u in (prox.get("units") or [])[:3]:
        eta = f", ETA {round(u['eta_s'] / 60, 1):g} min" if u.get("eta_s") is not None else ""
        units.append(f"{u.get('callsign') or u.get('id')} ({u.get('status')}) "
                     f"{round((u.get('distance_m') or 0) / 1000, 1):g} km{eta}")
    return Message(
        id=a["id"], title=a["title"], priority=a["priority"], rule=a.get("rule") or "", match=a.get("match", "certain"),
        kind=a.get("kind", ""), observed_at=_when(a["observed_at"]), created_at=_when(a["created_at"]),
        address=a.get("address"), district=a.get("district"), lon=lon, lat=lat, trigger=trigger_text(a),
        map_url=f"{base}/#alert={a['id']}", field_url=f"{base}/field#alert={a['id']}",
        route_url=(f"https://www.openstreetmap.org/directions?route=%3B{lat}%2C{lon}" if lat is not None else None),
        cameras=[Camera(str(c["id"]), c.get("name") or str(c["id"]), c.get("stream_url"), snaps.get(c["id"]),
                        bool(c.get("sees_location")), c.get("distance_m")) for c in cams[:5]],
        units=units, alert=a)


def text_lines(m: Message) -> list[str]:
    """Plain text (email, TAK remarks, CAP description)."""
    lines = [f"{m.priority_label}: {m.title}", f"Where: {m.place}",
             f"When: {m.observed_at.isoformat(timespec='seconds')}", f"What: {m.trigger}", f"Map: {m.map_url}"]
    for c in m.cameras:
        sees = "sees the spot" if c.sees else "nearby"
        lines.append(f"Camera {c.name} ({sees}): " + " ".join(
            x for x in (c.stream_url and f"stream {c.stream_url}", c.snapshot_url and f"snapshot {c.snapshot_url}")
            if x) if (c.stream_url or c.snapshot_url) else f"Camera {c.name} ({sees})")
    if m.units:
        lines.append("Nearest units: " + "; ".join(m.units))
    if m.route_url:
        lines.append(f"Route: {m.route_url}")
    return lines
