"""OASIS Common Alerting Protocol 1.2: each alert as a CAP message (valid against the official
CAP-v1.2.xsd shipped in services/alerts/schemas/), POSTed to a CAP channel's url and listed in the
Atom feed GET /api/cap.atom."""
from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from services.alerts.channels import http
from services.alerts.message import Message, text_lines
from services.settings import get_settings

NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM = "http://www.w3.org/2005/Atom"
_SEVERITY = {1: "Severe", 2: "Moderate", 3: "Minor"}
ET.register_namespace("cap", NS)  # inside the Atom feed; a lone message uses it as the default


def cap_time(d: datetime) -> str:
    """CAP 1.2 dateTime: seconds, and an explicit offset (the schema's pattern has no 'Z')."""
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def identifier(m: Message) -> str:
    # No spaces, commas or restricted characters (< &) in a CAP identifier.
    domain = get_settings().cap_sender.split("@")[-1]
    return f"{domain}.rtcc.alert.{m.id}"


def alert_element(m: Message) -> ET.Element:
    def sub(parent, tag, text=None):
        e = ET.SubElement(parent, f"{{{NS}}}{tag}")
        if text is not None:
            e.text = str(text)
        return e
    s = get_settings()
    root = ET.Element(f"{{{NS}}}alert")
    sub(root, "identifier", identifier(m))
    sub(root, "sender", s.cap_sender)
    sub(root, "sent", cap_time(m.created_at))
    sub(root, "status", "Actual")
    sub(root, "msgType", "Alert")
    sub(root, "scope", "Restricted")
    sub(root, "restriction", "Law enforcement sensitive: for agency personnel only")
    info = sub(root, "info")
    sub(info, "language", "en-US")
    sub(info, "category", "Security")
    sub(info, "event", m.rule or "RTCC alert")
    sub(info, "urgency", "Immediate" if m.priority == 1 else "Expected")
    sub(info, "severity", _SEVERITY.get(m.priority, "Unknown"))
    sub(info, "certainty", "Possible" if m.match == "possible" else "Observed")
    sub(info, "effective", cap_time(m.observed_at))
    sub(info, "senderName", s.agency_name)
    sub(info, "headline", m.title[:160])
    sub(info, "description", "\n".join(text_lines(m)))
    sub(info, "web", m.map_url)
    p = sub(info, "parameter")
    sub(p, "valueName", "priority")
    sub(p, "value", m.priority)
    for c in m.cameras:
        for url, what in ((c.stream_url, "stream"), (c.snapshot_url, "snapshot")):
            if url:
                r = sub(info, "resource")
                sub(r, "resourceDesc", f"Camera {c.name} {what}")
                sub(r, "mimeType", "image/jpeg" if what == "snapshot" else "text/html")
                sub(r, "uri", url)
    area = sub(info, "area")
    sub(area, "areaDesc", m.place)
    if m.lat is not None:
        sub(area, "circle", f"{m.lat:.6f},{m.lon:.6f} 0.1")  # WGS 84 "lat,lon radius-km"
    return root


def cap_xml(m: Message) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alert_element(m), default_namespace=NS)


def atom_feed(messages: list[Message], self_url: str) -> bytes:
    """An Atom (RFC 4287) feed whose entries carry the CAP message inline (OASIS CAP feeds pattern)."""
    # Atom elements unqualified under a literal xmlns (ElementTree's default_namespace refuses
    # unqualified attributes such as rel=); the embedded CAP messages keep their cap: prefix.
    feed = ET.Element("feed", {"xmlns": ATOM})

    def sub(parent, tag, text=None, **attrs):
        e = ET.SubElement(parent, tag, attrs)
        if text is not None:
            e.text = text
        return e
    sub(feed, "id", self_url)
    sub(feed, "title", f"{get_settings().agency_name}: RTCC alerts (CAP 1.2)")
    newest = max((m.created_at for m in messages), default=datetime.now(timezone.utc))
    sub(feed, "updated", newest.astimezone(timezone.utc).isoformat(timespec="seconds"))
    sub(feed, "link", rel="self", href=self_url)
    author = sub(feed, "author")
    sub(author, "name", get_settings().agency_name)
    for m in messages:
        e = sub(feed, "entry")
        sub(e, "id", f"urn:rtcc:alert:{identifier(m)}")
        sub(e, "title", m.title)
        sub(e, "updated", m.created_at.astimezone(timezone.utc).isoformat(timespec="seconds"))
        sub(e, "link", rel="alternate", href=m.map_url, type="text/html")
        sub(e, "link", rel="related", href=f"{self_url.rsplit('/', 1)[0]}/alerts/{m.id}.cap",
            type="application/cap+xml")
        content = sub(e, "content", type="application/cap+xml")
        content.append(alert_element(m))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed)


def deliver(channel: dict, m: Message, key: str) -> None:
    http.post(channel["url"], cap_xml(m), "application/cap+xml", key)
