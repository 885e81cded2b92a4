"""The street graph in memory: drive times from many units to one incident in a few milliseconds, and
the path of each, so /api/route draws the path the ETA measured.

pgRouting builds its graph from SQL on every call: the ~48,000 edges of the city cost ~500 ms, a
downtown box ~15 ms, and a fleet spread over the city (the real case) needs a box of most of it:
/api/nearest?units=5 took 65-75 ms against 2-3 ms without units. Here each process keeps
route_edges as a sparse matrix of the reversed graph (reloaded when route_graph.version changes:
street edits reach it on the next answer) and runs one Dijkstra (scipy, C) from the incident,
bounded in seconds: the bound starts near the k-th nearest unit's likely drive time and doubles
until k units are reached within it, so a sparse fleet costs a few thousand vertices, not the city.

A point is snapped onto its nearest edge at the fraction where it lies (rtcc_route_snap in SQL), so
a one-way edge is only usable the way it runs; the off-street legs count at ACCESS_KMH.
The graph is a cache derived from the database, never state another process needs.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from services import db

ACCESS_KMH = 15.0      # speed of the off-street legs (unit to its street, street to the incident)
MIN_COST_S = 1e-6      # sparse matrices drop explicit zeros: a zero-length edge still connects
FIRST_BOUND_S = 60.0   # first search bound: at least this many seconds...
S_PER_M = 0.13         # ...or the k-th nearest unit's straight-line metres x this: on the demo city the
#                        k-th best drive took 0.08-0.13 s per such metre (median 0.09); short, doubled


@dataclass(frozen=True)
class Snap:
    """A point on the graph: edge id, fraction along it (0 = source end), metres off the street."""
    edge: int
    frac: float
    off_m: float


@dataclass(frozen=True)
class Leg:
    """A drive from an origin to the destination: seconds (access legs included) and the pieces of
    edges it follows, (edge id, from fraction, to fraction) in driving order."""
    seconds: float
    pieces: list[tuple[int, float, float]]


BEYOND = Leg(math.inf, [])  # farther than the k-th best origin: cannot be among the k best


class Graph:
    """route_edges at one version, as the reversed graph (an entry y -> x of cost c is the edge x -> y):
    one Dijkstra from the destination reaches every origin. The last vertex is the destination's
    virtual vertex; its two entries (to the ends of the destination's edge) are set per search."""

    def __init__(self, version: int, eid, src, tgt, cost, rcost):
        self.version = version
        self.pos = {int(e): i for i, e in enumerate(eid)}
        self.eid, self.src, self.tgt, self.cost, self.rcost = eid, src, tgt, cost, rcost
        n = int(max(src.max(initial=0), tgt.max(initial=0))) + 1
        self.virtual = n
        fw, bw = cost >= 0, rcost >= 0
        rows = np.concatenate([tgt[fw], src[bw]])          # reversed: from the edge's far end...
        cols = np.concatenate([src[fw], tgt[bw]])          # ...back to where a driver comes from
        w = np.maximum(np.concatenate([cost[fw], rcost[bw]]), MIN_COST_S)
        which = np.concatenate([np.nonzero(fw)[0], np.nonzero(bw)[0]])
        # Parallel edges: keep the cheapest (a CSR matrix would add them up).
        order = np.lexsort((w, cols, rows))
        rows, cols, w, which = rows[order], cols[order], w[order], which[order]
        keep = np.ones(len(rows), bool)
        keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, w, which = rows[keep], cols[keep], w[keep], which[keep]
        # Two placeholder entries for the virtual vertex (the last row, so the last two entries).
        rows = np.concatenate([rows, [n, n]])
        cols = np.concatenate([cols, [0, 0]])
        w = np.concatenate([w, [MIN_COST_S, MIN_COST_S]])
        self.entry_edge = np.concatenate([which, [-1, -1]])  # edge position of each matrix entry
        indptr = np.zeros(n + 2, np.int64)
        np.add.at(indptr, rows + 1, 1)
        self.m = csr_matrix((w, cols.astype(np.int32), np.cumsum(indptr)), shape=(n + 1, n + 1))
        self._lock = threading.Lock()  # the virtual entries are set per search

    # -- the search ------------------------------------------------------------------------------
    def _search(self, dest: Snap, bound: float):
        """Seconds from every vertex to dest (inf beyond bound) and the next vertex toward it."""
        i = self.pos[dest.edge]
        c, r = self.cost[i], self.rcost[i]
        ends = []  # a driver reaches dest from the edge's source going along it, or from its target against it
        if c >= 0:
            ends.append((self.src[i], dest.frac * c))
        if r >= 0:
            ends.append((self.tgt[i], (1 - dest.frac) * r))
        if not ends:
            return None, None
        ends = (ends * 2)[:2]
        with self._lock:
            for k, (v, s) in enumerate(ends):
                self.m.indices[-2 + k] = v
                self.m.data[-2 + k] = max(s, MIN_COST_S)
            dist, pred = dijkstra(self.m, directed=True, indices=self.virtual, limit=bound,
                                  return_predecessors=True)
        return dist, pred

    def _via(self, dist, o: Snap, dest: Snap) -> tuple[float, int | None]:
        """Network seconds from origin o to dest, and the vertex it enters the search tree by
        (None: along the shared edge without reaching a vertex)."""
        i = self.pos[o.edge]
        c, r = self.cost[i], self.rcost[i]
        best, via = math.inf, None
        if c >= 0 and dist[self.tgt[i]] < math.inf:
            best, via = (1 - o.frac) * c + dist[self.tgt[i]], int(self.tgt[i])
        if r >= 0 and dist[self.src[i]] < math.inf and o.frac * r + dist[self.src[i]] < best:
            best, via = o.frac * r + dist[self.src[i]], int(self.src[i])
        if o.edge == dest.edge:  # same street segment: straight along it, if its direction allows
            if o.frac <= dest.frac and c >= 0 and (dest.frac - o.frac) * c <= best:
                best, via = (dest.frac - o.frac) * c, None
            elif o.frac > dest.frac and r >= 0 and (o.frac - dest.frac) * r <= best:
                best, via = (o.frac - dest.frac) * r, None
        return best, via

    def _pieces(self, pred, o: Snap, dest: Snap, via: int | None) -> list[tuple[int, float, float]]:
        if via is None:
            return [(o.edge, o.frac, dest.frac)]
        i = self.pos[o.edge]
        out = [(o.edge, o.frac, 1.0 if via == self.tgt[i] else 0.0)]
        x = via
        while True:
            y = int(pred[x])
            if y == self.virtual:
                break
            # the entry y -> x of the reversed matrix is the forward edge x -> y
            a, b = self.m.indptr[y], self.m.indptr[y + 1]
            k = a + int(np.nonzero(self.m.indices[a:b] == x)[0][0])
            e = self.entry_edge[k]
            out.append((int(self.eid[e]), 0.0, 1.0) if self.src[e] == x else (int(self.eid[e]), 1.0, 0.0))
            x = y
        j = self.pos[dest.edge]
        out.append((dest.edge, 0.0 if x == self.src[j] else 1.0, dest.frac))
        return out

    def legs(self, dest: Snap, origins: list[Snap | None], k: int, hints_m: list[float],
             paths: bool = False) -> list[Leg | None]:
        """The drive of each origin to dest: None for an origin off the network or with no path,
        BEYOND for one that the search stopped short of, after k others were found nearer in time.
        hints_m: straight-line metres of each origin, to size the first bound."""
        on = sorted(h for o, h in zip(origins, hints_m) if o is not None)
        if not on or dest.edge not in self.pos:
            return [None] * len(origins)
        k = max(1, min(k, len(on)))
        bound = max(FIRST_BOUND_S, S_PER_M * on[k - 1])
        access = ACCESS_KMH / 3.6
        while True:
            dist, pred = self._search(dest, bound)
            if dist is None:
                return [None] * len(origins)
            found = []
            for o in origins:
                if o is None or o.edge not in self.pos:
                    found.append(None)
                    continue
                s, via = self._via(dist, o, dest)
                found.append((s, via) if s < math.inf and s <= bound else None)
            if sum(f is not None for f in found) >= k or bound == math.inf:
                break
            bound = bound * 2 if bound < 3600 else math.inf  # the whole graph last
        return [(BEYOND if o is not None and bound < math.inf else None) if f is None else
                Leg(float(f[0] + (o.off_m + dest.off_m) / access), self._pieces(pred, o, dest, f[1]) if paths else [])
                for o, f in zip(origins, found)]


_graph: Graph | None = None
_load_lock = threading.Lock()


def current(version: int) -> Graph:
    """The graph at `version` (route_graph.version as the caller's query saw it), loaded once per change."""
    global _graph
    g = _graph
    if g is not None and g.version == version:
        return g
    with _load_lock:
        if _graph is None or _graph.version != version:
            _graph = _load()
        return _graph


def _load() -> Graph:
    with db.pool().connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # the version and its edges
        version = conn.execute("SELECT version FROM route_graph").fetchone()[0]
        rows = conn.execute("SELECT id, source, target, cost, reverse_cost FROM route_edges").fetchall()
    a = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return Graph(version, a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2].astype(np.int64),
                 a[:, 3], a[:, 4])
