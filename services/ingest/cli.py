"""`rtcc ingest FILE --feed NAME`: the pipeline over a file, in committed batches, with progress."""
from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from services import db
from services.errors import RTCCError
from services.ingest import parsers
from services.ingest.pipeline import IngestResult, check_columns, get_feed, ingest_rows


def ingest_file(path: Path, feed_name: str, batch_size: int = 5000) -> IngestResult:
    try:
        feed = get_feed(feed_name)
        text = parsers.decode_text(path.read_bytes())
        rows, header = parsers.parse_path(text, path.suffix)
        check_columns(feed, rows, header)
    except RTCCError as e:
        typer.echo(f"error: {e.detail}", err=True)
        raise typer.Exit(2)
    total = IngestResult()
    with db.connect(autocommit=True) as conn, tqdm(total=len(rows), unit="row", desc=feed.name) as bar:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            total.add(ingest_rows(conn, feed.name, chunk, origin="cli"), row_offset=start)
            bar.update(len(chunk))
    typer.echo(f"accepted {total.accepted}, duplicates {total.duplicates}, rejected {len(total.rejected)}"
               + (f", not geocoded {len(total.warnings)}" if total.warnings else ""))
    for r in total.rejected[:20]:
        typer.echo(f"  row {r['row']}: {r['reason']}")
    if len(total.rejected) > 20:
        typer.echo(f"  … {len(total.rejected) - 20} more (all kept in ingest_rejects)")
    return total
