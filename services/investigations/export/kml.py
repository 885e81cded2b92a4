"""The case as KML 2.2 (OGC 07-147r2) for Google Earth: a folder per event kind, each placemark
with its <TimeStamp> so the time slider replays the case, plate trajectories as tracks
(<gx:Track> with a <when> per read), and the notes in the document's description. KMZ is the same
document zipped as doc.kml."""
from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree as ET

from services.investigations.export.rows import KIND_TITLES, event_row, iso, label

NS = "http://www.opengis.net/kml/2.2"
GX = "http://www.google.com/kml/ext/2.2"
ET.register_namespace("", NS)
ET.register_namespace("gx", GX)
COLORS = {"alpr_read": "ffc27119", "gunshot": "ff9c2e86", "cad_incident": "ff3131e0", "call": "ff008cf0",
          "tip": "ff8049e6"}  # aabbggrr, the catalog's colours
MEDIA_TYPES = {"kml": "application/vnd.google-earth.kml+xml", "kmz": "application/vnd.google-earth.kmz"}


def _sub(parent, tag: str, text=None, ns: str = NS, **attrs):
    el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        el.text = str(text)
    return el


def document(data: dict, meta: dict) -> ET.Element:
    case = data["case"] or {}
    root = ET.Element(f"{{{NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", f"Case {case.get('case_number')}: {case.get('title') or ''}".strip().rstrip(":"))
    notes = "\n".join(f"[{iso(n['at'])}] {n['author']}: {n['text']}" for n in data["notes"])
    _sub(doc, "description", f"Exported by {meta['exported_by']} at {meta['exported_at']} "
                             f"({meta['agency']}).\n{notes}".strip())
    for kind, color in COLORS.items():
        st = _sub(doc, "Style", id=kind)
        icon = _sub(st, "IconStyle")
        _sub(icon, "color", color)
        _sub(icon, "scale", "0.9")
    folders: dict[str, ET.Element] = {}
    for e in data["events"]:
        if e["lon"] is None:
            continue
        if e["kind"] not in folders:
            folders[e["kind"]] = _sub(doc, "Folder")
            _sub(folders[e["kind"]], "name", KIND_TITLES.get(e["kind"], e["kind"]))
        pm = _sub(folders[e["kind"]], "Placemark", id=f"event-{e['id']}")
        _sub(pm, "name", label(e))
        ts = _sub(pm, "TimeStamp")
        _sub(ts, "when", iso(e["observed_at"]))
        if e["kind"] in COLORS:
            _sub(pm, "styleUrl", f"#{e['kind']}")
        ext = _sub(pm, "ExtendedData")
        for k, v in event_row(e).items():
            if v is not None and k not in ("lon", "lat"):
                d = _sub(ext, "Data", name=k)
                _sub(d, "value", v.isoformat() if hasattr(v, "isoformat") else v)
        pt = _sub(pm, "Point")
        _sub(pt, "coordinates", f"{e['lon']:.7f},{e['lat']:.7f}")
    _tracks(doc, data["events"])
    return root


def _tracks(doc: ET.Element, events: list[dict]) -> None:
    """One gx:Track per plate read at two places or more: Google Earth animates it on the slider."""
    plates: dict[str, list[dict]] = {}
    for e in events:
        if e["kind"] == "alpr_read" and e["plate"] and e["lon"] is not None:
            plates.setdefault(e["plate"], []).append(e)
    folder = None
    for plate, reads in sorted(plates.items()):
        if len(reads) < 2:
            continue
        if folder is None:
            folder = _sub(doc, "Folder")
            _sub(folder, "name", "Plate trajectories")
        pm = _sub(folder, "Placemark", id=f"track-{plate}")
        _sub(pm, "name", plate)
        track = _sub(pm, "Track", ns=GX)
        for r in reads:
            _sub(track, "when", iso(r["observed_at"]))
        for r in reads:
            _sub(track, "coord", f"{r['lon']:.7f} {r['lat']:.7f} 0", ns=GX)


def write(data: dict, meta: dict, zipped: bool = False) -> bytes:
    xml = ET.tostring(document(data, meta), encoding="utf-8", xml_declaration=True)
    if not zipped:
        return xml
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", xml)
    return buf.getvalue()
