"""Geocoding entry point used by ingest, the proximity engine and the API.

Cascade, best first: address points (exact number and street), centreline ranges (interpolated on
the side the number's parity gives, offset from the centreline), intersections (named table and
street-network crossings), 'A between B and C', block faces ('1500 blk', '15XX', 'UNIT BLK'; the
police's hundred-number form halfway between house and block), places. Typos go through pg_trgm
similarity with the score dropping accordingly. Never a confident wrong answer: a score below
THRESHOLD, or two far-apart candidates that score alike, is "no match" with a reason; alike
readings that all lie near their centre are answered there, scored lower.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import psycopg

from geo import address
from geo.geocode_match import Candidate, search

THRESHOLD = 0.6          # below this score an answer is "no match"
SAME_PLACE_M = 60.0      # candidates closer than this (metres) are one answer, not a choice
SAME_CROSSING_M = 150.0  # the same for intersections (divided roads, wide junctions)
NAMED_AT_CROSSING_M = 25.0  # a named point this far (metres) beyond a crossing's farthest node is still its node
WIDE_JUNCTION_M = 30.0   # a crossing whose nodes lie farther than this from its centre is a wide junction
AMBIGUOUS_MARGIN = 0.1   # a far-apart runner-up within this score of the best makes it ambiguous
BETWEEN_ONE_END = 0.8    # score factor for 'A between B and C' answered at one crossing only
WRONG_M = 250.0          # an answer this far (metres) from the truth is a wrong match
# Readings of an ambiguous text that all lie within this many metres of their centre ('100 CULVER
# ST': the 100 blocks of N and S Culver St meet at Baltimore St) are answered at that centre: it is
# within half the wrong-match distance of every reading, whichever was meant.
NEAR_READINGS_M = WRONG_M / 2
# The police write block addresses as the block's first number ('600 N LUZERNE AV'): when no
# address point carries that exact number, a multiple of 100 is read as the block face and as the
# house number, and answered between the two (_hundred_between).
HUNDRED_AS_BLOCK: bool | str = True  # or "fallback": block only when no house-number match
HUNDRED_HOUSE = ("range", "address_interpolated")  # house-number estimates blended with the block face


@dataclass(slots=True)
class GeocodeResult:
    lon: float | None
    lat: float | None
    match_type: str | None      # address_point, address_interpolated (between address points), range
                                # (centreline range), intersection, block, place; None when no match
    score: float                # 0..1
    normalized: str
    reason: str | None = None   # why there is no match (or why the score is low)
    distance_m: float | None = None  # reverse geocoding: metres from the query point

    @property
    def ok(self) -> bool:
        return self.lon is not None and self.score >= THRESHOLD

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}   # ok: located and at or above THRESHOLD


def _metres(a: Candidate, b: Candidate) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(min(1.0, h)))


def _normalized(q: address.Query, c: Candidate) -> str:
    if c.match_type in ("intersection", "place"):
        return c.key
    if c.match_type == "block":
        return f"{q.number} BLOCK {c.key}"
    return f"{q.number} {c.key}"


def _reconcile_crossings(cands: list[Candidate]) -> list[Candidate]:
    """One answer per junction from named intersections and network crossings of the same pair.

    A network crossing (geocode_refresh_crossings) is the centre of a junction whose nodes lie within extent_m of it;
    named points of the pair within extent_m + NAMED_AT_CROSSING_M of it are nodes of the same
    junction, and the centre stands for all of them (an offset T-junction or a divided road is
    named at either node, and each node of a junction up to 60 m wide is within 30 m of the centre).
    Only a wider junction holding a point named for exactly these two streets answers with that
    point. Named points outside every crossing stay candidates of their own.
    """
    named = [c for c in cands if c.match_type in ("intersection", "junction")]
    out: list[Candidate] = []
    used: set[int] = set()
    for n in (c for c in cands if c.match_type == "crossing"):
        inside = sorted((_metres(t, n), i) for i, t in enumerate(named)
                        if t.key == n.key and _metres(t, n) <= n.extent_m + NAMED_AT_CROSSING_M)
        score = max([n.score] + [named[i].score for _, i in inside])
        exact = [named[i] for _, i in inside if named[i].match_type == "intersection"]
        at = exact[0] if exact and n.extent_m > WIDE_JUNCTION_M else n
        out.append(Candidate(n.key, "intersection", at.lon, at.lat, score, n.extent_m))
        used.update(i for _, i in inside)
    out += [Candidate(t.key, "intersection", t.lon, t.lat, t.score) for i, t in enumerate(named) if i not in used]
    return out


def _hundred_between(located: list[Candidate]) -> list[Candidate]:
    """'2400 ORLEANS ST' reads as house 2400 and as the 2400 block: answer halfway between.

    BPD's own points for such texts sit at either reading (at the house number's place or at the
    middle of the block face), so the point between the two is closer to both conventions than
    either (bench/geocode.py measures it on the BPD block rows), and a held-out address point
    numbered 2400 is nearer too. The house estimate is the street's best interpolation
    (HUNDRED_HOUSE); readings more than WRONG_M apart are not blended (the block face stands).
    Where the city's own address points place the number (between or just beyond them), house
    2400 is part of a real run of houses and that estimate answers alone (held-out points
    numbered in hundreds, bench seed 3: within 50 m 45% -> 61%; BPD's block texts within 200 m
    unchanged). Otherwise the house reading is the number's linear place on the range
    (geocode_search_candidates), where BPD's geocoder puts it, not the calibrated one.
    """
    house: dict[str, Candidate] = {}
    for c in located:
        if c.match_type in HUNDRED_HOUSE and (c.key not in house or c.score > house[c.key].score):
            house[c.key] = c
    out = []
    for c in located:
        h = house.get(c.key)
        if c.match_type == "block" and h is not None and _metres(c, h) <= WRONG_M:
            w = 1.0 if h.match_type == "address_interpolated" else 0.5     # share of the house reading
            c = Candidate(c.key, "block", c.lon + w * (h.lon - c.lon), c.lat + w * (h.lat - c.lat), c.score, c.extent_m)
        out.append(c)
    blocks = {c.key for c in out if c.match_type == "block"}
    return [c for c in out if not (c.match_type in HUNDRED_HOUSE and c.key in blocks)]


def _rank(q: address.Query, cands: list[Candidate]) -> tuple[list[GeocodeResult], str | None]:
    """Located answers best first (near-duplicates merged) and the no-match reason, if any."""
    located = [c for c in cands if c.lon is not None]
    if q.kind == "address":
        keys_with_point = {c.key for c in located if c.match_type == "address_point"}
        if q.hundred and HUNDRED_AS_BLOCK == "fallback":
            keys_with_house = {c.key for c in located if c.match_type != "block"}
            located = [c for c in located if not (c.match_type == "block" and c.key in keys_with_house)]
        elif q.hundred and HUNDRED_AS_BLOCK:
            located = _hundred_between(located)
        else:
            located = [c for c in located if c.match_type != "block"]
        located = [c for c in located if not (c.match_type == "block" and c.key in keys_with_point)]
    if q.kind == "intersection":
        located = _reconcile_crossings(located)
    located.sort(key=lambda c: -c.score)
    kept: list[Candidate] = []
    for c in located:
        # Other estimates of an address already placed on the same street are not alternatives.
        if q.kind != "intersection" and any(k.key == c.key for k in kept):
            continue
        same = SAME_CROSSING_M if q.kind == "intersection" else SAME_PLACE_M
        if all(_metres(c, k) > same for k in kept):
            kept.append(c)
    results = [GeocodeResult(c.lon, c.lat, c.match_type, round(c.score, 3), _normalized(q, c)) for c in kept]
    if not results:
        street = next((c for c in cands if c.match_type == "street"), None)
        if q.kind == "intersection":
            return [], f"no crossing of '{q.streets[0].key}' and '{q.streets[1].key}' found"
        if street is None:
            return [], f"street '{q.streets[0].key}' not found"
        what = "block" if q.kind == "block" else "house number"
        return [], f"{what} {q.number} not found on '{street.key}'"
    best = results[0]
    if len(results) > 1 and results[1].score >= best.score - AMBIGUOUS_MARGIN and best.score >= THRESHOLD:
        # the other far-apart candidates are readings of the same text too: none is confident
        if results[1].normalized == best.normalized:
            apart = _metres(Candidate("", "", best.lon, best.lat, 0), Candidate("", "", results[1].lon, results[1].lat, 0))
            reason = f"ambiguous: '{best.normalized}' is at {len(results)} places (the best two {apart:.0f} m apart)"
        else:
            reason = f"ambiguous: '{best.normalized}' or '{results[1].normalized}'"
        readings = [r for r in results if r.score >= best.score - AMBIGUOUS_MARGIN]
        between = _between_readings(q, readings, reason)
        for r in results:
            r.reason = reason
            r.score = round(min(r.score, THRESHOLD - 0.01), 3)
        if between is not None:
            results.insert(0, between)
    if best.score < THRESHOLD and best.reason is None:
        best.reason = f"best candidate '{best.normalized}' scored {best.score:.2f}, below {THRESHOLD}"
    return results, (best.reason if best.score < THRESHOLD else None)


def _between_readings(q: address.Query, readings: list[GeocodeResult], reason: str) -> GeocodeResult | None:
    """The centre of near readings of an ambiguous text, or None when some reading lies farther.

    Its score falls linearly from the best reading's (all readings at one point) to THRESHOLD
    (a reading NEAR_READINGS_M away): a coarser answer, never a confident wrong one.
    """
    lon = sum(r.lon for r in readings) / len(readings)
    lat = sum(r.lat for r in readings) / len(readings)
    centre = Candidate("", "", lon, lat, 0)
    spread = max(_metres(centre, Candidate("", "", r.lon, r.lat, 0)) for r in readings)
    if spread > NEAR_READINGS_M:
        return None
    best = readings[0]
    score = THRESHOLD + (best.score - THRESHOLD) * (1 - spread / NEAR_READINGS_M)
    why = reason.removeprefix("ambiguous: ")
    normalized = best.normalized if q.kind == "intersection" else q.normalized
    return GeocodeResult(lon, lat, best.match_type, round(score, 3), normalized,
                         reason=f"between the readings of an ambiguous text ({why}), each within {spread:.0f} m")


def _no_match(q: address.Query, reason: str, score: float = 0.0) -> GeocodeResult:
    return GeocodeResult(None, None, None, score, q.normalized or q.text.strip().upper(), reason=reason)


def _why_not_searched(q: address.Query) -> str | None:
    if q.kind == "empty":
        return "empty address"
    if q.kind == "invalid":
        return q.problem
    return None


def _places(conn: psycopg.Connection, q: address.Query) -> tuple[list[GeocodeResult], str | None]:
    """A street name alone is no location; a place or landmark name is (geo_places).

    Text ending in a street type names a street ('PATTERSON PARK AV', 'W BELVEDERE AV'), not the
    neighborhood called after it: only a place of exactly that name answers it.
    """
    text = address.place_text(q.text)
    street_like = text.rsplit(" ", 1)[-1] in address.TYPES
    rows = conn.execute("SELECT name, lon, lat, sim FROM geocode_places(%s)", (text,), prepare=True).fetchall()
    cands = [Candidate(name, "place", x, y, float(sim)) for name, x, y, sim in rows
             if not street_like or name == text]
    results, reason = _rank(q, cands)
    if not results:
        return [], "no house number, block or cross street, and no place of that name"
    return results, reason


def _between(conn: psycopg.Connection, q: address.Query, ends: list[tuple[list[GeocodeResult], str | None]]
             ) -> tuple[list[GeocodeResult], str | None]:
    """'A between B and C': the point of street A halfway between its crossings with B and C.

    When only one crossing is found, that crossing answers at a lower score (the block starts
    there); when neither is, the reasons of both say why.
    """
    got = [res[0] for res, _ in ends if res and res[0].ok]
    if not got:
        return [], "; ".join(why or "no match" for _, why in ends)
    if len(got) == 1:
        (r,) = got
        missing = q.streets[2] if ends[0][0] and ends[0][0][0].ok else q.streets[1]
        r.score = round(max(THRESHOLD, r.score * BETWEEN_ONE_END), 3)
        r.reason = f"no crossing of '{q.streets[0].key}' and '{missing.key}': answered at its crossing with the other"
        return [r], None
    a, b = got
    street = a.normalized.split(" & ")[0]
    lon, lat = (a.lon + b.lon) / 2, (a.lat + b.lat) / 2
    row = conn.execute("""SELECT ST_X(p), ST_Y(p) FROM (
            SELECT ST_ClosestPoint(s.geom, m.g) AS p FROM geo_segments g JOIN streets s ON s.id = g.street_id,
                 (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS g) m
            WHERE g.key = %s ORDER BY s.geom <-> m.g LIMIT 1) x""", (lon, lat, street), prepare=True).fetchone()
    if row:
        lon, lat = row
    normalized = f"{street} BETWEEN {a.normalized.split(' & ')[1]} & {b.normalized.split(' & ')[1]}"
    return [GeocodeResult(lon, lat, "block", round(min(a.score, b.score), 3), normalized)], None


# BPD's intersection texts often lose the front of one name ('AV & ANOKA AV', 'HILL AV & BLOOM ST'):
# when no crossing matches as written, streets whose name ends with what is left are tried.
CUT_NAME_FACTOR = 0.75   # score factor for a crossing found through a name cut at the front
_CUT_SQL = """
    SELECT x.key_b, o.key, ST_X(x.geom), ST_Y(x.geom), x.nodes, x.radius_m
    FROM geo_street_names o
    JOIN geo_crossings x ON x.key_a = o.key
    JOIN geo_street_names n ON n.key = x.key_b AND n.name <> o.name      -- not E 26TH ST at W 26TH ST
    WHERE o.name = %(oname)s AND (%(otype)s = '' OR o.stype = %(otype)s) AND (%(opre)s = '' OR o.predir = %(opre)s)
      AND x.key_b LIKE %(pattern)s
    LIMIT 50"""


def _cut_name(conn: psycopg.Connection, q: address.Query) -> tuple[list[GeocodeResult], str | None] | None:
    """Crossings of the whole street with streets ending in the cut one's remains, or None if not cut."""
    for cut, other in ((q.streets[0], q.streets[1]), (q.streets[1], q.streets[0])):
        bare = cut.name in address.TYPES and not cut.stype        # 'AV': only the type survived
        stype = address.TYPES[cut.name] if bare else cut.stype
        if not other.name or (not bare and len(cut.name) < (3 if stype else 5)):
            continue                                              # ('ALAMEDA' of THE ALAMEDA has no type)
        tail = " ".join(p for p in ("" if bare else cut.name, stype, cut.sufdir) if p)
        rows = conn.execute(_CUT_SQL, {"oname": other.name, "otype": other.stype, "opre": other.predir,
                                       "pattern": f"% {tail}"}, prepare=True).fetchall()
        cands = [Candidate(f"{whole} & {okey}", "crossing", x, y, (0.85 if nodes == 0 else 0.95) * CUT_NAME_FACTOR,
                           float(radius)) for whole, okey, x, y, nodes, radius in rows]
        if cands:
            results, reason = _rank(q, cands)
            for r in results:
                r.reason = r.reason or f"'{cut.key}' read as the end of a longer name"
            return results, reason
    return None


def _run(conn: psycopg.Connection, texts: list[str]) -> list[tuple[address.Query, list[GeocodeResult], str | None]]:
    queries = [address.parse(t) for t in texts]
    # 'A between B and C' is searched as the crossings A & B and A & C, after the batch.
    ends: dict[int, tuple[int, list[address.Query]]] = {}   # query index -> (first search index, ends)
    extra: list[address.Query] = []
    for i, q in enumerate(queries):
        if q.kind == "between":
            ends[i] = (len(queries) + len(extra), [address.Query("intersection", q.text, streets=[q.streets[0], s])
                                                   for s in q.streets[1:]])
            extra += ends[i][1]
    found = search(conn, queries + extra)
    out = []
    for i, q in enumerate(queries):
        why = _why_not_searched(q)
        if why:
            out.append((q, [], why))
            continue
        if q.kind == "street":
            out.append((q, *_places(conn, q)))
            continue
        if q.kind == "between":
            k, pair = ends[i]
            out.append((q, *_between(conn, q, [_rank(e, found.get(k + j, [])) for j, e in enumerate(pair)])))
            continue
        results, reason = _rank(q, found.get(i, []))
        if q.kind == "intersection" and not any(r.ok for r in results) and not (reason or "").startswith("ambiguous"):
            results, reason = _cut_name(conn, q) or (results, reason)
        out.append((q, results, reason))
    return out


def geocode(conn: psycopg.Connection, text: str, limit: int = 5,
            min_score: float = THRESHOLD) -> list[GeocodeResult]:
    """Candidates best first; an empty list when nothing matches (at min_score or above)."""
    _, results, _ = _run(conn, [text or ""])[0]
    return [r for r in results if r.score >= min_score][:limit]


def geocode_best(conn: psycopg.Connection, text: str) -> GeocodeResult:
    """The best candidate, or a no-match result carrying the reason."""
    return geocode_many(conn, [text])[0]


def geocode_many(conn: psycopg.Connection, texts: list[str], chunk: int = 2000) -> list[GeocodeResult]:
    """geocode_best for a batch, one SQL statement per chunk (the fast path for ingest)."""
    out: list[GeocodeResult] = []
    for k in range(0, len(texts), chunk):
        for q, results, reason in _run(conn, [t or "" for t in texts[k:k + chunk]]):
            if results and results[0].ok:
                out.append(results[0])
            elif results:
                out.append(_no_match(q, reason or "no match", results[0].score))
            else:
                out.append(_no_match(q, reason or "no match"))
    return out


def reverse(conn: psycopg.Connection, lon: float, lat: float, max_m: float = 200.0) -> GeocodeResult:
    """Nearest address point (within 30 m) or interpolated house number on the nearest block face."""
    row = conn.execute("SELECT match_type, number, key, ST_X(geom), ST_Y(geom), distance_m "
                       "FROM geocode_reverse(%s, %s, 30, %s)", (lon, lat, max_m), prepare=True).fetchone()
    if row is None:
        return GeocodeResult(None, None, None, 0.0, "", reason=f"no addressed street within {max_m:.0f} m")
    mt, number, key, x, y, dist = row
    # Confidence falls with distance from the street: 1 at the kerb, 0.5 at max_m.
    score = 1.0 if mt == "address_point" else max(0.5, 1.0 - 0.5 * float(dist) / max_m)
    return GeocodeResult(x, y, mt, round(score, 3), f"{number} {key}", distance_m=round(float(dist), 1))
