"""Tile math on the OGC WebMercatorQuad matrix set (EPSG:3857, 256-px tiles), via morecantile."""
from __future__ import annotations

import math

import morecantile

TMS = morecantile.tms.get("WebMercatorQuad")
MAX_ZOOM = 24            # deepest zoom served (WebMercatorQuad defines 0..24)
EXTENT = 4096            # MVT tile extent, in tile units (Mapbox Vector Tile 2.1 default)
BUFFER = 64              # tile units kept around the tile so symbols are not cut at its edges
THIN_CELLS = 64          # thinned point tiles: one point per cell of a THIN_CELLS × THIN_CELLS grid
# Lines and polygons are simplified to this fraction of a tile's width below SIMPLIFY_BELOW_ZOOM (a
# quarter of a pixel where the client draws a tile at 512 px): a z12 tile of police districts had
# 11,400 vertices (23 KB), 1,100 once simplified, and the browser parses and triangulates each one.
SIMPLIFY_PER_TILE = 2048
SIMPLIFY_BELOW_ZOOM = 16  # the deepest tiles the map asks for: full detail, as it overzooms them
H3_RESOLUTIONS = (7, 8, 9, 10)  # resolutions the events carry (h3_r7..h3_r10)


def simplify_tolerance_m(z: int) -> float:
    """Douglas-Peucker tolerance (EPSG:3857 metres) for lines and polygons in a tile of zoom z; 0: none."""
    if z >= SIMPLIFY_BELOW_ZOOM:
        return 0.0
    b = TMS.xy_bounds(0, 0, z)
    return (b.right - b.left) / SIMPLIFY_PER_TILE


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z


def lonlat_bounds(z: int, x: int, y: int, buffer: float = 0) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the tile grown by `buffer` tile units of EXTENT.

    A rectangle in EPSG:3857 is a rectangle in EPSG:4326 (the projection is separable), so this
    box is exact and can feed a GiST `&&` on the 4326 geometries directly.
    """
    b = TMS.xy_bounds(x, y, z)
    pad = (b.right - b.left) * buffer / EXTENT  # metres (web mercator)
    w, s = TMS.lnglat(b.left - pad, b.bottom - pad, truncate=True)
    e, n = TMS.lnglat(b.right + pad, b.top + pad, truncate=True)
    return w, s, e, n


def h3_res_for_zoom(z: int) -> int:
    """H3 resolution whose hexagons draw ~10-40 px wide at this zoom (r7 ~2.5 km, r10 ~0.14 km across)."""
    if z <= 10:
        return 7
    if z <= 12:
        return 8
    if z <= 14:
        return 9
    return 10


def thin_cell_deg(z: int, y: int) -> tuple[float, float]:
    """Width and height (degrees) of a thinning cell in tile row y at zoom z.

    Cells are THIN_CELLS per tile side, so each cell lies in exactly one tile; within a row the
    grid is the same for every tile (same latitude span), which keeps neighbours consistent.
    """
    b = TMS.bounds(0, y, z)
    return 360.0 / 2 ** z / THIN_CELLS, (b.top - b.bottom) / THIN_CELLS


def h3_margin_deg(res: int, lat: float) -> float:
    """Degrees of longitude spanning one H3 cell at a latitude (as rtcc_h3_margin_deg in SQL).

    The largest cell is under 2.9 km across at r7, 1.1 km at r8, 0.42 km at r9, 0.16 km at r10;
    a degree of latitude is 111.32 km, of longitude that times cos(latitude).
    """
    km = {7: 2.9, 8: 1.1, 9: 0.42}.get(res, 0.16)
    return km / (111.32 * max(math.cos(math.radians(min(abs(lat), 85))), 0.05))
