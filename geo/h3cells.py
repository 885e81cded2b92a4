"""H3 cells (h3-py v4) in their 64-bit integer form, as stored in PostGIS."""
from __future__ import annotations

import h3.api.basic_int as h3i
import shapely


def cells(lat: float, lon: float, resolutions) -> list[int]:
    return [h3i.latlng_to_cell(lat, lon, r) for r in resolutions]


def boundary(cell: int) -> shapely.Polygon:
    """The hexagon (or pentagon) of a cell as a lon/lat polygon."""
    ring = [(lng, lat) for lat, lng in h3i.cell_to_boundary(cell)]
    return shapely.Polygon(ring)


def resolution(cell: int) -> int:
    return h3i.get_resolution(cell)
