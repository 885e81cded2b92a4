"""The case report as PDF: an HTML template (Jinja2) rendered by WeasyPrint, with the case area
drawn as SVG from our own streets and events (mapsvg.py), a timeline, tables of events, plates,
cameras, tasks, notes and plate searches, and who exported it and when on every page."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

import re

import jinja2
import psycopg
from markupsafe import Markup

from services.investigations.export import mapsvg
from services.investigations.export.rows import KIND_TITLES

MEDIA_TYPE = "application/pdf"
# Rows of each table (events, plates, cameras, plate searches); the rest are in the GeoPackage and
# KML. A report is read by people, and WeasyPrint lays out tables at ~100 rows a second on a busy
# machine (styles, line breaks and borders of every cell, in Python): a
# 5,000-event case printed every plate and camera (3,000+ rows each) in 90-140 s.
MAX_ROWS = 200


# WeasyPrint looks for a line break inside an unbroken run of characters in time that grows with
# the square of its length: a 20,000-character note without a space (a pasted hash, a URL, a
# fuzzer's string) took 15-25 s to print. Long runs get a zero-width space every BREAK_EVERY
# characters, so they wrap where a break is allowed anyway and print in well under a second.
LONG_RUN = re.compile(r"\S{40,}")
BREAK_EVERY = 20


def _breakable(value: object) -> object:
    """Jinja's finalize: every text printed by the template; markup (the SVG pictures) as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return LONG_RUN.sub(lambda m: "\u200b".join(m[0][i:i + BREAK_EVERY]
                                                     for i in range(0, len(m[0]), BREAK_EVERY)), value)
    return value


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, finalize=_breakable)
    return env.get_template("case.html")


def _fmt(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else ""


def _what(e: dict) -> str:
    a = e.get("attrs") or {}
    if e["kind"] == "alpr_read":
        return f"{e.get('plate')} ({a.get('state') or '?'}) at camera {a.get('camera_id') or '?'}"
    if e["kind"] == "tip":
        return f"[{a.get('source')}, {a.get('credibility')}] {(a.get('text') or '')[:200]}"
    if e["kind"] == "gunshot":
        return f"{a.get('rounds') or '?'} rounds"
    return " · ".join(str(x) for x in (e.get("type"), f"P{e['priority']}" if e.get("priority") is not None else None) if x)


def _plates(events: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for e in events:
        if e["kind"] != "alpr_read" or not e["plate"]:
            continue
        a = e.get("attrs") or {}
        p = out.setdefault(e["plate"], {"plate": e["plate"], "state": a.get("state"), "reads": 0,
                                        "first": e["observed_at"], "last": e["observed_at"], "cameras": []})
        p["reads"] += 1
        p["last"] = e["observed_at"]
        if a.get("camera_id") and a["camera_id"] not in p["cameras"]:
            p["cameras"].append(a["camera_id"])
    return sorted(out.values(), key=lambda p: (-p["reads"], p["plate"]))


def _cameras(conn: psycopg.Connection, events: list[dict]) -> list[dict]:
    reads: dict[str, int] = {}
    for e in events:
        cid = (e.get("attrs") or {}).get("camera_id")
        if cid:
            reads[cid] = reads.get(cid, 0) + 1
    rows = {r[0]: r for r in conn.execute("SELECT id, name, owner, COALESCE(stream_url, contact) FROM cameras "
                                          "WHERE id = ANY(%s)", (list(reads),))}
    return [{"id": c, "name": rows.get(c, (None,) * 4)[1], "owner": rows.get(c, (None,) * 4)[2],
             "link": rows.get(c, (None,) * 4)[3], "reads": n} for c, n in sorted(reads.items(), key=lambda x: -x[1])]


def _capped(name: str, rows: list) -> dict:
    """`name`: the first MAX_ROWS rows; `more_<name>`: how many are left out."""
    return {name: rows[:MAX_ROWS], f"more_{name}": max(0, len(rows) - MAX_ROWS)}


def write(conn: psycopg.Connection, data: dict, meta: dict, summary: dict) -> bytes:
    import weasyprint  # imported on first export: it loads Pango and fonts
    events = data["events"]
    html = _template().render(
        case=data["case"], meta=meta, agency=meta["agency"], summary=summary, titles=KIND_TITLES,
        colors=mapsvg.COLORS, map_svg=mapsvg.case_map(conn, events), timeline_svg=mapsvg.timeline(events),
        tasks=data["tasks"], notes=data["notes"], fmt=_fmt, what=_what,
        **_capped("events", events), **_capped("plates", _plates(events)), **_capped("cameras", _cameras(conn, events)),
        **_capped("searches", data["searches"]))
    return weasyprint.HTML(string=html).write_pdf()
