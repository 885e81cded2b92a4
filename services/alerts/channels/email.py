"""Email over SMTP. The channel url is smtp://host:port?to=a@x,b@y[&from=...]; the Message-ID carries
the delivery's idempotency key so a mail system (or a person) can spot a repeat."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

from services.alerts.channels.http import DeliveryError
from services.alerts.message import Message, text_lines
from services.settings import get_settings


def parse_url(url: str) -> tuple[str, int, list[str], str | None]:
    u = urlsplit(url)
    q = parse_qs(u.query)
    to = [a.strip() for v in q.get("to", []) for a in v.split(",") if a.strip()]
    if u.scheme != "smtp" or not u.hostname or not to:
        raise ValueError("an email channel's url is smtp://host:port?to=name@example.org[,more]")
    return u.hostname, u.port or 25, to, (q.get("from") or [None])[0]


def build(m: Message, key: str, to: list[str], sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[{m.priority_label}] {m.title}"[:250]
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = f"<{key}@rtcc.alerts>"
    msg["X-RTCC-Alert"] = str(m.id)
    msg.set_content("\n".join(text_lines(m)) + "\n")
    return msg


def deliver(channel: dict, m: Message, key: str) -> None:
    host, port, to, sender = parse_url(channel["url"])
    msg = build(m, key, to, sender or get_settings().smtp_from)
    try:
        with smtplib.SMTP(host, port, timeout=get_settings().outbox_timeout_s) as s:
            s.send_message(msg)
    except (OSError, smtplib.SMTPException) as e:
        raise DeliveryError(f"SMTP {host}:{port}: {type(e).__name__}: {e}"[:500]) from None
