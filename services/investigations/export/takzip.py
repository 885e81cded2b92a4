"""The case as a TAK data package (ATAK/WinTAK/iTAK "Mission Package"): a zip with
MANIFEST/manifest.xml (MissionPackageManifest version 2) and one Cursor-on-Target 2.0 event per
item in a folder named by its uid. Located events become spot-map markers (b-m-p-s-m) coloured
by kind, plate trajectories become drawn lines (u-d-f), all archived so they stay on the device."""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

from services.investigations.export.rows import iso, label

# ARGB as a signed 32-bit integer, the form ATAK writes
ARGB = {"alpr_read": -15110374, "gunshot": -7983482, "cad_incident": -2084559, "call": -1012736,
        "tip": -1685120, "task": -679933}
STALE = timedelta(days=365)  # markers of a case do not expire on the device for a year
MEDIA_TYPE = "application/zip"


def _uid(case_number: str, item: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rtcc:case:{case_number}:{item}"))


def _event(uid: str, type_: str, t: datetime, lat: float, lon: float, now: datetime) -> ET.Element:
    ev = ET.Element("event", {"version": "2.0", "uid": uid, "type": type_, "how": "h-g-i-g-o",
                              "time": iso(now), "start": iso(t), "stale": iso(now + STALE)})
    ET.SubElement(ev, "point", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "hae": "9999999.0",
                                "ce": "9999999.0", "le": "9999999.0"})
    return ev


def marker(case_number: str, e: dict, now: datetime) -> tuple[str, bytes]:
    uid = _uid(case_number, f"event:{e['id']}")
    ev = _event(uid, "b-m-p-s-m", e["observed_at"], e["lat"], e["lon"], now)
    d = ET.SubElement(ev, "detail")
    color = str(ARGB.get(e["kind"], -1))
    ET.SubElement(d, "contact", {"callsign": label(e)[:80]})
    remarks = [f"{e['kind']} #{e['id']} at {iso(e['observed_at'])}", e.get("address") or "",
               ((e.get("attrs") or {}).get("text") or "")]
    ET.SubElement(d, "remarks").text = "\n".join(r for r in remarks if r)
    ET.SubElement(d, "color", {"argb": color})
    ET.SubElement(d, "usericon", {"iconsetpath": f"COT_MAPPING_SPOTMAP/b-m-p-s-m/{color}"})
    ET.SubElement(d, "archive")
    return uid, ET.tostring(ev, encoding="utf-8", xml_declaration=True)


def track(case_number: str, plate: str, reads: list[dict], now: datetime) -> tuple[str, bytes]:
    uid = _uid(case_number, f"track:{plate}")
    first = reads[0]
    ev = _event(uid, "u-d-f", first["observed_at"], first["lat"], first["lon"], now)
    d = ET.SubElement(ev, "detail")
    for r in reads:
        ET.SubElement(d, "link", {"point": f"{r['lat']:.7f},{r['lon']:.7f}"})
    ET.SubElement(d, "contact", {"callsign": f"Track {plate}"})
    ET.SubElement(d, "remarks").text = f"{plate}: {len(reads)} reads {iso(first['observed_at'])} to " \
                                       f"{iso(reads[-1]['observed_at'])}"
    ET.SubElement(d, "strokeColor", {"value": str(ARGB["alpr_read"])})
    ET.SubElement(d, "strokeWeight", {"value": "3.0"})
    ET.SubElement(d, "archive")
    return uid, ET.tostring(ev, encoding="utf-8", xml_declaration=True)


def manifest(case_number: str, name: str, uids: list[str]) -> bytes:
    m = ET.Element("MissionPackageManifest", {"version": "2"})
    conf = ET.SubElement(m, "Configuration")
    ET.SubElement(conf, "Parameter", {"name": "uid", "value": _uid(case_number, "package")})
    ET.SubElement(conf, "Parameter", {"name": "name", "value": name})
    ET.SubElement(conf, "Parameter", {"name": "onReceiveDelete", "value": "false"})
    contents = ET.SubElement(m, "Contents")
    for uid in uids:
        c = ET.SubElement(contents, "Content", {"ignore": "false", "zipEntry": f"{uid}/{uid}.cot"})
        ET.SubElement(c, "Parameter", {"name": "uid", "value": uid})
    return ET.tostring(m, encoding="utf-8", xml_declaration=True)


def write(data: dict, meta: dict) -> bytes:
    n = data["case"]["case_number"]
    now = datetime.now(timezone.utc)
    items: list[tuple[str, bytes]] = [marker(n, e, now) for e in data["events"] if e["lon"] is not None]
    plates: dict[str, list[dict]] = {}
    for e in data["events"]:
        if e["kind"] == "alpr_read" and e["plate"] and e["lon"] is not None:
            plates.setdefault(e["plate"], []).append(e)
    items += [track(n, p, reads, now) for p, reads in sorted(plates.items()) if len(reads) >= 2]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("MANIFEST/manifest.xml", manifest(n, f"case-{n}", [uid for uid, _ in items]))
        for uid, xml in items:
            z.writestr(f"{uid}/{uid}.cot", xml)
    return buf.getvalue()
