"""Microsoft Teams: a Workflows ("When a Teams webhook request is received") webhook with an
Adaptive Card 1.4 attachment (the Office 365 connectors and their MessageCard are retired)."""
from __future__ import annotations

from services.alerts.channels import http
from services.alerts.message import Message

_COLOR = {1: "Attention", 2: "Warning", 3: "Accent"}


def card(m: Message) -> dict:
    facts = [{"title": "Priority", "value": m.priority_label}, {"title": "Where", "value": m.place},
             {"title": "When", "value": m.observed_at.isoformat(timespec="seconds")},
             {"title": "Rule", "value": m.rule}]
    if m.units:
        facts.append({"title": "Nearest units", "value": "; ".join(m.units)})
    body = [{"type": "TextBlock", "text": m.title, "weight": "Bolder", "size": "Medium", "wrap": True,
             "color": _COLOR.get(m.priority, "Default")},
            {"type": "TextBlock", "text": m.trigger, "wrap": True},
            {"type": "FactSet", "facts": facts}]
    cams = [c for c in m.cameras if c.stream_url or c.snapshot_url]
    if cams:
        body.append({"type": "TextBlock", "text": "Cameras", "weight": "Bolder", "wrap": True})
        body += [{"type": "TextBlock", "wrap": True, "text": f"{c.name}{' (sees the spot)' if c.sees else ''}: "
                  + " ".join(x for x in (c.stream_url and f"[stream]({c.stream_url})",
                                         c.snapshot_url and f"[snapshot]({c.snapshot_url})") if x)} for c in cams]
    actions = [{"type": "Action.OpenUrl", "title": "Open on the map", "url": m.map_url}]
    if m.route_url:
        actions.append({"type": "Action.OpenUrl", "title": "Route", "url": m.route_url})
    return {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body, "actions": actions}


def payload(m: Message) -> dict:
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card(m)}]}


def deliver(channel: dict, m: Message, key: str) -> None:
    http.post_json(channel["url"], payload(m), key)
