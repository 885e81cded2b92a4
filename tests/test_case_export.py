"""The case package, opened by real readers: GDAL's ogrinfo for the GeoPackage, an XML parser for
KML/KMZ, pypdf for the PDF's text, the zip's manifest and CoT files for the TAK data package.
A case with no located events still exports valid files; every export is audited."""
from __future__ import annotations

import io
import re
import subprocess
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

H = {"X-RTCC-Reason": "case export test", "X-RTCC-Case-Number": "EXP-TESTS"}  # plate data's purpose
KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"


def _ingest(client, feed, rows):
    r = client.post(f"/api/ingest/{feed}", json=rows)
    assert r.status_code == 200 and not r.json()["rejected"], r.text
    return r.json()


@pytest.fixture(scope="module")
def case(client):
    """A case with a CAD incident, a gunshot, two reads of one plate, a located and an unplaced tip,
    a task and a note."""
    n = f"EXP-{uuid.uuid4().hex[:8].upper()}"
    t0 = datetime(2008, 6, 1, 22, 0, tzinfo=timezone.utc) + timedelta(hours=uuid.uuid4().int % 2000)
    lon, lat = -76.6150, 39.2950
    plate = ("E" + uuid.uuid4().hex.upper())[:7]
    ids = {"cad": f"c-{uuid.uuid4().hex}", "gun": f"g-{uuid.uuid4().hex}"}
    _ingest(client, "cad", [{"id": ids["cad"], "observed_at": t0.isoformat(), "lon": lon, "lat": lat,
                             "type": "SHOOTING", "priority": 1, "address": "1200 N CHARLES ST"}])
    _ingest(client, "gunshot", [{"id": ids["gun"], "observed_at": (t0 - timedelta(minutes=1)).isoformat(),
                                 "lon": lon + 0.001, "lat": lat, "rounds": 5}])
    reads = [{"id": f"r-{uuid.uuid4().hex}", "plate": plate, "state": "MD", "camera_id": f"CAM-{i}",
              "observed_at": (t0 + timedelta(minutes=2 + 3 * i)).isoformat(), "lon": lon + 0.004 * i,
              "lat": lat + 0.002 * i} for i in range(2)]
    _ingest(client, "alpr", reads)
    _ingest(client, "tip", [
        {"id": f"t-{uuid.uuid4().hex}", "observed_at": (t0 + timedelta(minutes=30)).isoformat(), "source": "web",
         "text": "the shooter left in a grey sedan", "lon": lon - 0.002, "lat": lat, "case_number": n},
        {"id": f"t-{uuid.uuid4().hex}", "observed_at": (t0 + timedelta(minutes=40)).isoformat(), "source": "phone",
         "text": "ask the corner store owner", "anonymous": True, "case_number": n}])
    from services import db
    with db.pool().connection() as conn:
        eids = [r[0] for r in conn.execute("SELECT id FROM events WHERE feed_id = ANY(%s) ORDER BY observed_at",
                                           ([ids["cad"], ids["gun"]] + [r["id"] for r in reads],))]
    task = client.post("/api/tasks", json={"analyst": "A. Tester", "title": "canvass video", "incident_ids": eids[:1]}).json()
    assert client.post(f"/api/cases/{n}/items", json={"events": eids, "tasks": [task["id"]]}, headers=H).status_code == 200
    assert client.post(f"/api/cases/{n}/notes", json={"text": "Witness: two men, grey sedan"}, headers=H).status_code == 200
    return {"n": n, "plate": plate, "events": 6, "located": 5, "eids": eids, "t0": t0}


def export(client, n: str, fmt: str) -> bytes:
    r = client.get(f"/api/cases/{n}/export", params={"format": fmt}, headers=H)
    assert r.status_code == 200, r.text
    assert f'filename="case-{n}.' in r.headers["content-disposition"]
    return r.content


def ogrinfo(path: Path) -> dict[str, int]:
    """Layer name -> feature count, as GDAL reads the file."""
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True).stdout
    names = re.findall(r"^Layer name: (\S+)", out, re.M)
    counts = [int(c) for c in re.findall(r"^Feature Count: (\d+)", out, re.M)]
    return dict(zip(names, counts))


def test_geopackage_has_a_layer_per_kind_and_the_notes_table(client, conn, case, tmp_path):
    p = tmp_path / "case.gpkg"
    p.write_bytes(export(client, case["n"], "gpkg"))
    layers = ogrinfo(p)
    assert layers == {"case": 1, "alpr_read": 2, "cad_incident": 1, "gunshot": 1, "tip": 2, "tasks": 1,
                      "notes": 1, "searches": 0, "alerts": 0}
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(p), "alpr_read"], capture_output=True, text=True,
                         check=True).stdout
    assert out.count(case["plate"]) == 2 and "POINT (" in out
    notes = subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(p), "notes"], capture_output=True, text=True,
                           check=True).stdout
    assert "Witness: two men, grey sedan" in notes
    tips = subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(p), "tip"], capture_output=True, text=True,
                          check=True).stdout
    assert "POINT EMPTY" in tips or tips.count("POINT (") == 1  # the unplaced tip has no geometry
    d = conn.execute("SELECT detail FROM audit_log WHERE action = 'cases.export' ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert (d["case_number"], d["format"], d["events"], d["alpr_reads"]) == (case["n"], "gpkg", 6, 2)


def test_kml_and_kmz_carry_timestamps_for_the_time_slider(client, case):
    for fmt in ("kml", "kmz"):
        body = export(client, case["n"], fmt)
        if fmt == "kmz":
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                assert z.namelist() == ["doc.kml"]
                body = z.read("doc.kml")
        root = ET.fromstring(body)
        pms = [pm for pm in root.iter(f"{KML}Placemark") if pm.find(f"{KML}Point") is not None]
        assert len(pms) == case["located"]
        whens = [pm.find(f"{KML}TimeStamp/{KML}when").text for pm in pms]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", w) for w in whens)
        assert case["t0"].strftime("%Y-%m-%dT%H:%M:%SZ") in whens
        folders = [f.find(f"{KML}name").text for f in root.iter(f"{KML}Folder")]
        assert {"ALPR reads", "CAD incidents", "Gunshot detections", "Tips and leads", "Plate trajectories"} <= set(folders)
        track = next(root.iter(f"{GX}Track"))
        assert len(track.findall(f"{KML}when")) == 2 and len(track.findall(f"{GX}coord")) == 2
        for pm in pms:
            lon, lat = map(float, pm.find(f"{KML}Point/{KML}coordinates").text.split(","))
            assert -76.75 < lon < -76.45 and 39.15 < lat < 39.40


def test_pdf_report_text(client, case):
    import pypdf
    body = export(client, case["n"], "pdf")
    assert body[:5] == b"%PDF-"
    reader = pypdf.PdfReader(io.BytesIO(body))
    text = " ".join(p.extract_text() for p in reader.pages)
    text = re.sub(r"\s+", " ", text)
    for s in (f"Case {case['n']}", "test-admin", case["plate"], "Witness: two men, grey sedan", "CAM-0",
              "Map of the case area", "Timeline", "canvass video", "SHOOTING"):
        assert s in text, s
    assert "exported by test-admin" in text


def test_pdf_prints_a_long_unbroken_note_whole(client):
    """A 20,000-character note with no space (a pasted hash or URL; the fuzzer sends one) wraps at
    inserted zero-width spaces: WeasyPrint's search for a break in one long run grew with the square
    of its length (15-25 s, past the fuzz run's 20 s request timeout). Every character is printed."""
    import pypdf
    from services.investigations.export import pdf
    assert pdf._breakable("a" * 45 + " b") == "a" * 20 + "\u200b" + "a" * 20 + "\u200b" + "a" * 5 + " b"
    n = f"LONG-{uuid.uuid4().hex[:8].upper()}"
    assert client.post("/api/cases", json={"case_number": n, "title": "T" * 500}).status_code in (200, 201)
    note = "".join(chr(ord("A") + i % 26) for i in range(20_000))
    assert client.post(f"/api/cases/{n}/notes", json={"text": note}).status_code == 200
    body = export(client, n, "pdf")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages)
    text, at = re.sub(r"[\s\u200b]+", "", text), 0  # pages break the note: their footers sit inside it
    for i in range(0, len(note), 20):
        at = text.find(note[i:i + 20], at)
        assert at >= 0, f"the note's characters {i}-{i + 20} are missing"


def test_a_case_with_plate_reads_needs_the_stated_purpose(client, case):
    for path in (f"/api/cases/{case['n']}", f"/api/cases/{case['n']}/export?format=kml"):
        r = client.get(path, headers={"X-RTCC-Reason": "no case number"})
        assert r.status_code == 403 and "case" in r.json()["detail"], r.text


def test_tak_data_package_manifest_and_cot(client, case):
    body = export(client, case["n"], "takzip")
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        names = set(z.namelist())
        m = ET.fromstring(z.read("MANIFEST/manifest.xml"))
        assert m.tag == "MissionPackageManifest" and m.get("version") == "2"
        params = {p.get("name"): p.get("value") for p in m.find("Configuration")}
        assert params["name"] == f"case-{case['n']}" and params["uid"]
        entries = [c.get("zipEntry") for c in m.find("Contents")]
        assert len(entries) == case["located"] + 1  # the markers and the plate's track
        assert set(entries) <= names
        types = []
        for e in entries:
            ev = ET.fromstring(z.read(e))
            assert ev.tag == "event" and ev.get("version") == "2.0"
            assert ev.get("uid") == e.split("/")[0]
            pt = ev.find("point")
            assert 39.15 < float(pt.get("lat")) < 39.40 and -76.75 < float(pt.get("lon")) < -76.45
            assert ev.find("detail/archive") is not None
            types.append(ev.get("type"))
        assert sorted(types) == ["b-m-p-s-m"] * case["located"] + ["u-d-f"]


def test_case_without_located_events_still_exports(client, conn, tmp_path):
    n = f"EMPTY-{uuid.uuid4().hex[:6]}"
    assert client.post("/api/cases", json={"case_number": n, "title": "nothing placed yet"}, headers=H).status_code == 200
    client.post(f"/api/cases/{n}/notes", json={"text": "opened on a phone call"}, headers=H)
    p = tmp_path / "e.gpkg"
    p.write_bytes(export(client, n, "gpkg"))
    assert ogrinfo(p) == {"case": 1, "events": 0, "tasks": 0, "notes": 1, "searches": 0, "alerts": 0}
    root = ET.fromstring(export(client, n, "kml"))
    assert root.find(f"{KML}Document/{KML}name").text.startswith(f"Case {n}")
    import pypdf
    text = pypdf.PdfReader(io.BytesIO(export(client, n, "pdf"))).pages[0].extract_text()
    assert "No located events" in text and "opened on a phone call" in " ".join(text.split())
    with zipfile.ZipFile(io.BytesIO(export(client, n, "takzip"))) as z:
        assert z.namelist() == ["MANIFEST/manifest.xml"]
        assert list(ET.fromstring(z.read("MANIFEST/manifest.xml")).find("Contents")) == []


def test_export_of_unknown_case_or_format(client):
    assert client.get(f"/api/cases/NONE-{uuid.uuid4().hex[:6]}/export", params={"format": "pdf"}).status_code == 404
    assert client.get("/api/cases/X1/export", params={"format": "docx"}).status_code == 400
