"""Pictures for the PDF report, drawn from our own data (no basemap server, no internet):
the case area as SVG (streets from the `streets` table, events coloured by kind, plate tracks),
and a timeline (one row per kind). Web Mercator (EPSG:3857) so the map looks like the web map."""
from __future__ import annotations

import math
from datetime import datetime
from html import escape

import psycopg

from services.investigations.export.rows import KIND_TITLES

COLORS = {"alpr_read": "#1971c2", "gunshot": "#862e9c", "cad_incident": "#e03131", "call": "#f08c00",
          "tip": "#e64980"}
R = 6378137.0  # Web Mercator sphere radius, metres
MIN_SPAN_M = 600.0  # the smallest area drawn (metres), so one event still shows its streets
# Below this scale (an area over ~7.5 km across) only classified streets are drawn: 75 m blocks are
# 3 pixels there, a grey mass that cost WeasyPrint ~15 s to parse.
MAJOR_ONLY_PX_PER_M = 0.1


def merc(lon: float, lat: float) -> tuple[float, float]:
    return R * math.radians(lon), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def case_map(conn: psycopg.Connection, events: list[dict], width: int = 760, height: int = 500) -> str:
    pts = [(e, *merc(e["lon"], e["lat"])) for e in events if e["lon"] is not None]
    if not pts:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="80" viewBox="0 0 {width} 80">'
                f'<rect width="{width}" height="80" fill="#f1f3f5"/><text x="{width / 2}" y="45" '
                'text-anchor="middle" font-size="14" fill="#495057">No located events in this case</text></svg>')
    xs, ys = [p[1] for p in pts], [p[2] for p in pts]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    span_x = max(max(xs) - min(xs), MIN_SPAN_M) * 1.2
    span_y = max(max(ys) - min(ys), MIN_SPAN_M) * 1.2
    s = min(width / span_x, height / span_y)          # pixels per metre
    x0, y1 = cx - width / (2 * s), cy + height / (2 * s)
    px = lambda x, y: ((x - x0) * s, (y1 - y) * s)     # noqa: E731 - map metres to pixels
    # One <path> for all streets and one per kind for the events: WeasyPrint styles and draws each
    # SVG element on its own, and a 5,000-event case over the whole city (40,000 street segments,
    # 5,000 circles) took minutes as separate elements. Events are dots drawn as zero-length
    # subpaths with round caps, one per pixel they occupy.
    # Streets in pixels, snapped to half a pixel: a city-wide case draws ~15,000 points, not 100,000
    # (WeasyPrint parses SVG path data point by point in Python).
    streets = conn.execute("""
        SELECT ST_AsSVG(ST_RemoveRepeatedPoints(ST_SnapToGrid(ST_TransScale(
                   ST_Simplify(ST_Transform(ST_Collect(geom), 3857), %(tol)s), %(dx)s, %(dy)s, %(s)s, %(s)s), 0.5)), 0, 1)
        FROM (SELECT geom FROM streets
              WHERE geom && ST_Transform(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 3857), 4326)
                AND (NOT %(major)s OR sha_class IN ('FWY', 'INT', 'PART', 'MART', 'COLL'))
              LIMIT 40000) s""", {"major": s < MAJOR_ONLY_PX_PER_M, "tol": 2.0 / s, "dx": -x0, "dy": -y1, "s": s, "x0": x0, "y0": y1 - height / s,
                                  "x1": x0 + width / s, "y1": y1}).fetchone()[0]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}"><rect width="{width}" height="{height}" fill="#f8f9fa"/>']
    if streets:
        out.append(f'<path d="{streets}" fill="none" stroke="#ced4da" stroke-width="1.2" stroke-linecap="round"/>')
    tracks: dict[str, list[tuple[float, float]]] = {}
    for e, x, y in pts:
        if e["kind"] == "alpr_read" and e["plate"]:
            tracks.setdefault(e["plate"], []).append(px(x, y))
    lines = " ".join("M" + " L".join(f"{a:.1f},{b:.1f}" for a, b in line) for line in tracks.values() if len(line) > 1)
    if lines:
        out.append(f'<path d="{lines}" fill="none" stroke="{COLORS["alpr_read"]}" stroke-width="1.5" '
                   'stroke-dasharray="4 3" opacity="0.7"/>')
    dots: dict[str, dict[tuple[int, int], None]] = {}
    for e, x, y in pts:
        a, b = px(x, y)
        dots.setdefault(e["kind"], {})[(round(a), round(b))] = None
    for kind, at in sorted(dots.items()):  # white halo under each kind's dots, as the stroke was
        d = _dots(at)
        out.append(f'<path d="{d}" fill="none" stroke="#fff" stroke-width="11" stroke-linecap="round"/>'
                   f'<path d="{d}" fill="none" stroke="{COLORS.get(kind, "#495057")}" stroke-width="9" stroke-linecap="round"/>')
    bar_m = _nice(width / s / 5)
    out.append(f'<g font-size="11" fill="#343a40"><line x1="12" y1="{height - 14}" x2="{12 + bar_m * s:.1f}" '
               f'y2="{height - 14}" stroke="#343a40" stroke-width="2"/><text x="12" y="{height - 20}">'
               f'{bar_m:g} m</text></g></svg>')
    return "".join(out)


def _dots(at) -> str:
    """Path data drawing a dot at each (x, y): a zero-length subpath, given a size by a round cap."""
    return "".join(f"M{a:g} {b:g}h0" for a, b in at)


def _nice(m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^n metres) not above m."""
    e = 10 ** math.floor(math.log10(max(m, 1)))
    return max(k * e for k in (1, 2, 5) if k * e <= m) if m >= 1 else 1


def timeline(events: list[dict], width: int = 760) -> str:
    """Events on a time axis, one row per kind."""
    if not events:
        return ""
    kinds = sorted({e["kind"] for e in events})
    t0, t1 = events[0]["observed_at"], events[-1]["observed_at"]
    span = max((t1 - t0).total_seconds(), 60.0)
    left, row_h = 130, 22
    h = row_h * len(kinds) + 34
    x = lambda t: left + (width - left - 10) * (t - t0).total_seconds() / span  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
           'font-size="11">']
    for i, k in enumerate(kinds):
        y = 12 + i * row_h
        out.append(f'<text x="0" y="{y + 4}" fill="#343a40">{escape(KIND_TITLES.get(k, k))}</text>'
                   f'<line x1="{left}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#e9ecef"/>')
        at = {(round(x(e["observed_at"]) * 2) / 2, y): None for e in events if e["kind"] == k}
        out.append(f'<path d="{_dots(at)}" fill="none" stroke="{COLORS.get(k, "#495057")}" stroke-width="7" '
                   'stroke-linecap="round" opacity="0.8"/>')
    y = 12 + len(kinds) * row_h
    out.append(f'<text x="{left}" y="{y + 8}" fill="#495057">{_fmt(t0)}</text>'
               f'<text x="{width - 10}" y="{y + 8}" fill="#495057" text-anchor="end">{_fmt(t1)}</text></svg>')
    return "".join(out)


def _fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")
