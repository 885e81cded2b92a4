"""Camera field of view and bearing math on the WGS 84 ellipsoid.

Pure Python (pyproj geodesics + shapely): the reference the SQL proximity engine is tested
against, and the helper for anything in Python that needs a view cone. Angles are degrees
clockwise from true north, distances metres.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class CameraView:
    id: str
    lon: float
    lat: float
    heading_deg: float | None = None   # None: omni-directional (PTZ)
    fov_deg: float | None = None       # None or >= 360: omni-directional
    range_m: float | None = None       # None: the configured default range

    @property
    def omni(self) -> bool:
        return self.heading_deg is None or self.fov_deg is None or self.fov_deg >= 360


@dataclass(frozen=True, slots=True)
class Ranked:
    camera: CameraView
    distance_m: float
    bearing_deg: float | None          # camera -> location; None when they coincide
    sees: bool


def distance_bearing(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float | None]:
    """Geodesic distance (metres) and initial bearing (degrees in [0, 360)) from point 1 to point 2."""
    az, _, d = GEOD.inv(lon1, lat1, lon2, lat2)
    if d == 0:
        return 0.0, None
    return float(d), float(az) % 360.0


def angle_diff(a: float, b: float) -> float:
    """Smallest absolute difference between two bearings (degrees, 0..180): wraps at 360."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


def in_sector(bearing: float, heading: float, fov: float) -> bool:
    """Is a bearing within heading ± fov/2? (heading 350, fov 40 contains bearing 5)."""
    return fov >= 360 or angle_diff(bearing, heading) <= fov / 2.0


def sees(cam: CameraView, distance_m: float, bearing_deg: float | None, default_range_m: float) -> bool:
    """The view-cone verdict for a point at this distance and bearing from the camera."""
    rng = cam.range_m if cam.range_m is not None else default_range_m
    if distance_m > rng:
        return False
    if cam.omni or bearing_deg is None:
        return True
    return in_sector(bearing_deg, cam.heading_deg, cam.fov_deg)


def cone(cam: CameraView, default_range_m: float, segments: int = 64) -> shapely.Polygon:
    """The view cone as a lon/lat polygon: a geodesic sector (or circle when omni-directional)."""
    rng = cam.range_m if cam.range_m is not None else default_range_m
    if cam.omni:
        az = np.linspace(0.0, 360.0, segments + 1)
    else:
        az = cam.heading_deg - cam.fov_deg / 2.0 + cam.fov_deg * np.linspace(0.0, 1.0, segments + 1)
    lons, lats, _ = GEOD.fwd(np.full(az.shape, cam.lon), np.full(az.shape, cam.lat), az, np.full(az.shape, rng))
    ring = list(zip(lons, lats))
    if not cam.omni:
        ring = [(cam.lon, cam.lat), *ring, (cam.lon, cam.lat)]
    return shapely.Polygon(ring)


def measure(cams: Sequence[CameraView], lon: float, lat: float) -> tuple[np.ndarray, np.ndarray]:
    """Distances (metres) and bearings (degrees, NaN where the camera is at the point) to one point."""
    n = len(cams)
    az, _, d = GEOD.inv(np.array([c.lon for c in cams], float), np.array([c.lat for c in cams], float),
                        np.full(n, lon), np.full(n, lat))
    az = np.mod(np.asarray(az, float), 360.0)
    d = np.asarray(d, float)
    az[d == 0] = np.nan
    return d, az


def rank_cameras(cams: Iterable[CameraView], lon: float, lat: float, k: int, radius_m: float,
                 default_range_m: float) -> list[Ranked]:
    """Brute force: every camera within radius_m, those that see the point first, then nearest, k of them."""
    cams = list(cams)
    if not cams or k <= 0:
        return []
    d, az = measure(cams, lon, lat)
    out = []
    for c, di, bi in zip(cams, d.tolist(), az.tolist()):
        if di > radius_m:
            continue
        b = None if bi != bi else bi  # NaN -> None
        out.append(Ranked(c, di, b, sees(c, di, b, default_range_m)))
    out.sort(key=lambda r: (not r.sees, r.distance_m, r.camera.id))
    return out[:k]
