"""Geocoder accuracy and speed on held-out demo-city data, side by side with the issue's targets.

Builds (once per seed) a separate database, rtcc_geobench_s<seed>, with migrations and the demo
city's reference layers, then withholds a random sample of address points and named two-street
intersections from it (they are deleted, so the geocoder must interpolate ranges and find the
crossings in the street network, and its range calibration is measured without them). Evaluation sets, per input kind:
  house_clean      held-out address points as published ('3600 West Franklin Street')
  house_messy      the same with AV/HW/ROAD abbreviations, typos, lower case, missing directional,
                   unit numbers and city/state/ZIP appended
  intersection     held-out intersections, 'A & B' / 'A and B' / 'A / B' / 'A at B'
  police_block     BPD block addresses of crimes_part1 (+ arrests) against their published lon/lat
  block_forms      '1500 blk', '15XX', '015XX', 'block of' variants of those block addresses
Disputed truth, flagged by mechanical rules on the reference data (no hand-picked rows), and
reported apart: each kind prints its figures over all rows, then again over the rows whose truth
is firm and over the disputed ones (one line per rule; a row goes to the first rule it meets).
  police_*         (spread) BPD published the same location text at points more than 250 m apart
                   (DISPUTED_BPD_M; over every row of both CSVs, not only the sample): the block
                   itself is uncertain, and 250 m is the wrong-match distance
  police_block,    (flipped) BPD's point lies within 100 m (FLIPPED_NEAR_M) of a segment the city
  block_forms      numbers for the same block of the same street with the opposite directional
                   ('400 S MADEIRA ST' published on the 400 block of N MADEIRA ST) and more than
                   250 m from every segment of the stated block (streets.block_num): the point
                   contradicts the text
  intersection     the city's intersection table (held-out rows included) names the same pair of
                   streets (same normalised keys, possibly with more streets) at another point
                   more than 60 m away (DISPUTED_INTER_M): no single answer is within 30 m of both
House answers farther than 50 m from the true point are counted by cause (MISS_CAUSES, first
rule met). Run: .venv/bin/python bench/geocode.py [--n 400] [--seed 3] [--data data/baltimore]
[--rebuild] [--kinds house_clean,house_messy] [--no-http]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "rtcc_geobench_s{seed}"   # one database per seed: each seed holds out its own sample
DISPUTED_BPD_M = 250.0    # metres between two published points of one BPD text
DISPUTED_INTER_M = 60.0   # metres: twice the 30 m intersection target
FLIPPED_NEAR_M = 100.0    # metres from the opposite directional's block face
SPREAD = "BPD published the text at points > 250 m apart"
FLIPPED = "BPD's point is on the opposite directional's block"
CITY = "the city names the pair at points > 60 m apart"
OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E"}
TARGETS = {  # kind: (found, within metres, share within)
    "house_clean": (0.99, 100, 0.95), "house_messy": (0.99, 100, 0.95),
    "intersection": (None, 30, 0.98), "police_intersection": (None, 200, 0.90), "police_block": (0.95, 200, 0.90), "block_forms": (0.95, 200, 0.90),
}


def metres(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(min(1.0, h)))


def read_csv(data: Path, name: str) -> list[dict]:
    p = data / name
    if p.exists():
        return list(csv.DictReader(open(p, newline="")))
    with gzip.open(data / f"{name}.gz", "rt", newline="") as f:
        return list(csv.DictReader(f))


def build(admin: str, url: str, rebuild: bool, n_points: int, n_inter: int, seed: int) -> None:
    """Fresh bench database with the reference layers and the held-out rows removed (once per seed)."""
    db = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as a:
        exists = a.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if exists and not rebuild:
            with psycopg.connect(url) as c:
                if c.execute("SELECT to_regclass('bench_holdout_points') IS NOT NULL").fetchone()[0]:
                    return
        a.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        a.execute(f'CREATE DATABASE "{db}"')
    from services import migrate
    from services.dev import demo
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        migrate.apply(c)
        demo.load_reference(c)
        c.execute("SELECT setseed(%s)", (seed / 100.0,))
        # Held-out address points: like the acceptance split, numbers inside a same-name range
        # whose segment lies within 150 m of the point.
        c.execute("""CREATE TABLE bench_holdout_points AS
            SELECT a.id, a.number, a.street, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat FROM addresses a
            JOIN geo_addresses g ON g.id = a.id
            WHERE EXISTS (SELECT 1 FROM geo_segments s JOIN streets t ON t.id = s.street_id
                WHERE s.key = g.key AND ST_DWithin(t.geom::geography, a.geom::geography, 150)
                AND (a.number BETWEEN least(s.l_from, s.l_to) AND greatest(s.l_from, s.l_to)
                  OR a.number BETWEEN least(s.r_from, s.r_to) AND greatest(s.r_from, s.r_to)))
            ORDER BY random() LIMIT %s""", (n_points,))
        c.execute("""CREATE TABLE bench_holdout_inter AS
            SELECT id, name, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM intersections
            WHERE array_length(string_to_array(name, ' & '), 1) = 2 ORDER BY random() LIMIT %s""", (n_inter,))
        c.execute("DELETE FROM addresses WHERE id IN (SELECT id FROM bench_holdout_points)")
        c.execute("DELETE FROM intersections WHERE id IN (SELECT id FROM bench_holdout_inter)")
        c.execute("VACUUM ANALYZE")
    print(f"built {db} in {time.perf_counter() - t:.0f} s", file=sys.stderr)


ABBREV = {"AVENUE": "AV", "HIGHWAY": "HW", "ROAD": "RD", "STREET": "ST", "LANE": "LN", "TERRACE": "TERR",
          "DRIVE": "DR", "BOULEVARD": "BLVD", "PLACE": "PL", "COURT": "CT", "NORTH": "N", "SOUTH": "S",
          "EAST": "E", "WEST": "W", "SAINT": "ST", "MOUNT": "MT", "PARKWAY": "PKWY"}


def typo(word: str, rnd: random.Random) -> str:
    """One keyboard slip in a word of 5+ letters: swap, drop or double a letter."""
    if len(word) < 5 or not word.isalpha():
        return word
    k = rnd.randrange(1, len(word) - 2)
    op = rnd.choice(["swap", "drop", "double"])
    if op == "swap":
        return word[:k] + word[k + 1] + word[k] + word[k + 2:]
    if op == "drop":
        return word[:k] + word[k + 1:]
    return word[:k] + word[k] + word[k:]


def messy(number: int, street: str, rnd: random.Random) -> str:
    words = street.upper().split()
    words = [ABBREV.get(w, w) if rnd.random() < 0.7 else w for w in words]
    if len(words) > 2 and words[0] in ("N", "S", "E", "W") and rnd.random() < 0.3:
        words = words[1:]                                    # missing directional
    named = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if named and rnd.random() < 0.4:
        i = rnd.choice(named)
        words[i] = typo(words[i], rnd)
    text = f"{number} {' '.join(words)}"
    r = rnd.random()
    if r < 0.2:
        text += rnd.choice([" APT 2", " #3B", " UNIT 1", " FL 2"])
    elif r < 0.4:
        text += rnd.choice([", Baltimore, MD 21217", " BALTIMORE MD", ", Baltimore MD 21201"])
    return text.lower() if rnd.random() < 0.3 else text


def disputed_intersections(conn) -> set[str]:
    """Held-out names whose pair of streets the city also names at a point > DISPUTED_INTER_M away."""
    rows = conn.execute("""
        WITH h AS (
            SELECT h.id, h.name, ST_SetSRID(ST_MakePoint(h.lon, h.lat), 4326) AS g,
                   array_agg(DISTINCT geocode_key(p.predir, p.name, p.stype, p.sufdir)) AS keys
            FROM bench_holdout_inter h CROSS JOIN LATERAL unnest(string_to_array(h.name, ' & ')) part
            CROSS JOIN LATERAL geocode_split(btrim(part)) p GROUP BY 1, 2, 3
        ), named AS (
            SELECT i.id, i.geom AS g, array_agg(p.key) AS keys
            FROM intersections i JOIN geo_intersection_parts p ON p.intersection_id = i.id GROUP BY 1, 2
            UNION ALL SELECT id, g, keys FROM h
        )
        SELECT DISTINCT h.name FROM h JOIN named o ON o.keys @> h.keys AND o.id <> h.id
        WHERE ST_Distance(o.g::geography, h.g::geography) > %s""", (DISPUTED_INTER_M,)).fetchall()
    return {r[0] for r in rows}


def disputed_bpd(rows: list[tuple[str, float, float]]) -> set[str]:
    """BPD location texts published at points more than DISPUTED_BPD_M apart."""
    pts: dict[str, list[tuple[float, float]]] = {}
    for t, x, y in rows:
        pts.setdefault(t, []).append((x, y))
    return {t for t, p in pts.items() if len(p) > 1 and
            any(metres(*a, *b) > DISPUTED_BPD_M for i, a in enumerate(p) for b in p[i + 1:])}


def flipped_bpd(conn, rows: list[tuple[str, float, float]]) -> set[int]:
    """Indexes of block rows whose published point is on the opposite directional's block only."""
    from dataclasses import replace

    from geo.address import parse
    idx, xs, ys, keys, opp, blk = [], [], [], [], [], []
    for i, (t, x, y) in enumerate(rows):
        q = parse(t)
        if q.kind not in ("address", "block") or not q.streets or q.number is None:
            continue
        st = q.streets[0]
        if st.predir not in OPPOSITE:
            continue
        idx.append(i); xs.append(x); ys.append(y); blk.append(q.number // 100 * 100)
        keys.append(st.key); opp.append(replace(st, predir=OPPOSITE[st.predir]).key)
    got = conn.execute("""
        SELECT u.i FROM unnest(%s::int[], %s::float8[], %s::float8[], %s::text[], %s::text[], %s::int[])
            AS u(i, x, y, k, o, b)
        CROSS JOIN LATERAL (SELECT
            (SELECT min(ST_Distance(s.geom::geography, ST_Point(u.x, u.y, 4326)::geography))
             FROM geo_segments g JOIN streets s ON s.id = g.street_id WHERE g.key = u.o AND g.block_num = u.b) AS d_opp,
            (SELECT min(ST_Distance(s.geom::geography, ST_Point(u.x, u.y, 4326)::geography))
             FROM geo_segments g JOIN streets s ON s.id = g.street_id WHERE g.key = u.k AND g.block_num = u.b) AS d_own) d
        WHERE d.d_opp <= %s AND d.d_own > %s""",
                       (idx, xs, ys, keys, opp, blk, FLIPPED_NEAR_M, DISPUTED_BPD_M)).fetchall()
    return {r[0] for r in got}


def eval_sets(conn, data: Path, n: int, seed: int) -> tuple[dict[str, list[tuple[str, float, float]]],
                                                             dict[str, list[str | None]], dict[str, list[str]]]:
    """Inputs with their truth per kind, per kind why each row's truth is disputed (None: firm),
    and for the police kinds which file each row came from (the arrests drop directionals)."""
    rnd = random.Random(seed)
    disputed: dict[str, list[str | None]] = {}
    pts = conn.execute("SELECT number, street, lon, lat FROM bench_holdout_points ORDER BY id").fetchall()
    inter = conn.execute("SELECT name, lon, lat FROM bench_holdout_inter ORDER BY id").fetchall()
    sets: dict[str, list] = {}
    sets["house_clean"] = [(f"{num} {st}", x, y) for num, st, x, y in pts]
    sets["house_messy"] = [(messy(num, st, rnd), x, y) for num, st, x, y in pts]
    seps = [" & ", " and ", " / ", " at ", " & "]
    sets["intersection"] = []
    bad = disputed_intersections(conn)
    disputed["intersection"] = [CITY if name in bad else None for name, _, _ in inter]
    for name, x, y in inter:
        a, b = name.split(" & ")
        if rnd.random() < 0.5:
            a, b = b, a
        sets["intersection"].append((f"{a}{rnd.choice(seps)}{b}", x, y))
    rows = [(r["location"], r["lon"], r["lat"]) for r in read_csv(data, "crimes_part1.csv")]
    n_crimes = len(rows)
    rows += [(r["incident_location"], r["lon"], r["lat"]) for r in read_csv(data, "arrests_weapons_2025.csv")]
    src = {}
    for i, (t, x, y) in enumerate(rows):
        src.setdefault((t.strip(), x, y), "crimes" if i < n_crimes else "arrests")
    rows = [(t.strip(), float(x), float(y)) for t, x, y in rows if t.strip() and x and y]
    origin_of = {(t, float(x), float(y)): s for (t, x, y), s in src.items() if x and y}
    bad = disputed_bpd(rows)
    blocks = [r for r in rows if "&" not in r[0] and r[0][:1].isdigit()]
    rnd.shuffle(blocks)
    sets["police_block"] = blocks[:n]
    for kind, part in (("police_block", blocks[:n]), ("block_forms", blocks[n:2 * n])):
        flipped = flipped_bpd(conn, part)
        disputed[kind] = [SPREAD if t in bad else FLIPPED if i in flipped else None
                          for i, (t, _, _) in enumerate(part)]
    forms = []
    for t, x, y in blocks[n:2 * n]:
        num, rest = t.split(" ", 1)
        num = int(num) if num.isdigit() else 0
        f = rnd.choice([f"{num} BLK {rest}", f"{num // 100}XX {rest}", f"{num // 100:03d}XX {rest}",
                        f"{num} block of {rest.title()}", f"UNIT BLK {rest}" if num < 100 else f"{num} BLOCK {rest}"])
        forms.append((f, x, y))
    sets["block_forms"] = forms
    origin = {"police_block": [origin_of[r] for r in blocks[:n]], "block_forms": [origin_of[r] for r in blocks[n:2 * n]]}
    # BPD intersections; the source truncates many to a bare street type on one side
    # ('AV & BELAIR RD'), placeable only when few streets of that type cross the other: counted apart.
    from geo.address import TYPES
    inter = [r for r in rows if "&" in r[0]]
    complete = [r for r in inter if all(p.strip().split()[-1:] and len(p.split()) > 1 or
                                        p.strip() not in TYPES for p in r[0].split("&"))]
    sets["police_intersection"] = complete[:n]
    sets["police_x_truncated"] = [r for r in inter if r not in complete][:n]
    for k in ("police_intersection", "police_x_truncated"):
        disputed[k] = [SPREAD if t in bad else None for t, _, _ in sets[k]]
    return sets, disputed, origin


def _row(label: str, d: list[float | None], rate: float | None, tgt_s: str = "") -> str:
    """One line of figures over the distances d (None: no match) of some rows."""
    n = len(d)
    if not n:
        return f"{label:20s} {0:5d}"
    found = sum(v is not None for v in d) / n
    within = {m: sum(v is not None and v <= m for v in d) / n for m in (30, 50, 100, 200, 250)}
    wrong = sum(v is not None and v > 250 for v in d) / n
    rate_s = f"{rate:7.0f}" if rate is not None else " " * 7
    return (f"{label:20s} {n:5d} {found:7.1%} {within[30]:7.1%} {within[50]:7.1%} {within[100]:7.1%} "
            f"{within[200]:7.1%} {within[250]:7.1%} {wrong:6.1%} {rate_s}   {tgt_s}").rstrip()


def evaluate(conn, sets, disputed, origin, geocode_many, threshold, houses) -> None:
    """houses: the held-out address points as published (the truth of both house kinds)."""
    print(f"{'kind':20s} {'n':>5s} {'found':>7s} {'<=30m':>7s} {'<=50m':>7s} {'<=100m':>7s} {'<=200m':>7s} "
          f"{'<=250m':>7s} {'wrong':>6s} {'addr/s':>7s}   target")
    for kind, items in sets.items():
        if not items:
            continue
        texts = [t for t, _, _ in items]
        _cold()
        t0 = time.perf_counter()
        res = geocode_many(conn, texts)
        rate = len(texts) / (time.perf_counter() - t0)
        d = [metres(r.lon, r.lat, x, y) if r.ok else None for r, (_, x, y) in zip(res, items)]
        tgt = TARGETS.get(kind)
        tgt_s = ""
        if tgt:
            tgt_s = (f"found>={tgt[0]:.0%} " if tgt[0] else "") + f"<={tgt[1]}m>={tgt[2]:.0%} wrong<0.5%"
        print(_row(kind, d, rate, tgt_s))
        flags = disputed.get(kind, [None] * len(items))
        if any(flags):
            print(_row("  truth firm", [v for v, f in zip(d, flags) if not f], None, tgt_s))
            for why in dict.fromkeys(f for f in flags if f):
                print(_row("  truth disputed", [v for v, f in zip(d, flags) if f == why], None, f"({why})"))
        if kind.startswith("house"):
            causes = miss_causes(conn, items, houses, res, d)
            print(f"  misses > 50 m ({sum(causes.values())}): " + ", ".join(f"{k} {v}" for k, v in causes.items()))
        for src in dict.fromkeys(origin.get(kind, [])):
            print(_row(f"  from {src}", [v for v, o in zip(d, origin[kind]) if o == src], None))
        if os.environ.get("BENCH_VERBOSE"):
            for (t, x, y), r, v, f in zip(items, res, d, flags):
                if v is None or v > (30 if kind == "intersection" else 100):
                    print(f"    {t!r:45s} -> {r.normalized!r} {r.match_type} {r.score} "
                          f"{'' if v is None else f'{v:.0f} m'} {r.reason or ''}{f' [disputed: {f}]' if f else ''}")


MISS_CAUSES = {  # why a house answer is more than 50 m off, in the order the rules are tried
    "none": "no answer",
    "hundred": "number is a multiple of 100 (read as the police block form too)",
    "set_back": "the true point is > 60 m from every segment of its street holding the number",
    "parity": "no segment of the street holds the number on a side of its parity",
    "between_points": "estimated between/beyond the street's other address points",
    "long_segment": "its segment is longer than 300 m",
    "range_position": "position along an ordinary segment's range (range ends, houses not filling it)",
}


def miss_causes(conn, items, truth, res, d) -> dict[str, int]:
    """Counts of MISS_CAUSES over the rows more than 50 m off (or unanswered); truth: the rows as
    published (their street and number, whatever the input's typos)."""
    from geo.address import parse
    rows = [(i, parse(truth[i][0]), x, y) for i, (t, x, y) in enumerate(items) if d[i] is None or d[i] > 50]
    keys = [q.streets[0].key if q.streets else "" for _, q, _, _ in rows]
    nums = [q.number or 0 for _, q, _, _ in rows]
    facts = conn.execute("""
        SELECT u.k, u.n, min(ST_Distance(s.geom::geography, ST_Point(u.x, u.y, 4326)::geography)),
               bool_or(geocode_parity_fits(u.n, g.l_from, g.l_to, g.r_from, g.r_to)),
               (array_agg(ST_Length(s.geom::geography) ORDER BY s.geom <-> ST_Point(u.x, u.y, 4326)))[1]
        FROM unnest(%s::text[], %s::int[], %s::float8[], %s::float8[]) WITH ORDINALITY u(k, n, x, y, o)
        LEFT JOIN geo_segments g ON g.key = u.k
             AND ((g.l_from <> 0 OR g.l_to <> 0) AND u.n BETWEEN least(g.l_from, g.l_to) AND greatest(g.l_from, g.l_to)
               OR (g.r_from <> 0 OR g.r_to <> 0) AND u.n BETWEEN least(g.r_from, g.r_to) AND greatest(g.r_from, g.r_to))
        LEFT JOIN streets s ON s.id = g.street_id
        GROUP BY u.o, u.k, u.n ORDER BY u.o""", (keys, nums, [r[2] for r in rows], [r[3] for r in rows])).fetchall()
    out = dict.fromkeys(MISS_CAUSES, 0)
    for (i, q, _, _), (_, n, near, parity, length) in zip(rows, facts):
        r = res[i]
        cause = ("none" if not r.ok else "hundred" if n % 100 == 0 else
                 "set_back" if near is None or near > 60 else "parity" if not parity else
                 "between_points" if r.match_type == "address_interpolated" else
                 "long_segment" if length > 300 else "range_position")
        out[cause] += 1
    return out


def _cold() -> None:
    """Forget parsed texts, so rates include parsing every input."""
    from geo import address
    address._parse_cached.cache_clear()


def reverse_accuracy(conn) -> str:
    """Reverse geocoding of the held-out address points (withheld, so the answer is interpolated):
    share naming the same street, the same block (hundred), and a number within 10."""
    from geo.address import split_street
    from geo.geocode import reverse
    pts = conn.execute("SELECT number, street, lon, lat FROM bench_holdout_points ORDER BY id").fetchall()
    street = block = near = found = 0
    for num, st, x, y in pts:
        r = reverse(conn, x, y)
        if r.lon is None:
            continue
        found += 1
        rnum, _, rkey = r.normalized.partition(" ")
        if rkey == split_street(st).key:
            street += 1
            if rnum.isdigit() and int(rnum) // 100 == num // 100:
                block += 1
            if rnum.isdigit() and abs(int(rnum) - num) <= 10:
                near += 1
    n = len(pts)
    return (f"reverse of {n} held-out address points: answered {found / n:.1%}, same street {street / n:.1%}, "
            f"same block {block / n:.1%}, number within 10 {near / n:.1%}")


def throughput(conn, texts, geocode_many) -> float:
    _cold()
    t0 = time.perf_counter()
    geocode_many(conn, texts)
    return len(texts) / (time.perf_counter() - t0)


def http_latency(url: str, texts: list[str]) -> tuple[float, float, float]:
    """Single-request latency over real HTTP (uvicorn, one worker, authenticated as a deployment
    would be): p50, p99 in ms, and /reverse p50."""
    import httpx

    from _common import server
    with server(url) as base, httpx.Client(base_url=base, timeout=10) as c:
        for t in texts[:30]:
            c.get("/api/geocode", params={"q": t}).raise_for_status()
        lat = []
        for t in texts:
            t0 = time.perf_counter()
            c.get("/api/geocode", params={"q": t}).raise_for_status()
            lat.append((time.perf_counter() - t0) * 1000)
        rev = []
        for t in texts[:200]:
            t0 = time.perf_counter()
            c.get("/api/reverse", params={"lon": -76.61 + (hash(t) % 1000) / 20000, "lat": 39.30})
            rev.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    return statistics.median(lat), lat[int(0.99 * (len(lat) - 1))], statistics.median(rev)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="inputs per kind")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "baltimore",
                    help="demo data folder (data/baltimore, or ../shared/data/baltimore)")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the bench database and its hold-out")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--kinds", help="comma-separated kinds to evaluate (default: all)")
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "postgresql://rtcc@127.0.0.1:54329/rtcc")
    admin = psycopg.conninfo.make_conninfo(base, dbname="postgres")
    url = psycopg.conninfo.make_conninfo(base, dbname=BENCH_DB.format(seed=args.seed))
    os.environ["DATABASE_URL"] = url
    build(admin, url, args.rebuild, args.n, min(args.n, 300), args.seed)
    from geo.geocode import THRESHOLD, geocode_many
    with psycopg.connect(url, autocommit=True) as conn:
        sets, disputed, origin = eval_sets(conn, args.data, args.n, args.seed)
        houses = sets["house_clean"]
        if args.kinds:
            sets = {k: v for k, v in sets.items() if k in args.kinds.split(",")}
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"database {BENCH_DB.format(seed=args.seed)}: held-out address points and intersections deleted; threshold {THRESHOLD}; "
              f"load average {load} on {os.cpu_count()} CPUs")
        evaluate(conn, sets, disputed, origin, geocode_many, THRESHOLD, houses)
        mixed = [t for items in sets.values() for t, _, _ in items]
        random.Random(args.seed).shuffle(mixed)
        # distinct inputs only (variants of one address repeat some texts)
        batch = list(dict.fromkeys(mixed))
        rate = throughput(conn, batch, geocode_many)
        print(f"\nbatch geocode_many, {len(batch)} distinct mixed inputs, one call: {rate:,.0f} addresses/s   "
              f"(target >= 1,000/s)")
        from geo.geocode import geocode_best
        _cold()
        single = []
        for t in batch[:1000]:
            t0 = time.perf_counter()
            geocode_best(conn, t)
            single.append((time.perf_counter() - t0) * 1000)
        single.sort()
        print(f"single geocode_best in process, {len(single)} calls: p50 {statistics.median(single):.1f} ms, "
              f"p99 {single[int(0.99 * (len(single) - 1))]:.1f} ms")
        print(reverse_accuracy(conn))
    if not args.no_http:
        p50, p99, rev = http_latency(url, mixed[:1000])
        print(f"single GET /api/geocode over HTTP, {min(1000, len(mixed))} requests: p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms   (target p99 < 20 ms; TIGER geocoder ~61 ms per exact match)")
        print(f"single GET /api/reverse over HTTP: p50 {rev:.1f} ms")


if __name__ == "__main__":
    main()
