"""The case as a GeoPackage (OGC GeoPackage 1.x via GDAL/pyogrio): one point layer per event
kind, a `tasks` point layer, and non-spatial tables `case`, `notes`, `searches` and `alerts`.
Opens in QGIS; a case with no located events still has every table (empty layers are typed)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from services.investigations.export.rows import by_kind, flat_value

MEDIA_TYPE = "application/geopackage+sqlite3"
# The file is a scratch copy read back at once: no fsync on each of its layers' commits.
pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})


def _points(rows: list[dict]) -> gpd.GeoDataFrame:
    geoms = shapely.points([(r.pop("lon"), r.pop("lat")) if r.get("lon") is not None else (float("nan"),) * 2
                            for r in rows]) if rows else []
    geoms = [None if g is None or g.is_empty else g for g in geoms]
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c in ("observed_at", "created_at", "closed_at"):
            df[c] = pd.to_datetime(df[c], utc=True)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def _table(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    """A non-spatial table; with no rows, typed text columns so the table still exists."""
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
    return pd.DataFrame([{k: flat_value(v) for k, v in r.items()} for r in rows])


def write(data: dict, meta: dict) -> bytes:
    with tempfile.TemporaryDirectory(prefix="rtcc-gpkg-") as d:
        path = str(Path(d) / "case.gpkg")
        case = dict(data["case"] or {})
        pyogrio.write_dataframe(_table([{**case, **meta}], ()), path, layer="case", driver="GPKG")
        kinds = by_kind(data["events"])
        for kind, rows in sorted(kinds.items()):
            pyogrio.write_dataframe(_points(rows), path, layer=kind, driver="GPKG", geometry_type="Point",
                                    promote_to_multi=False)
        if not kinds:  # no events at all: an empty, typed layer so GIS tools see the case's frame
            empty = gpd.GeoDataFrame({"id": pd.Series([], dtype="int64"), "kind": pd.Series([], dtype="object")},
                                     geometry=gpd.GeoSeries([], crs=4326), crs=4326)
            pyogrio.write_dataframe(empty, path, layer="events", driver="GPKG", geometry_type="Point")
        tasks = [{k: flat_value(v) for k, v in t.items()} for t in data["tasks"]]
        pyogrio.write_dataframe(_points(tasks) if tasks else gpd.GeoDataFrame(
            {"id": pd.Series([], dtype="int64"), "title": pd.Series([], dtype="object")},
            geometry=gpd.GeoSeries([], crs=4326), crs=4326), path, layer="tasks", driver="GPKG",
            geometry_type="Point")
        pyogrio.write_dataframe(_table(data["notes"], ("id", "at", "author", "text")), path, layer="notes",
                                driver="GPKG")
        pyogrio.write_dataframe(_table(data["searches"], ("at", "by", "action", "plate", "reason", "results")),
                                path, layer="searches", driver="GPKG")
        pyogrio.write_dataframe(_table(data["alerts"], ("id",)), path, layer="alerts", driver="GPKG")
        return Path(path).read_bytes()
