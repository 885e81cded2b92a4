"""Slack incoming webhook: a Block Kit message built (and validated) with slack-sdk's models."""
from __future__ import annotations

from slack_sdk.models.blocks import (ActionsBlock, ButtonElement, ContextBlock, HeaderBlock, MarkdownTextObject,
                                     SectionBlock)

from services.alerts.channels import http
from services.alerts.message import Message

_EMOJI = {1: ":rotating_light:", 2: ":warning:", 3: ":information_source:"}


def _esc(s: str) -> str:
    """Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(m: Message) -> dict:
    fields = [MarkdownTextObject(text=f"*Priority*\n{m.priority_label}"),
              MarkdownTextObject(text=f"*Where*\n{_esc(m.place)[:1900]}"),
              MarkdownTextObject(text=f"*When*\n<!date^{int(m.observed_at.timestamp())}^{{date_short_pretty}} "
                                      f"{{time_secs}}|{m.observed_at.isoformat(timespec='seconds')}>"),
              MarkdownTextObject(text=f"*Rule*\n{_esc(m.rule)[:1900]}")]
    blocks = [HeaderBlock(text=f"{m.priority_label}: {m.title}"[:150]),
              SectionBlock(text=MarkdownTextObject(text=_esc(m.trigger)[:2900]), fields=fields)]
    if m.cameras:
        cams = "\n".join(
            f"• {_esc(c.name)}{' (sees the spot)' if c.sees else ''}"
            + (f" — <{c.stream_url}|stream>" if c.stream_url else "")
            + (f" <{c.snapshot_url}|snapshot>" if c.snapshot_url else "") for c in m.cameras)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Cameras*\n{cams}"[:2900])))
    if m.units:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=("Nearest units: " + "; ".join(m.units))[:2900])]))
    buttons = [ButtonElement(text="Open on the map", url=m.map_url, action_id="rtcc_map", style="primary")]
    if m.route_url:
        buttons.append(ButtonElement(text="Route", url=m.route_url, action_id="rtcc_route"))
    blocks.append(ActionsBlock(elements=buttons))
    # to_dict() runs slack-sdk's validation (lengths, required fields) and raises on a bad block
    return {"text": f"{m.priority_label}: {m.title}"[:3000], "blocks": [b.to_dict() for b in blocks]}


def deliver(channel: dict, m: Message, key: str) -> None:
    http.post_json(channel["url"], payload(m), key)
