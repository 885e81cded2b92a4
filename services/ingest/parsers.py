"""Turn a request body into rows (dicts): JSON array, NDJSON, CSV, GeoJSON FeatureCollection,
or a NENA EIDO (NENA-STA-021) incident document. The Content-Type picks the parser."""
from __future__ import annotations

import csv
import io

import orjson

from services.errors import BadRequest, UnsupportedMediaType, Unprocessable

JSON_TYPES = {"application/json", "application/geo+json", "application/eido+json", "text/json"}
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonlines", "application/x-jsonlines"}
CSV_TYPES = {"text/csv", "application/csv"}
# text/plain is refused: a web page may send it cross-site without a CORS preflight (CSRF).
SIMPLE_TYPES = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadRequest(f"body is not valid UTF-8 (byte {e.start}): send UTF-8 text") from None


def parse_body(body: bytes, content_type: str | None) -> tuple[list[dict], list[str] | None]:
    """Rows, and the header when the format has one (CSV)."""
    mt = media_type(content_type)
    if mt in CSV_TYPES:
        return parse_csv(decode_text(body))
    if mt in NDJSON_TYPES:
        return parse_ndjson(decode_text(body)), None
    if mt in JSON_TYPES or mt == "":
        return parse_json(body), None
    if mt in SIMPLE_TYPES:
        raise UnsupportedMediaType(f"Content-Type '{mt}' is refused: any web page can send it without asking "
                                   "(cross-site request forgery); use text/csv for CSV, or a JSON type")
    raise UnsupportedMediaType(
        f"unsupported Content-Type '{mt}': use application/json, application/geo+json, "
        "application/x-ndjson or text/csv")


def parse_path(text: str, suffix: str) -> tuple[list[dict], list[str] | None]:
    """Parse a file's text by its extension (CLI)."""
    suffix = suffix.lower()
    if suffix == ".csv":
        return parse_csv(text)
    if suffix in (".ndjson", ".jsonl"):
        return parse_ndjson(text), None
    return parse_json(text.encode()), None


def parse_json(body: bytes) -> list[dict]:
    if body[:3] == b"\xef\xbb\xbf":  # a UTF-8 byte order mark, as CSV and NDJSON accept it
        body = body[3:]
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        if isinstance(body, bytes):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as u:
                raise BadRequest(f"body is not valid UTF-8 (byte {u.start}): send UTF-8 text") from None
        raise BadRequest(f"body is not valid JSON: {e}") from None
    return rows_from_document(doc)


def rows_from_document(doc) -> list[dict]:
    if isinstance(doc, list):
        return [r if isinstance(r, dict) else {"__invalid__": f"row is a JSON {type(r).__name__}, not an object"}
                for r in doc]
    if isinstance(doc, dict):
        if doc.get("type") == "FeatureCollection":
            feats = doc.get("features")
            if not isinstance(feats, list):
                raise Unprocessable("FeatureCollection has no 'features' array")
            return [feature_row(f) for f in feats]
        if doc.get("type") == "Feature":
            return [feature_row(doc)]
        if "incidentComponent" in doc or "incidentTrackingIdentifier" in doc:
            return [eido_row(doc)]
        if isinstance(doc.get("rows"), list):
            return rows_from_document(doc["rows"])
        return [doc]
    raise Unprocessable("JSON body must be an array of objects, an object, or a GeoJSON FeatureCollection")


def parse_ndjson(text: str) -> list[dict]:
    rows: list[dict] = []
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            r = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            r = {"__invalid__": f"line {i + 1} is not valid JSON: {e}"}
        rows.append(r if isinstance(r, dict) else {"__invalid__": f"line {i + 1} is not a JSON object"})
    return rows


# Python's csv refuses fields over 131,072 characters with an error that failed the whole batch;
# fields are bounded per feed instead (services.ingest.feeds.field_limit), with a per-row reason.
csv.field_size_limit(2**31 - 1)


def parse_csv(text: str) -> tuple[list[dict], list[str]]:
    """Rows of a CSV text with a header. A quoting error (an unclosed quote swallows the lines after
    it) costs its own row only: that row is reported and reading resumes on the next line."""
    lines = list(io.StringIO(text, newline=""))
    header_rows, start = _records(lines, 0, 1)
    if header_rows and "__invalid__" in header_rows[0]:
        raise Unprocessable(f"CSV header row: {header_rows[0]['__invalid__']}")
    if not header_rows or not header_rows[0]["fields"]:
        raise Unprocessable("CSV has no header row")
    header = [h.strip() for h in header_rows[0]["fields"]]
    if len(set(header)) != len(header):
        raise Unprocessable(f"CSV header repeats a column: {', '.join(header)}")
    rows = []
    for rec in _records(lines, start, None, len(header))[0]:
        if "__invalid__" in rec:
            rows.append({"__invalid__": rec["__invalid__"]})
            continue
        fields = rec["fields"]
        if not fields:
            continue  # a blank line (csv.DictReader skipped them too)
        row = {k: (v if v != "" else None) for k, v in zip(header, fields)}
        for k in header[len(fields):]:
            row[k] = None
        if len(fields) > len(header):
            row["__invalid__"] = f"row has {len(fields) - len(header)} more field(s) than the header"
        rows.append(row)
    return rows, header


def _records(lines: list[str], i: int, limit: int | None, width: int | None = None) -> tuple[list[dict], int]:
    """Records from lines[i:], at most `limit`; (records, index of the next unread line).

    A record the csv module cannot read (strict mode: text after a closing quote, end of data inside a
    quoted field), or one that runs over several lines into the wrong number of fields (an unclosed
    quote that met a later one), is reported on its first line, and reading restarts on the line after."""
    out: list[dict] = []
    while i < len(lines) and (limit is None or len(out) < limit):
        reader = csv.reader(iter(lines[i:]), strict=True)
        used = 0  # lines consumed by this reader before the current record
        try:
            for fields in reader:
                spanned = reader.line_num - used
                if width is not None and spanned > 1 and len(fields) != width:
                    raise csv.Error(f"a quoted field runs over {spanned} lines into {len(fields)} fields "
                                    f"(the header has {width}): an unclosed quote?")
                out.append({"fields": fields})
                used = reader.line_num
                if limit is not None and len(out) >= limit:
                    break
            i += used
            if limit is None or len(out) < limit:
                i = len(lines)
        except csv.Error as e:
            out.append({"__invalid__": f"CSV quoting error: {e}"})
            i += used + 1
    return out, i


def feature_row(f) -> dict:
    if not isinstance(f, dict) or f.get("type") != "Feature":
        return {"__invalid__": "not a GeoJSON Feature"}
    props = f.get("properties")
    if props is not None and not isinstance(props, dict):
        return {"__invalid__": f"Feature properties must be an object, got a JSON {type(props).__name__}"}
    row = dict(props or {})
    if "id" not in row and f.get("id") is not None:
        row["id"] = f["id"]
    g = f.get("geometry")
    if g is not None:
        if not isinstance(g, dict) or g.get("type") != "Point":
            row["__invalid__"] = f"geometry must be a Point, got {g.get('type') if isinstance(g, dict) else g!r}"
        else:
            c = g.get("coordinates")
            if isinstance(c, list) and len(c) >= 2:
                row.setdefault("lon", c[0])
                row.setdefault("lat", c[1])
            else:
                row["__invalid__"] = "Point coordinates must be an array [lon, lat]"
    return row


def _obj(v) -> dict:
    """v if it is a JSON object, else {}: EIDO senders put strings or lists where objects belong,
    and such a part is read as absent (the row is then judged on what remains)."""
    return v if isinstance(v, dict) else {}


def _first(v):
    """The first element of a list, or v itself."""
    return (v[0] if v else None) if isinstance(v, list) else v


def eido_row(doc: dict) -> dict:
    """Map a NENA EIDO incident document onto the cad feed's canonical fields.

    Takes the incident tracking id, type (first common-registry text), priority and the first
    locationComponent (civic address and/or geodetic point)."""
    inc = _obj(_first(doc.get("incidentComponent"))) or doc
    row: dict = {"eido": True}
    row["id"] = inc.get("incidentTrackingIdentifier") or doc.get("eidoMessageIdentifier")
    row["type"] = _first(inc.get("incidentTypeCommonRegistryText") or inc.get("incidentTypeLocalRegistryText"))
    row["priority"] = inc.get("incidentCommonPriorityNumber", inc.get("incidentPriority"))
    row["observed_at"] = (inc.get("incidentCreationTimestamp") or inc.get("lastUpdateTimestamp")
                          or doc.get("lastUpdateTimestamp"))
    row["description"] = inc.get("incidentDescriptionText") or inc.get("incidentDetailedDescriptionText")
    loc = _obj(_first(doc.get("locationComponent")))
    by_value = _obj(loc.get("locationByValue")) or loc
    civic = by_value.get("civicAddressText") or by_value.get("civicAddress") or loc.get("civicAddressText")
    if isinstance(civic, dict):
        parts = [civic.get(k) for k in ("HNO", "HNS", "PRD", "RD", "STS", "POD")]
        civic = " ".join(str(p) for p in parts if p) or None
    elif civic is not None and not isinstance(civic, str):
        civic = None
    row["address"] = civic
    point = _obj(by_value.get("geo") or by_value.get("point") or by_value.get("geodeticLocation"))
    coords = point.get("coordinates") or point.get("pos")
    if isinstance(coords, str):
        coords = coords.split()
    if isinstance(coords, (list, tuple)) and len(coords) >= 2:
        # GeoJSON order is lon, lat; GML 'pos' (PIDF-LO) is lat lon.
        if "pos" in point:
            row["lat"], row["lon"] = coords[0], coords[1]
        else:
            row["lon"], row["lat"] = coords[0], coords[1]
    for a, b in (("latitude", "lat"), ("longitude", "lon")):
        if point.get(a) is not None:
            row[b] = point[a]
    for a, b in (("latitude", "lat"), ("longitude", "lon")):
        if by_value.get(a) is not None:
            row.setdefault(b, by_value[a])
    return row
