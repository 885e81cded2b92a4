"""The HTTP side of the channels: one POST with the delivery's idempotency key, a bounded timeout and
a DeliveryError saying what went wrong (kept as the delivery's last error)."""
from __future__ import annotations

import threading

import httpx
import orjson

from services.settings import get_settings


_client: httpx.Client | None = None
_lock = threading.Lock()


def client() -> httpx.Client:
    """One client per process (thread-safe, pooled connections): a new one per POST loaded the CA
    certificates every time, ~30 ms of CPU that capped the outbox near 30 deliveries/s per thread."""
    global _client
    with _lock:
        if _client is None:
            _client = httpx.Client(headers={"User-Agent": "rtcc-alerts/1"})
        return _client


class DeliveryError(Exception):
    """A delivery that did not reach its receiver (retried with backoff, then dead-lettered)."""


def post(url: str, body: bytes, content_type: str, key: str, headers: dict | None = None) -> None:
    h = {"Content-Type": content_type, "Idempotency-Key": key, **(headers or {})}
    try:
        r = client().post(url, content=body, headers=h, timeout=get_settings().outbox_timeout_s)
    except httpx.TimeoutException:
        raise DeliveryError(f"no answer from {url} within {get_settings().outbox_timeout_s:g} s") from None
    except httpx.HTTPError as e:
        raise DeliveryError(f"{type(e).__name__}: {e}"[:500]) from None
    if r.status_code >= 300:
        raise DeliveryError(f"HTTP {r.status_code} from {url}: {r.text[:300]}")


def post_json(url: str, doc: dict, key: str, headers: dict | None = None) -> None:
    post(url, orjson.dumps(doc), "application/json", key, headers)
