"""Channels an alert leaves the building through. Each module renders the one Message in its format
and sends it with the delivery's idempotency key; a failure raises DeliveryError."""
from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from services.alerts.channels import cap, email, slack, tak, teams, webhook
from services.alerts.channels.http import DeliveryError
from services.alerts.message import Message

Deliver = Callable[[dict, Message, str], None]
KINDS: dict[str, Deliver] = {"slack": slack.deliver, "teams": teams.deliver, "tak": tak.deliver,
                             "cap": cap.deliver, "webhook": webhook.deliver, "email": email.deliver}

__all__ = ["KINDS", "DeliveryError", "check_url"]


def check_url(kind: str, url: str) -> None:
    """ValueError with a sentence when the url cannot work for this kind of channel."""
    if kind == "tak":
        tak.parse_url(url)
    elif kind == "email":
        email.parse_url(url)
    else:
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"a {kind} channel's url is an http(s) URL")
