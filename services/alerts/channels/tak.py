"""TAK / ATAK: a Cursor-on-Target 2.0 event per alert, over TCP (tcp://host:port, a TAK server's
streaming input) or UDP (udp://group:port, e.g. the SA multicast 239.2.3.1:6969).

The event carries the point, a CoT type (MIL-STD-2525 hierarchy: a civilian vehicle of unknown
affiliation for a hotlist hit, an unknown ground point otherwise), the alert as remarks and the map,
camera and route links, so it shows on every ATAK device of the team.
"""
from __future__ import annotations

import socket
import struct
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from services.alerts.channels.http import DeliveryError
from services.alerts.message import Message, text_lines
from services.settings import get_settings

STALE = timedelta(minutes=30)  # how long ATAK keeps the marker


def _t(d: datetime) -> str:
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def cot_type(m: Message) -> str:
    return "a-u-G-E-V-C" if m.alert.get("hotlist") else "a-u-G"


def event_xml(m: Message, now: datetime | None = None) -> bytes:
    now = now or datetime.now(timezone.utc)
    ev = ET.Element("event", {"version": "2.0", "uid": f"RTCC-ALERT-{m.id}", "type": cot_type(m), "how": "h-g-i-g-o",
                              "time": _t(now), "start": _t(now), "stale": _t(now + STALE)})
    ET.SubElement(ev, "point", {"lat": f"{m.lat or 0:.7f}", "lon": f"{m.lon or 0:.7f}", "hae": "9999999.0",
                                "ce": "10.0" if m.lat is not None else "9999999.0", "le": "9999999.0"})
    detail = ET.SubElement(ev, "detail")
    ET.SubElement(detail, "contact", {"callsign": f"{m.priority_label[:2]} {m.title}"[:80]})
    ET.SubElement(detail, "remarks", {"source": "RTCC"}).text = "\n".join(text_lines(m))
    for url, title in [(m.map_url, "RTCC map"), (m.route_url, "Route")] + \
            [(c.stream_url, f"Camera {c.name}") for c in m.cameras if c.stream_url]:
        if url:
            ET.SubElement(detail, "link", {"url": url, "remarks": title, "relation": "r-u", "mime": "text/html"})
    ET.SubElement(detail, "precisionlocation", {"altsrc": "???", "geopointsrc": "GPS"})
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + ET.tostring(ev)


def parse_url(url: str) -> tuple[str, str, int]:
    u = urlsplit(url)
    if u.scheme not in ("tcp", "udp") or not u.hostname or not u.port:
        raise ValueError("a TAK channel's url is tcp://host:port or udp://group:port")
    return u.scheme, u.hostname, u.port


def deliver(channel: dict, m: Message, key: str) -> None:
    scheme, host, port = parse_url(channel["url"])
    data = event_xml(m)
    timeout = get_settings().outbox_timeout_s
    try:
        if scheme == "tcp":
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.sendall(data)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP) as s:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", 4))
                s.sendto(data, (host, port))
    except OSError as e:
        raise DeliveryError(f"TAK {scheme}://{host}:{port}: {e}"[:500]) from None
