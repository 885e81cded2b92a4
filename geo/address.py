"""Address parsing and normalisation for CAD/911 text (usaddress + USPS Publication 28).

Turns "1500 blk W North Av", "N Charles St & E 25th St", "2300 E MONUMENT ST APT 2" or "W North
Ave between Fulton and Monroe" into a structured query: a kind (address, block, intersection,
between, street, empty) and normalised street parts (pre-directional, name, type,
post-directional) that compare equal to the reference data, whose names
sql/definitions/40_geocode_reference.sql normalises with the same word list (geocode_words).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import usaddress

# USPS Pub 28 Appendix B directionals.
DIRS = {"N": "N", "NORTH": "N", "S": "S", "SOUTH": "S", "E": "E", "EAST": "E", "W": "W", "WEST": "W",
        "NE": "NE", "NORTHEAST": "NE", "NW": "NW", "NORTHWEST": "NW", "SE": "SE", "SOUTHEAST": "SE",
        "SW": "SW", "SOUTHWEST": "SW"}

# USPS Pub 28 Appendix C1 street suffixes, plus the city's own spellings (AV, ROAD, LANE, TERR,
# HW, AL, GRTH, PLZA, TUN, DWY) found in the DOT centreline layer and BPD block addresses.
TYPES = {
    "AVE": "AVE", "AV": "AVE", "AVENUE": "AVE", "AVEN": "AVE", "AVN": "AVE", "AVNUE": "AVE",
    "ST": "ST", "STREET": "ST", "STR": "ST", "STRT": "ST",
    "RD": "RD", "ROAD": "RD", "LN": "LN", "LANE": "LN",
    "TER": "TER", "TERR": "TER", "TERRACE": "TER",
    "HWY": "HWY", "HW": "HWY", "HIGHWAY": "HWY", "HIWAY": "HWY",
    "ALY": "ALY", "AL": "ALY", "ALLEY": "ALY", "ALLY": "ALY",
    "DR": "DR", "DRIVE": "DR", "DRV": "DR", "CT": "CT", "COURT": "CT", "CRT": "CT",
    "BLVD": "BLVD", "BOULEVARD": "BLVD", "BOUL": "BLVD", "BLV": "BLVD", "BD": "BLVD",
    "PL": "PL", "PLACE": "PL", "PKWY": "PKWY", "PARKWAY": "PKWY", "PKY": "PKWY", "PKWAY": "PKWY",
    "PW": "PKWY", "PY": "PKWY", "LA": "LN",                    # BPD's own abbreviations
    "WAY": "WAY", "WY": "WAY", "CIR": "CIR", "CIRCLE": "CIR", "CIRC": "CIR",
    "SQ": "SQ", "SQUARE": "SQ", "TUNL": "TUNL", "TUN": "TUNL", "TUNNEL": "TUNL",
    "DRWY": "DRWY", "DWY": "DRWY", "DRIVEWAY": "DRWY", "PIKE": "PIKE", "PIKES": "PIKE",
    "WALK": "WALK", "PASS": "PASS", "PATH": "PATH", "GTH": "GTH", "GRTH": "GTH", "GARTH": "GTH",
    "MALL": "MALL", "MEWS": "MEWS", "HL": "HL", "HILL": "HL", "PLZ": "PLZ", "PLZA": "PLZ",
    "PLAZA": "PLZ", "PT": "PT", "POINT": "PT", "TRL": "TRL", "TRAIL": "TRL", "GRN": "GRN",
    "GREEN": "GRN", "ROW": "ROW", "RUN": "RUN", "EXPY": "EXPY", "EXPRESSWAY": "EXPY",
}

# Words inside a name written several ways (the city itself mixes SAINT and ST).
NAME_WORDS = {"SAINT": "ST", "MT": "MOUNT", "FT": "FORT", "DOCTOR": "DR", "JUNIOR": "JR",
              "MLK": "MARTIN LUTHER KING"}

_UNITS = ["ZERO", "FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "SEVENTH", "EIGHTH", "NINTH"]
_TEENS = ["TENTH", "ELEVENTH", "TWELFTH", "THIRTEENTH", "FOURTEENTH", "FIFTEENTH", "SIXTEENTH",
          "SEVENTEENTH", "EIGHTEENTH", "NINETEENTH"]
_TENS = {"TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FIFTY": 50, "SIXTY": 60, "SEVENTY": 70,
         "EIGHTY": 80, "NINETY": 90}
_TENS_ORD = {"TWENTIETH": 20, "THIRTIETH": 30, "FORTIETH": 40, "FIFTIETH": 50, "SIXTIETH": 60,
             "SEVENTIETH": 70, "EIGHTIETH": 80, "NINETIETH": 90}
ORDINAL_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS) if i}
ORDINAL_WORDS.update({w: 10 + i for i, w in enumerate(_TEENS)})
ORDINAL_WORDS.update(_TENS_ORD)
for _t, _v in _TENS.items():
    for _i, _u in enumerate(_UNITS[1:], 1):
        ORDINAL_WORDS[f"{_t}-{_u}"] = _v + _i
        ORDINAL_WORDS[f"{_t}{_u}"] = _v + _i


def ordinal(n: int) -> str:
    """25 -> '25TH' (English ordinal suffix, as the centreline layer writes numbered streets)."""
    suf = "TH" if 10 <= n % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH")
    return f"{n}{suf}"


@dataclass(frozen=True, slots=True)
class Street:
    predir: str = ""
    name: str = ""
    stype: str = ""
    sufdir: str = ""
    # The name had the leading directional been part of it ('NORTH BEND' of 'NORTH BEND RD'),
    # set only when the directional was spelt out; matched as a name without directional.
    alt_name: str = ""

    @property
    def key(self) -> str:
        """The normalised full name, e.g. 'W NORTH AVE' (what the reference tables are keyed on)."""
        return " ".join(p for p in (self.predir, self.name, self.stype, self.sufdir) if p)


MAX_NUMBER = 999_999  # a larger house or block number is a typing slip (and no SQL int)
MAX_NAME = 100        # characters: the longest real street name is under 40


@dataclass(slots=True)
class Query:
    kind: str                        # address, block, intersection, between, street, empty, invalid
    text: str                        # the input as given
    number: int | None = None        # house number, or the block's first number (0 for UNIT BLK)
    streets: list[Street] = field(default_factory=list)  # one; two for an intersection; three for
                                                          # 'A between B and C' (A first)
    hundred: bool = False            # house number is a multiple of 100 (the police block form)
    problem: str | None = None       # why an 'invalid' query is not searched

    @property
    def normalized(self) -> str:
        if self.kind == "intersection" and len(self.streets) == 2:
            return f"{self.streets[0].key} & {self.streets[1].key}"
        if self.kind == "between" and len(self.streets) == 3:
            return f"{self.streets[0].key} BETWEEN {self.streets[1].key} & {self.streets[2].key}"
        if self.kind == "block":
            return f"{self.number} BLOCK {self.streets[0].key}" if self.streets else ""
        if self.kind == "address" and self.streets:
            return f"{self.number} {self.streets[0].key}"
        return self.streets[0].key if self.streets else ""


_TENS_WORDS = "|".join(_TENS)
_UNIT_WORDS = "|".join(_UNITS[1:])
_TWO_WORD_ORDINAL = re.compile(rf"\b({_TENS_WORDS})\s+({_UNIT_WORDS})\b")   # TWENTY FIFTH -> TWENTY-FIFTH
_MC = re.compile(r"\bMC (?=[A-Z]{3})")   # the city writes both MC HENRY and MCHENRY: one spelling


def clean(text: str) -> str:
    """Upper case, apostrophes dropped, periods/commas/semicolons as spaces, single spaces, MC joined."""
    t = (text or "").upper().replace("'", "").replace("’", "")
    t = re.sub(r"[.,;:\"()\x00-\x1f\x7f]", " ", t)       # control characters too (NUL cannot reach SQL)
    return _MC.sub("MC", re.sub(r"\s+", " ", t).strip())


def norm_name_word(w: str) -> str:
    if w in NAME_WORDS:
        return NAME_WORDS[w]
    if w in ORDINAL_WORDS:
        return ordinal(ORDINAL_WORDS[w])
    if w.isascii() and w.isdigit():  # str.isdigit() also holds for '¹', which int() refuses
        return ordinal(int(w))
    m = re.fullmatch(r"(\d+)(ST|ND|RD|TH)", w)
    if m:
        return ordinal(int(m.group(1)))
    return w


def _edits(a: str, b: str, cap: int = 3) -> int:
    """Optimal-string-alignment distance (a transposition is one edit), stopping early above cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


_FULL_DIRS = ("NORTH", "SOUTH", "EAST", "WEST")
_FULL_TYPES = sorted({w for w in TYPES if len(w) >= 5})


def _fuzzy(word: str, choices, table: dict[str, str]) -> str | None:
    """A long word one slip away from exactly one full directional or street type ('AVNEUE')."""
    if len(word) < 4 or not word.isalpha():
        return None
    hits = {table[c] for c in choices if c[0] == word[0] and _edits(word, c, 1) <= 1}
    if not hits and len(word) >= 7:
        hits = {table[c] for c in choices if c[0] == word[0] and _edits(word, c, 2) <= 2}
    return hits.pop() if len(hits) == 1 else None


def split_street(text: str, fuzzy: bool = False) -> Street:
    """Split a street name into Pub 28 parts; mirrored by geocode_split() in SQL.

    fuzzy (for typed input, never for reference data) also reads a misspelt leading directional
    ('NROTH') or trailing street type ('AVNEUE', 'HIGWHAY') as one.
    """
    toks = _TWO_WORD_ORDINAL.sub(r"\1-\2", clean(text)).split()
    pre = suf = typ = spelt = ""
    if len(toks) >= 2 and not (len(toks) == 2 and toks[1] in TYPES):
        d = DIRS.get(toks[0]) or (_fuzzy(toks[0], _FULL_DIRS, DIRS) if fuzzy and len(toks) >= 3 else None)
        if d:
            pre = d
            spelt = toks.pop(0)
    if len(toks) >= 2 and toks[-1] in DIRS:
        suf = DIRS[toks.pop()]
    if len(toks) >= 2:
        t = TYPES.get(toks[-1]) or (_fuzzy(toks[-1], _FULL_TYPES, TYPES) if fuzzy else None)
        if t:
            typ = t
            toks.pop()
    name = " ".join(norm_name_word(w) for w in toks)
    alt = f"{spelt} {name}" if fuzzy and len(spelt) > 2 and name else ""
    return Street(pre, name, typ, suf, alt)


_BLOCK_PATTERNS = [
    re.compile(r"^(?:THE\s+)?(\d+)\s*-?\s*(?:BLK|BLOCK|BL)\b(?:\s+OF\b)?\s+(.+)$"),
    re.compile(r"^(?:BLK|BLOCK)\s+(?:OF\s+)?(\d+)\s+(.+)$"),
    re.compile(r"^0*(\d+)XX\s+(.+)$"),
]
_BLOCK_RANGE = re.compile(r"^(\d*)00\s*-\s*\1\d\d\s+(.+)$")    # 1500-1599 W NORTH AVE
_UNIT_BLOCK = re.compile(r"^(?:UNIT|0+)\s+(?:BLK|BLOCK)\b(?:\s+OF\b)?\s+(.+)$")
_SEPARATORS = re.compile(r"\s*(?:&|@|\bAND\b|\bAT\b|(?<!\d)/|/(?!\d)|\+)\s*")
_TRAILER = re.compile(r"\s+(?:(?:BALTIMORE|BALTO)(?:\s+CITY)?)?\s*(?:MD|MARYLAND)?\s*(?:\d{5}(?:-\d{4})?)?$")
_UNIT = re.compile(r"\s+(?:APT|APARTMENT|UNIT|STE|SUITE|FL|FLOOR|RM|ROOM|BLDG|#)\s*#?\s*[A-Z0-9-]*$")


# Words around a location that say where at it, not where: 'INTERSECTION OF A AND B', 'CORNER OF
# A & B', 'IFO 1500 W NORTH AVE' (in front of), 'NEAR ...'.
_LEADING = re.compile(r"^(?:(?:AT|ON)\s+)?(?:THE\s+)?(?:(?:INTERSECTION|INTERSECT|INTX|CORNER|CNR)\s+(?:OF\s+)?"
                      r"|(?:NEAR|NR|IFO|IN\s+FRONT\s+OF|REAR\s+OF|BEHIND|ACROSS\s+FROM|OPPOSITE|OUTSIDE(?:\s+OF)?)\s+)")
# 'W NORTH AVE BETWEEN N FULTON AVE AND N MONROE ST' (also BTWN, BTW, B/T; the two cross streets
# joined by AND, & or /): the block of the first street between the other two.
_BETWEEN = re.compile(r"^(.+?)\s+(?:BETWEEN|BETW|BTWN|BTW|B/T|B/W)\s+(.+?)\s*(?:&|\bAND\b|/)\s*(.+)$")
_PLAIN = re.compile(r"^(\d+)\s+([A-Z][A-Z0-9 -]*)$")
# Words that make usaddress worth asking (units, boxes, routes, places left inside the text).
_NOT_PLAIN = {"APT", "APARTMENT", "UNIT", "STE", "SUITE", "FL", "FLOOR", "RM", "ROOM", "BLDG", "BOX", "PO",
              "LOT", "SPC", "TRLR", "DEPT", "HWY-", "RTE", "ROUTE", "BALTIMORE", "MD", "MARYLAND"}


def _strip_trailers(t: str) -> str:
    prev = None
    while prev != t:
        prev = t
        t = _TRAILER.sub("", t).strip() if _TRAILER.search(t) and _TRAILER.sub("", t).strip() else t
        t = _UNIT.sub("", t).strip() if _UNIT.search(t) and _UNIT.sub("", t).strip() else t
    return t


def place_text(text: str) -> str:
    """A place name as typed, cleaned, without city/state/ZIP ('Patterson Park, Baltimore MD 21224')."""
    return _strip_trailers(clean(text))


def _street_from_tags(tags: dict) -> str:
    parts = [tags.get(k, "") for k in ("StreetNamePreModifier", "StreetNamePreDirectional",
                                        "StreetNamePreType", "StreetName", "StreetNamePostType",
                                        "StreetNamePostDirectional")]
    return " ".join(p for p in parts if p)


@lru_cache(maxsize=65536)
def _parse_cached(t: str) -> tuple:
    """Pure function of the cleaned text (safe to cache: no database state involved)."""
    if not t:
        return ("empty", None, ())
    located = _LEADING.sub("", t)
    if located and located != t:
        parsed = _parse_located(located)
        if parsed[0] != "street":      # 'NEAR NORTHWEST' is a name, not 'near' a street
            return parsed
    return _parse_located(t)


def _parse_located(t: str) -> tuple:
    m = _BETWEEN.match(t)
    if m and m.group(1)[:1].isdigit():     # '1500 W NORTH AVE BETWEEN ...': the number places it
        t = m.group(1)
    elif m:
        return ("between", None, tuple(split_street(_strip_trailers(g), True) for g in m.groups()))
    m = _UNIT_BLOCK.match(t)
    if m:
        return ("block", 0, (split_street(fuzzy=True, text=_strip_trailers(m.group(1))),))
    for pat in _BLOCK_PATTERNS:
        m = pat.match(t)
        if m:
            n = int(m.group(1))
            n = n * 100 if pat is _BLOCK_PATTERNS[2] else n // 100 * 100
            return ("block", n, (split_street(fuzzy=True, text=_strip_trailers(m.group(2))),))
    m = _BLOCK_RANGE.match(t)
    if m:
        return ("block", int(m.group(1) or 0) * 100, (split_street(fuzzy=True, text=_strip_trailers(m.group(2))),))
    parts = [p for p in _SEPARATORS.split(t) if p]
    if len(parts) >= 2 and not re.match(r"\d+[A-Z]?\s", parts[0]):   # not '1500 W NORTH AVE / ...'
        a, b = _strip_trailers(parts[0]), _strip_trailers(parts[1])
        return ("intersection", None, (split_street(a, True), split_street(b, True)))
    t = _strip_trailers(t)
    m = _PLAIN.match(t)
    if m and not (set(m.group(2).split()) & _NOT_PLAIN):
        # 'number street' with nothing else left: the CRF tagger would only echo it back.
        return ("address", int(m.group(1)), (split_street(m.group(2), True),))
    try:
        tags, _ = usaddress.tag(t)
        number, street = tags.get("AddressNumber", ""), _street_from_tags(tags)
    except usaddress.RepeatedLabelError:
        number, street = "", ""
    if not (number and street):
        m = re.match(r"^(\d+)[A-Z]?(?:\s*-\s*\d+)?\s+(.+)$", t)   # '2300A E MONUMENT', '12-14 ...'
        number, street = (m.group(1), m.group(2)) if m else ("", t)
    digits = re.match(r"\d+", number or "")
    if not digits:
        return ("street", None, (split_street(street, True),))
    return ("address", int(digits.group(0)), (split_street(street, True),))


def parse(text: str) -> Query:
    """Structured, normalised query for one free-text location."""
    kind, number, streets = _parse_cached(clean(text))
    q = Query(kind, text or "", number, list(streets))
    q.streets = [s for s in q.streets if s.name]
    if kind in ("address", "block", "street") and not q.streets:
        q.kind = "empty"
    if kind == "between" and len(q.streets) < 3:
        q.kind = "intersection"
    if q.kind == "intersection" and len(q.streets) < 2:
        q.kind = "street" if q.streets else "empty"
    if number is not None and number > MAX_NUMBER:
        q.kind, q.problem = "invalid", f"number {number} is out of range (at most {MAX_NUMBER})"
    elif any(len(s.name) > MAX_NAME for s in q.streets):
        q.kind, q.problem = "invalid", f"a street name longer than {MAX_NAME} characters"
    if q.kind == "address" and number is not None and number % 100 == 0:
        q.hundred = True
    return q
