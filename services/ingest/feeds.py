"""The feeds we accept, their canonical fields, and the row → model normalisation for each.

Every function here raises RowError with a sentence the sender can act on.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import orjson

from services.ingest.model import Camera, Event, RowError, UnitPosition
from services.query import times
from services.settings import get_settings

UNIT_STATUSES = ("available", "enroute", "onscene", "busy", "offduty")
CAMERA_OWNERS = ("agency", "partner", "private")
ALIASES = {"lng": "lon", "longitude": "lon", "latitude": "lat", "time": "observed_at",
           "timestamp": "observed_at"}


FIELD_MAX_CHARS = 1_000    # characters in one field of a row, unless its feed allows more (Feed.limits)
NAME_MAX_CHARS = 200       # characters in a field's name


@dataclass(frozen=True)
class Feed:
    name: str
    kind: str                       # event kind, or 'unit' / 'camera' for the asset feeds
    required: tuple[str, ...]       # columns that must exist in the batch
    fields: tuple[str, ...]         # canonical columns
    normalise: Callable
    limits: dict = field(default_factory=dict)  # field -> most characters, where not FIELD_MAX_CHARS

    def field_limit(self, name) -> int:
        return self.limits.get(_key(name), FIELD_MAX_CHARS)


_KEYS: dict = {}


def _key(k):
    """Canonical column name (lower case, aliases resolved), memoised: this runs per cell."""
    try:
        return _KEYS[k]
    except KeyError:
        c = ALIASES.get(str(k).strip().lower(), str(k).strip().lower()) if isinstance(k, str) else k
        _KEYS[k] = c
        return c


def _clean(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if v.__class__ is str:
            v = v.strip() or None
        out[_KEYS[k] if k in _KEYS else _key(k)] = v
    return out


def _check_row(feed: "Feed", row: dict) -> None:
    """Reject, with the row's own reason, what PostgreSQL cannot store (NUL characters in text and
    jsonb) and fields over the feed's size limits. One orjson pass (~0.5 us a row) clears the common
    row; the per-field walk runs only on a hit or a row longer than the smallest limit."""
    dump = orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS)
    nul = b"\\u0000" in dump
    if not nul and len(dump) <= FIELD_MAX_CHARS:
        return
    for k, v in row.items():
        if "\x00" in str(k):
            raise RowError("a field name contains a NUL (0x00) character, which PostgreSQL cannot store")
        if len(str(k)) > NAME_MAX_CHARS:
            raise RowError(f"a field name has {len(str(k)):,} characters; at most {NAME_MAX_CHARS} are taken")
        if v.__class__ is str:
            text, has_nul = v, "\x00" in v
        elif v.__class__ in (dict, list):
            text = orjson.dumps(v, default=str).decode()
            has_nul = "\\u0000" in text
        else:
            continue
        if nul and has_nul:
            raise RowError(f"field '{k}' contains a NUL (0x00) character, which PostgreSQL cannot store")
        limit = feed.field_limit(k)
        if len(text) > limit:
            raise RowError(f"field '{k}' has {len(text):,} characters; feed '{feed.name}' takes at most {limit:,}")


def _id(row: dict, key: str = "id") -> str:
    v = row.get(key)
    if v is None or (isinstance(v, str) and not v):
        raise RowError(f"missing {key}")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def parse_time(v, field: str = "observed_at") -> datetime:
    """RFC 3339 / ISO 8601 or epoch seconds (or milliseconds). Naive times are in the agency's zone.

    Every form must land inside the accepted time window (services/query/times.py); a naive local time
    the clocks skipped (the spring-forward hour) names no instant and is refused."""
    if v is None or v == "":
        raise RowError(f"missing {field}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        x = float(v)
        if x > 1e11:
            x /= 1000.0
        try:
            dt = datetime.fromtimestamp(x, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise RowError(f"unparseable {field} {v!r}") from None
    else:
        s = str(v).strip()
        if s.endswith("Z") or s.endswith("z"):
            s = s[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise RowError(f"unparseable {field} {v!r}: use RFC 3339, e.g. 2024-05-01T13:45:00-04:00") from None
        if dt.tzinfo is None:
            dt = _local(dt, v, field)
        try:
            dt = dt.astimezone(timezone.utc)
        except OverflowError:
            raise RowError(f"{field} {v!r} is out of range") from None
    why = times.outside_accepted(dt)
    if why:
        raise RowError(f"{field} {v!r} {why}")
    return dt


def _local(naive: datetime, v, field: str) -> datetime:
    """A naive time read in the agency's zone; 422-worthy when the clocks skipped it (DST gap)."""
    zone = times.agency_zone()
    dt = naive.replace(tzinfo=zone)
    try:
        back = dt.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        raise RowError(f"{field} {v!r} is out of range") from None
    if back != naive:
        raise RowError(f"{field} {v!r} does not exist in {zone.key}: the clocks skipped that hour "
                       "(daylight saving time); send the time with its UTC offset")
    return dt


def _num(row: dict, key: str, *, lo: float | None = None, hi: float | None = None) -> float | None:
    v = row.get(key)
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise RowError(f"{key} {v!r} is not a number") from None
    if not math.isfinite(x):
        raise RowError(f"{key} {v!r} is not a finite number")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise RowError(f"{key} {x:g} is out of range [{lo:g}, {hi:g}]")
    return x


_INT_TEXT = re.compile(r"[A-Za-z #-]*?(-?\d+)[A-Za-z ]*")   # 2, '2', 'P2', 'PRI 2'


def _int(row: dict, key: str, lo: int = -2**31, hi: int = 2**31 - 1) -> int | None:
    """An integer field within [lo, hi]; '1e+20' or 3.5 is no integer (never silently truncated)."""
    v = row.get(key)
    if v is None:
        return None
    if isinstance(v, bool):
        raise RowError(f"{key} {v!r} is not an integer")
    if isinstance(v, float):
        if not v.is_integer():
            raise RowError(f"{key} {v!r} is not an integer")
        n = int(v)
    elif isinstance(v, int):
        n = v
    else:
        m = _INT_TEXT.fullmatch(str(v).strip())
        if not m:
            raise RowError(f"{key} {v!r} is not an integer")
        n = int(m.group(1))
    if not lo <= n <= hi:
        raise RowError(f"{key} {n} is out of range ({lo} to {hi})")
    return n


def in_service_area(lon: float, lat: float) -> bool:
    x0, y0, x1, y1 = get_settings().service_area
    return x0 <= lon <= x1 and y0 <= lat <= y1


def position(row: dict, required: bool = False) -> tuple[float, float] | None:
    """lon/lat from a row, validated: range, swapped order, service area."""
    has_lon, has_lat = row.get("lon") is not None, row.get("lat") is not None
    if not has_lon and not has_lat:
        if required:
            raise RowError("missing lon/lat")
        return None
    if has_lon != has_lat:
        raise RowError("lon given without lat" if has_lon else "lat given without lon")
    lon, lat = _num(row, "lon"), _num(row, "lat")
    if not (-180 <= lon <= 180) or not (-90 <= lat <= 90):
        if -180 <= lat <= 180 and -90 <= lon <= 90:
            raise RowError(f"latitude/longitude out of range (lat {lat:g}, lon {lon:g}): "
                           "lat and lon look swapped")
        raise RowError(f"latitude/longitude out of range (lat {lat:g}, lon {lon:g})")
    if not in_service_area(lon, lat):
        if in_service_area(lat, lon):
            raise RowError(f"lat and lon look swapped (lat {lat:g}, lon {lon:g}): "
                           "send lon as x (east-west) and lat as y")
        raise RowError(f"position (lon {lon:g}, lat {lat:g}) is outside the service area")
    return lon, lat


def _attrs(row: dict, canonical: tuple[str, ...]) -> dict:
    skip = set(canonical) | {"lon", "lat", "id", "observed_at", "__invalid__"}
    return {k: v for k, v in row.items() if k not in skip and v is not None}


def _event(row: dict, feed: Feed, i: int) -> Event:
    fid = _id(row)
    t = parse_time(row.get("observed_at"))
    pos = position(row)
    ev = Event(feed=feed.name, feed_id=fid, kind=feed.kind, observed_at=t, row=i,
               address=(str(row["address"]) if row.get("address") is not None else None))
    if pos:
        ev.lon, ev.lat, ev.loc_method, ev.loc_score = pos[0], pos[1], "given", 1.0
    return ev


def norm_alpr(row: dict, feed: Feed, i: int) -> Event:
    ev = _event(row, feed, i)
    plate = re.sub(r"[\s\-\.·]", "", str(row.get("plate") or "")).upper()
    if not plate:
        raise RowError("missing plate")
    ev.plate = plate
    conf = _num(row, "confidence", lo=0, hi=100)
    if conf is not None and conf > 1:
        conf /= 100.0  # percent
    ev.attrs = {"state": (str(row["state"]).upper() if row.get("state") else None),
                "camera_id": (str(row["camera_id"]) if row.get("camera_id") is not None else None),
                "confidence": conf, **_attrs(row, feed.fields)}
    if ev.lon is None and not ev.attrs["camera_id"]:
        raise RowError("no lon/lat and no camera_id: the read cannot be placed")
    return ev


def norm_gunshot(row: dict, feed: Feed, i: int) -> Event:
    ev = _event(row, feed, i)
    rounds = _int(row, "rounds", hi=10_000)
    if rounds is not None and rounds < 0:
        raise RowError(f"rounds {rounds} is negative")
    conf = _num(row, "confidence", lo=0, hi=100)
    if conf is not None and conf > 1:
        conf /= 100.0
    ev.type = "gunshot"
    ev.attrs = {"rounds": rounds, "confidence": conf, **_attrs(row, feed.fields)}
    if ev.lon is None and not ev.address:
        raise RowError("no location: give lon/lat or an address")
    return ev


def norm_incident(row: dict, feed: Feed, i: int) -> Event:
    """CAD incidents and 911 calls: a type, a priority, a place (coordinates or an address)."""
    ev = _event(row, feed, i)
    ev.type = str(row["type"]) if row.get("type") is not None else None
    ev.priority = _int(row, "priority", lo=0, hi=32767)     # events.priority is a smallint
    ev.attrs = {"description": row.get("description"), **_attrs(row, feed.fields)}
    if ev.lon is None and not ev.address:
        raise RowError("no location: give lon/lat or an address")
    return ev


TIP_SOURCES = ("phone", "web", "social", "walkin", "text", "email", "other")
_TIP_SOURCE_ALIASES = {"socialmedia": "social", "webform": "web", "online": "web", "walk": "walkin",
                       "call": "phone", "hotline": "phone", "sms": "text"}
TIP_CREDIBILITY = ("unverified", "low", "medium", "high")
_URL = re.compile(r"^https?://\S+$", re.I)
_CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")  # as cases.case_number (sql/140)


def _bool(row: dict, key: str) -> bool | None:
    v = row.get(key)
    if v is None or isinstance(v, bool):
        return v
    t = str(v).strip().lower()
    if t in ("1", "true", "yes", "y", "t"):
        return True
    if t in ("0", "false", "no", "n", "f"):
        return False
    raise RowError(f"{key} {v!r} is not true or false")


def _urls(row: dict, key: str) -> list[str]:
    """A list of http(s) links: a JSON list, or text separated by commas, semicolons or spaces."""
    v = row.get(key)
    if v is None:
        return []
    items = v if isinstance(v, list) else re.split(r"[\s,;]+", str(v))
    out = [str(u).strip() for u in items if str(u).strip()]
    if len(out) > 20:
        raise RowError(f"{key}: at most 20 links")
    bad = [u for u in out if not _URL.match(u) or len(u) > 2000]
    if bad:
        raise RowError(f"{key}: {bad[0][:80]!r} is not an http(s) link")
    return out


def norm_tip(row: dict, feed: Feed, i: int) -> Event:
    """A tip or social-media lead: where it came from, what it says, how far it is believed. The
    place is optional (a point, or an address geocoded like CAD's); an anonymous tip's reporter
    is dropped here, never stored."""
    ev = _event(row, feed, i)
    text = str(row.get("text") or "").strip()
    if not text:
        raise RowError("missing text")
    if len(text) > 20_000:
        raise RowError("text is longer than 20,000 characters")
    src = re.sub(r"[\s_-]", "", str(row.get("source") or "other").lower())
    src = _TIP_SOURCE_ALIASES.get(src, src)
    if src not in TIP_SOURCES:
        raise RowError(f"source {row.get('source')!r} is not one of {', '.join(TIP_SOURCES)}")
    cred = str(row.get("credibility") or "unverified").strip().lower()
    if cred not in TIP_CREDIBILITY:
        raise RowError(f"credibility {row.get('credibility')!r} is not one of {', '.join(TIP_CREDIBILITY)}")
    case = str(row["case_number"]).strip() if row.get("case_number") is not None else None
    if case is not None and not _CASE_NUMBER.match(case):
        raise RowError(f"case_number {case[:80]!r} must be 1-64 letters, digits or . _ / -")
    anonymous = bool(_bool(row, "anonymous"))
    ev.type = src
    ev.attrs = {"source": src, "text": text, "links": _urls(row, "links"), "media": _urls(row, "media"),
                "credibility": cred, "anonymous": anonymous, "case_number": case,
                "reporter": None if anonymous else row.get("reporter"),
                **{k: v for k, v in _attrs(row, feed.fields).items() if k not in ("reporter",)}}
    if ev.lon is None and not ev.address:
        ev.loc_method, ev.loc_score = "none", None  # a tip need not say where
    return ev


def norm_avl(row: dict, feed: Feed, i: int) -> UnitPosition:
    uid = _id(row, "unit_id")
    status = str(row.get("status") or "available").lower().replace("-", "").replace(" ", "").replace("_", "")
    if status not in UNIT_STATUSES:
        raise RowError(f"status {row.get('status')!r} is not one of {', '.join(UNIT_STATUSES)}")
    lon, lat = position(row, required=True)
    heading = _num(row, "heading", lo=0, hi=360)
    return UnitPosition(unit_id=uid, callsign=str(row.get("callsign") or uid), status=status,
                        observed_at=parse_time(row.get("observed_at")), lon=lon, lat=lat,
                        heading_deg=(heading % 360 if heading is not None else None),
                        speed_kmh=_num(row, "speed", lo=0, hi=400),
                        type=str(row.get("type") or "patrol"), incident=str(row.get("incident") or "").strip() or None, row=i)


_SAFE_URL = re.compile(r"^(https?|rtsp)://[^\s<>\"']+$", re.I)
_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*:")


def _link(row: dict, name: str, contact: bool = False) -> str | None:
    """A URL field: http, https or rtsp only (a `javascript:` link would run in the analyst's
    browser). A contact may also be an e-mail address or a phone number (no scheme, or mailto:/tel:)."""
    v = row.get(name)
    if v is None or str(v).strip() == "":
        return None
    v = str(v).strip()
    if len(v) > 2000:
        raise RowError(f"{name} is longer than 2000 characters")
    if _SAFE_URL.match(v) or (contact and (not _SCHEME.match(v) or v.lower().startswith(("mailto:", "tel:")))):
        return v
    raise RowError(f"{name} must be an http, https or rtsp URL (got {v[:40]!r})")


def norm_camera(row: dict, feed: Feed, i: int) -> Camera:
    cid = _id(row)
    lon, lat = position(row, required=True)
    owner = str(row.get("owner") or "agency").lower()
    if owner not in CAMERA_OWNERS:
        raise RowError(f"owner {row.get('owner')!r} is not one of {', '.join(CAMERA_OWNERS)}")
    heading = _num(row, "heading_deg", lo=0, hi=360)
    fov = _num(row, "fov_deg", lo=0, hi=360)
    if fov is not None and fov <= 0:
        raise RowError("fov_deg must be greater than 0")
    rng = _num(row, "range_m", lo=0, hi=100000)
    if rng is not None and rng <= 0:
        raise RowError("range_m must be greater than 0")
    return Camera(id=cid, name=str(row.get("name") or cid), lon=lon, lat=lat, owner=owner,
                  kind=str(row.get("kind") or "cctv"), project=row.get("project"),
                  heading_deg=(heading % 360 if heading is not None else None), fov_deg=fov, range_m=rng,
                  stream_url=_link(row, "stream_url"), snapshot_url=_link(row, "snapshot_url"),
                  contact=_link(row, "contact", contact=True),
                  status=str(row.get("status") or "online"), row=i)


FEEDS: dict[str, Feed] = {f.name: f for f in (
    Feed("alpr", "alpr_read", ("id", "observed_at", "plate"),
         ("id", "plate", "state", "camera_id", "observed_at", "lon", "lat", "confidence"), norm_alpr),
    Feed("gunshot", "gunshot", ("id", "observed_at"),
         ("id", "observed_at", "lon", "lat", "rounds", "confidence", "address"), norm_gunshot),
    Feed("cad", "cad_incident", ("id", "observed_at"),
         ("id", "observed_at", "type", "priority", "address", "lon", "lat", "description"), norm_incident,
         limits={"description": 10_000}),
    Feed("call", "call", ("id", "observed_at"),
         ("id", "observed_at", "type", "address", "lon", "lat", "priority"), norm_incident,
         limits={"description": 10_000}),
    Feed("tip", "tip", ("id", "observed_at", "text"),
         ("id", "observed_at", "source", "text", "links", "media", "address", "lon", "lat", "credibility",
          "anonymous", "case_number", "reporter"), norm_tip,
         limits={"text": 20_000, "links": 42_000, "media": 42_000}),  # 20 links of up to 2,000 characters
    Feed("avl", "unit", ("unit_id", "observed_at", "lon", "lat"),
         ("unit_id", "callsign", "status", "observed_at", "lon", "lat", "heading", "speed", "type", "incident"),
         norm_avl),
    Feed("camera", "camera", ("id", "lon", "lat"),
         ("id", "name", "lon", "lat", "heading_deg", "fov_deg", "range_m", "owner", "stream_url",
          "snapshot_url", "kind", "project", "contact", "status"), norm_camera),
)}


def missing_columns(feed: Feed, header: list[str]) -> list[str]:
    """Required columns absent from a tabular header (CSV): the whole file is the wrong shape."""
    seen = {ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header}
    return [c for c in feed.required if c not in seen]


def unrecognised(feed: Feed, rows: list[dict]) -> bool:
    """True when no row carries any of the feed's columns (a document meant for another feed)."""
    known = set(feed.fields) | {"__invalid__"}
    return bool(rows) and not any(known & set(_clean(r).keys()) for r in rows)


def normalise(feed: Feed, row: dict, i: int):
    if "__invalid__" in row:
        raise RowError(str(row["__invalid__"]))
    _check_row(feed, row)
    return feed.normalise(_clean(row), feed, i)
