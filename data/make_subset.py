"""Rebuild data/baltimore/ from the full public files in ../shared/data/baltimore (run by maintainers).

The shipped copy is the same records, gzip-compressed, with the street file's unused columns
dropped so a fresh clone carries the demo city in a few MB.
"""
import gzip
import json
import shutil
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/baltimore")
DST = Path(__file__).resolve().parent / "baltimore"
STREET_KEEP = ["segment_id", "subtype_label", "dirpre", "feanme", "featype", "dirsuf", "fullname",
               "fraddl", "toaddl", "fraddr", "toaddr", "sha_class", "block_num"]

DST.mkdir(exist_ok=True)
for src in sorted(SRC.iterdir()):
    if src.name == "streets_centerlines.geojson":
        fc = json.loads(src.read_text())
        for f in fc["features"]:
            f["properties"] = {k: f["properties"].get(k) for k in STREET_KEEP}
        with gzip.open(DST / (src.name + ".gz"), "wt", compresslevel=9) as out:
            json.dump(fc, out, separators=(",", ":"))
    elif src.name == "README.md":
        shutil.copy(src, DST / "SOURCES.md")
    else:
        with open(src, "rb") as i, gzip.open(DST / (src.name + ".gz"), "wb", compresslevel=9) as o:
            shutil.copyfileobj(i, o)
    print("wrote", src.name)
