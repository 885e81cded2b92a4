"""Set-based candidate search in PostGIS: one statement per batch, whatever its size.

Street names are matched exactly on their normalised name, else by pg_trgm similarity (typos),
and scored down for every disagreement (name similarity, directional, street type). Each match
type then looks its candidates up: address points (exact number), centreline ranges (side by
parity, interpolated and offset, sql/011), block faces, and intersections (the curated table
and the street-network crossings). Python only parses and picks.
"""
from __future__ import annotations

from dataclasses import dataclass

import psycopg

from geo.address import Query, Street

OFFSET_M = 12.0   # metres from the centreline towards the buildings for interpolated numbers
MIN_STREET_SCORE = 0.45
SIM_TAIL = 0.8    # name similarity credited to a name that is the tail of a longer one

# Score factors per match type: how much the kind of evidence itself can be trusted.
F_POINT, F_BETWEEN, F_RANGE, F_RANGE_NOPARITY, F_BLOCK = 1.0, 0.97, 0.95, 0.85, 0.92
F_XTABLE, F_XTABLE_MULTI, F_XNETWORK = 0.98, 0.93, 0.95

SQL = """
WITH q AS (
    SELECT * FROM unnest(%(qi)s::int[], %(kind)s::text[], %(num)s::int[], %(s0)s::int[], %(s1)s::int[])
        AS q(i, kind, num, s0, s1)
), spec0 AS (
    SELECT * FROM unnest(%(sid)s::int[], %(pre)s::text[], %(name)s::text[], %(typ)s::text[], %(suf)s::text[],
                         %(alt)s::text[]) AS s0(sid, pre, name, typ, suf, alt)
), spec AS (
    -- fuzzy searches run only for names that exist nowhere as given
    SELECT s0.*, EXISTS (SELECT 1 FROM geo_street_names e WHERE e.name IN (s0.name, s0.alt)) AS known
    FROM spec0 s0
), cand AS (
    SELECT s.sid, n.key,
           1 - 0.8 * (1 - n.sim)
             - CASE WHEN n.pre = n.predir AND s.suf = n.sufdir THEN 0
                    WHEN n.pre || s.suf = n.predir || n.sufdir THEN 0.02
                    WHEN n.pre || s.suf = '' THEN 0.06
                    WHEN n.predir || n.sufdir = '' THEN 0.12
                    ELSE 0.45 END
             - CASE WHEN s.typ = n.stype THEN 0 WHEN s.typ = '' THEN 0.04
                    WHEN n.stype = '' THEN 0.06 ELSE 0.12 END AS score
    FROM spec s CROSS JOIN LATERAL (
        SELECT n.key, n.predir, n.stype, n.sufdir, 1.0::float8 AS sim, s.pre
        FROM geo_street_names n WHERE n.name = s.name
        UNION ALL
        -- 'NORTH BEND RD': the spelt-out directional was part of the name
        SELECT n.key, n.predir, n.stype, n.sufdir, 1.0::float8, ''
        FROM geo_street_names n WHERE s.alt <> '' AND n.name = s.alt
        UNION ALL
        SELECT f.key, f.predir, f.stype, f.sufdir,
               greatest(similarity(f.name, s.name),
                        1 - levenshtein(f.name, s.name)::float8 / greatest(length(f.name), length(s.name), 1)),
               s.pre
        FROM (SELECT n.* FROM geo_street_names n WHERE NOT s.known AND n.name %% s.name
              UNION
              SELECT n.* FROM geo_street_names n
              WHERE NOT s.known AND left(n.name, 1) = left(s.name, 1)
                AND levenshtein_less_equal(n.name, s.name, 2) <= 2) f
        WHERE NOT s.known AND f.name <> s.name
        UNION ALL
        -- a name cut at the front ('HEIGHTS AV' of LIBERTY HEIGHTS AVE, as BPD records truncate)
        SELECT n.key, n.predir, n.stype, n.sufdir, %(sim_tail)s, s.pre
        FROM geo_street_names n
        WHERE NOT s.known AND length(s.name) >= 4 AND n.name LIKE '%% ' || s.name
    ) n
), c AS (
    SELECT * FROM cand WHERE score >= %(min_score)s
), pt AS (
    SELECT q.i, c.key, 'address_point' AS mt, a.geom, c.score * %(f_point)s AS score
    FROM q JOIN c ON c.sid = q.s0 JOIN geo_addresses a ON a.key = c.key AND a.number = q.num
    WHERE q.kind = 'address'
), nbr AS (
    -- Between the nearest address points of the same street below and above the number (same
    -- parity first, at most 200 numbers away each, and 250 m apart): the city's own points anchor
    -- the estimate.
    SELECT q.i, c.key, 'address_interpolated' AS mt,
           ST_LineInterpolatePoint(ST_MakeLine(lo.geom, hi.geom),
                                   (q.num - lo.number)::float8 / (hi.number - lo.number)) AS geom,
           c.score * %(f_between)s AS score
    FROM q JOIN c ON c.sid = q.s0
    CROSS JOIN LATERAL (SELECT a.number, a.geom FROM geo_addresses a
                        WHERE a.key = c.key AND a.number < q.num AND a.number >= q.num - 200
                        ORDER BY (a.number %% 2 = q.num %% 2) DESC, a.number DESC LIMIT 1) lo
    CROSS JOIN LATERAL (SELECT a.number, a.geom FROM geo_addresses a
                        WHERE a.key = c.key AND a.number > q.num AND a.number <= q.num + 200
                        ORDER BY (a.number %% 2 = q.num %% 2) DESC, a.number LIMIT 1) hi
    WHERE q.kind = 'address' AND ST_DWithin(lo.geom::geography, hi.geom::geography, 250)
), rng AS (
    SELECT q.i, c.key, 'range' AS mt, r.geom,
           c.score * CASE WHEN r.parity_ok THEN %(f_range)s ELSE %(f_range_np)s END AS score
    FROM q JOIN c ON c.sid = q.s0
    CROSS JOIN LATERAL (
        SELECT g.street_id FROM geo_segments g
        WHERE g.key = c.key
          AND ((g.l_from <> 0 OR g.l_to <> 0) AND q.num BETWEEN least(g.l_from, g.l_to) AND greatest(g.l_from, g.l_to)
            OR (g.r_from <> 0 OR g.r_to <> 0) AND q.num BETWEEN least(g.r_from, g.r_to) AND greatest(g.r_from, g.r_to))
        ORDER BY geocode_side(q.num, g.l_from, g.l_to, g.r_from, g.r_to) <> 0 DESC, g.alley,
                 greatest(g.l_from, g.l_to, g.r_from, g.r_to) - least(g.l_from, g.l_to, g.r_from, g.r_to), g.street_id
        LIMIT 1) g
    CROSS JOIN LATERAL geocode_range_point(g.street_id, q.num, %(offset)s) r
    WHERE q.kind = 'address'
), blk AS (
    SELECT q.i, c.key, 'block' AS mt, geocode_block_point(c.key, q.num) AS geom, c.score * %(f_block)s AS score
    FROM q JOIN c ON c.sid = q.s0
    WHERE q.kind = 'block' OR (q.kind = 'address' AND q.num %% 100 = 0)
), ix AS (
    -- a named junction of more streets than these two is a nearby, bigger junction more often
    -- than this crossing: the network's crossing is preferred then
    SELECT q.i, c0.key || ' & ' || c1.key AS key, 'intersection' AS mt, x.geom,
           (c0.score + c1.score - 1) * CASE WHEN (SELECT count(*) FROM geo_intersection_parts o
                                                  WHERE o.intersection_id = x.id) <= 2
                                            THEN %(f_xtable)s ELSE %(f_xtable_multi)s END AS score
    FROM q JOIN c c0 ON c0.sid = q.s0 JOIN c c1 ON c1.sid = q.s1
    JOIN geo_intersection_parts p0 ON p0.key = c0.key
    JOIN geo_intersection_parts p1 ON p1.intersection_id = p0.intersection_id AND p1.key = c1.key
    JOIN intersections x ON x.id = p0.intersection_id
    WHERE q.kind = 'intersection'
    UNION ALL
    SELECT q.i, c0.key || ' & ' || c1.key, 'intersection', x.geom,
           (c0.score + c1.score - 1) * %(f_xnet)s
    FROM q JOIN c c0 ON c0.sid = q.s0 JOIN c c1 ON c1.sid = q.s1
    JOIN geo_crossings x ON x.key_a = c0.key AND x.key_b = c1.key
    WHERE q.kind = 'intersection'
), found AS (
    SELECT * FROM pt UNION ALL SELECT * FROM nbr UNION ALL SELECT * FROM rng
    UNION ALL SELECT * FROM blk WHERE geom IS NOT NULL UNION ALL SELECT * FROM ix
)
SELECT i, key, mt, ST_X(geom), ST_Y(geom), score FROM found
UNION ALL
(SELECT DISTINCT ON (q.i) q.i, c.key, 'street', NULL, NULL, c.score
 FROM q JOIN cand c ON c.sid = q.s0 ORDER BY q.i, c.score DESC)
"""


@dataclass(slots=True)
class Candidate:
    key: str
    match_type: str   # address_point, address_interpolated, range, block, intersection; 'street' = best name only
    lon: float | None
    lat: float | None
    score: float


def search(conn: psycopg.Connection, queries: list[Query]) -> dict[int, list[Candidate]]:
    """Candidates (unsorted) per query index, from one SQL statement."""
    specs: dict[Street, int] = {}
    qi, kind, num, s0, s1 = [], [], [], [], []
    for i, q in enumerate(queries):
        if q.kind not in ("address", "block", "intersection"):
            continue
        ids = [specs.setdefault(s, len(specs)) for s in q.streets[:2]]
        qi.append(i); kind.append(q.kind); num.append(q.number)
        s0.append(ids[0]); s1.append(ids[1] if len(ids) > 1 else None)
    out: dict[int, list[Candidate]] = {}
    if not qi:
        return out
    params = {
        "qi": qi, "kind": kind, "num": num, "s0": s0, "s1": s1,
        "sid": list(specs.values()), "pre": [s.predir for s in specs], "name": [s.name for s in specs],
        "typ": [s.stype for s in specs], "suf": [s.sufdir for s in specs], "alt": [s.alt_name for s in specs],
        "min_score": MIN_STREET_SCORE, "sim_tail": SIM_TAIL, "offset": OFFSET_M, "f_point": F_POINT, "f_between": F_BETWEEN, "f_range": F_RANGE,
        "f_range_np": F_RANGE_NOPARITY, "f_block": F_BLOCK, "f_xtable": F_XTABLE, "f_xtable_multi": F_XTABLE_MULTI, "f_xnet": F_XNETWORK,
    }
    for i, key, mt, x, y, score in conn.execute(SQL, params, prepare=True):
        out.setdefault(i, []).append(Candidate(key, mt, x, y, float(score)))
    return out
