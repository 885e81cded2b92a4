"""`rtcc ingest FILE --feed NAME`: the pipeline over a file, in committed batches, with progress.

Two workers, each with its own connection: while one waits on PostgreSQL (COPY, joins) the
other validates its next chunk, so both cores stay busy. Each chunk is its own transaction.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import typer
from tqdm import tqdm

from services import db
from services.errors import RTCCError
from services.ingest import parsers
from services.ingest.pipeline import IngestResult, check_columns, get_feed, ingest_rows


def load_rows(path: Path, feed_name: str) -> tuple[str, list[dict]]:
    feed = get_feed(feed_name)
    text = parsers.decode_text(path.read_bytes())
    rows, header = parsers.parse_path(text, path.suffix)
    check_columns(feed, rows, header)
    return feed.name, rows


def ingest_parallel(feed: str, rows: list[dict], batch_size: int = 5000, workers: int = 2,
                    origin: str = "cli", progress: bool = True) -> IngestResult:
    """Ingest rows in chunks on `workers` connections; results merged in row order."""
    local = threading.local()
    conns = []
    lock = threading.Lock()

    def conn():
        if not hasattr(local, "c"):
            local.c = db.connect_owner(autocommit=True)
            with lock:
                conns.append(local.c)
        return local.c

    def one(start: int) -> tuple[int, IngestResult]:
        return start, ingest_rows(conn(), feed, rows[start:start + batch_size], origin=origin)

    total = IngestResult()
    try:
        with ThreadPoolExecutor(workers) as ex, tqdm(total=len(rows), unit="row", desc=feed,
                                                     disable=not progress) as bar:
            results = []
            for start, res in ex.map(one, range(0, len(rows), batch_size)):
                results.append((start, res))
                bar.update(min(batch_size, len(rows) - start))
        for start, res in sorted(results, key=lambda x: x[0]):
            total.add(res, row_offset=start)
    finally:
        for c in conns:
            c.close()
    return total


def ingest_file(path: Path, feed_name: str, batch_size: int = 5000) -> IngestResult:
    try:
        feed, rows = load_rows(path, feed_name)
    except RTCCError as e:
        typer.echo(f"error: {e.detail}", err=True)
        raise typer.Exit(2)
    total = ingest_parallel(feed, rows, batch_size)
    typer.echo(f"accepted {total.accepted}, duplicates {total.duplicates}, rejected {len(total.rejected)}"
               + (f", not geocoded {len(total.warnings)}" if total.warnings else ""))
    for r in total.rejected[:20]:
        typer.echo(f"  row {r['row']}: {r['reason']}")
    if len(total.rejected) > 20:
        typer.echo(f"  … {len(total.rejected) - 20} more (all kept in ingest_rejects)")
    return total
