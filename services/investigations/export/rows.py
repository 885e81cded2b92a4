"""The case's rows in the flat shape every export format writes: one dict per event with the
common columns and its kind's attributes (nested values as JSON text), plus labels for people."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson

COMMON = ("id", "kind", "observed_at", "type", "priority", "address", "plate", "district", "beat", "loc_method")
# attrs never exported: the geocoder's internals
SKIP_ATTRS = {"geocode"}
KIND_TITLES = {"alpr_read": "ALPR reads", "gunshot": "Gunshot detections", "cad_incident": "CAD incidents",
               "call": "911 calls", "tip": "Tips and leads"}


def flat_value(v):
    if isinstance(v, (dict, list)):
        return orjson.dumps(v).decode()
    return v


def event_row(e: dict) -> dict:
    row = {k: e.get(k) for k in COMMON}
    for k, v in (e.get("attrs") or {}).items():
        if k not in SKIP_ATTRS and k not in row:
            row[k] = flat_value(v)
    row["lon"], row["lat"] = e.get("lon"), e.get("lat")
    return row


def by_kind(events: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in events:
        out.setdefault(e["kind"], []).append(event_row(e))
    return out


def label(e: dict) -> str:
    """One line naming an event for a map pin or a table."""
    kind = KIND_TITLES.get(e["kind"], e["kind"]).rstrip("s")
    what = e.get("plate") or e.get("type") or ""
    if e["kind"] == "tip":
        what = ((e.get("attrs") or {}).get("text") or "")[:60]
    return f"{kind}: {what}".strip().rstrip(":")


def iso(t: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z (KML's and CoT's form)."""
    if t is None:
        return None
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
