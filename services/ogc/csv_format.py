"""CSV items that may hold features without a geometry.

pygeoapi's CSV formatter reads the first feature's geometry type and every point's coordinates, so
one incident that could not be geocoded (geometry null) failed the whole page with a 500. This one
writes x/y for point layers and leaves them empty where a feature has no geometry; the columns are
every property any feature of the page has, in first-seen order.
"""
from __future__ import annotations

import csv
import io

from pygeoapi.formatter.csv_ import CSVFormatter


class NullGeometryCSVFormatter(CSVFormatter):
    def write(self, options: dict | None = None, data: dict | None = None) -> bytes:
        feats = (data or {}).get("features") or []
        if not feats:
            return b""
        geoms = [f.get("geometry") for f in feats]
        points = self.geom and any(geoms) and all(g is None or g.get("type") == "Point" for g in geoms)
        fields = list(dict.fromkeys(k for f in feats for k in (f.get("properties") or {})))
        if points:
            fields = ["x", "y"] + [f for f in fields if f not in ("x", "y")]
        out = io.StringIO()
        writer = csv.DictWriter(out, fields, extrasaction="ignore")
        writer.writeheader()
        for f, g in zip(feats, geoms):
            row = dict(f.get("properties") or {})
            if points and g:
                row["x"], row["y"] = g["coordinates"][:2]
            writer.writerow(row)
        return out.getvalue().encode("utf-8")
