"""`rtcc` command line: database lifecycle, demo load, ingest, synthetic data, simulation, serve."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from services.settings import get_settings

app = typer.Typer(help="RTCC situational-awareness server", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: local cluster and migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")
from services.auth.cli import audit_app, key_app, retention_app, user_app  # noqa: E402  (sub-commands)
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="apikey")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")


def _ensure_db() -> None:
    """Start the project-local cluster when DATABASE_URL is unset."""
    if not get_settings().database_url:
        from services.dev import localdb
        typer.echo(localdb.up())


@db_app.command("up")
def db_up() -> None:
    """Start the project-local PostGIS cluster (creating it the first time) and migrate."""
    _ensure_db()
    db_migrate()


@db_app.command("down")
def db_down() -> None:
    """Stop the project-local PostGIS cluster."""
    from services.dev import localdb
    typer.echo(localdb.down())


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (sql/migrations/) and changed definitions (sql/definitions/)."""
    from services import db, migrate
    try:
        with db.connect_owner(autocommit=True) as conn:
            applied = migrate.apply(conn)
    except migrate.MigrationError as e:  # a person must act: say what, without a traceback
        typer.echo(f"rtcc db migrate: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"migrations applied: {', '.join(applied.migrations) or 'none pending'}")
    typer.echo(f"definitions applied: {', '.join(applied.definitions) or 'none changed'}")


@db_app.command("reset")
def db_reset(yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Drop every table and re-apply the migrations (all data is lost)."""
    from services import db
    if not yes:
        typer.confirm("Drop all data in the database?", abort=True)
    _ensure_db()
    with db.connect_owner(autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    db_migrate()


@app.command("load-demo")
def load_demo(force: bool = typer.Option(False, help="Reload even if the demo city is already loaded")) -> None:
    """Load the demo city (Baltimore) from data/: reference layers, cameras, incidents, units."""
    from services import db
    from services.dev import demo
    _ensure_db()
    db_migrate()
    with db.connect_owner(autocommit=True) as conn:
        typer.echo(demo.load(conn, force=force))


@app.command("ingest")
def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON, NDJSON, CSV or GeoJSON file"),
    feed: str = typer.Option(..., "--feed", help="alpr, gunshot, cad, call, avl or camera"),
    batch_size: int = typer.Option(5000, help="Rows per committed batch"),
) -> None:
    """Ingest a file through the same pipeline as POST /api/ingest/{feed}."""
    from services.ingest.cli import ingest_file
    ingest_file(file, feed, batch_size)


hotlist_app = typer.Typer(help="Hotlists of plates checked against every ALPR read", no_args_is_help=True)
app.add_typer(hotlist_app, name="hotlist")


@hotlist_app.command("load")
def hotlist_load(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSON: plate, state, reason, "
                                "expires, source, notes"),
    name: str = typer.Option(..., "--name", help="The list's name (e.g. ncic-stolen)"),
    append: bool = typer.Option(False, "--append", help="Add to the list instead of replacing it"),
) -> None:
    """Load a hotlist as POST /api/hotlists/{name} does; bad rows are listed with their reason."""
    import orjson

    from services import db
    from services.alerts import hotlists
    from services.errors import RTCCError
    from services.ingest import parsers
    try:
        rows, _ = parsers.parse_path(parsers.decode_text(file.read_bytes()), file.suffix)
        with db.connect(autocommit=True) as conn:
            out = hotlists.load(conn, name, rows, "append" if append else "replace")
    except RTCCError as e:
        typer.echo(f"error: {e.detail}", err=True)
        raise typer.Exit(1)
    for r in out["rejected"][:50]:
        typer.echo(f"row {r['row']}: {r['reason']}", err=True)
    typer.echo(orjson.dumps({k: v for k, v in out.items() if k != "rejected"} | {"rejected": len(out["rejected"])}))


@app.command("synth")
def synth(
    events: int = typer.Option(1_000_000, help="Number of events"),
    cameras: int = typer.Option(50_000, help="Number of cameras"),
    units: int = typer.Option(500, help="Number of patrol units"),
    seed: int = typer.Option(42, help="Random seed (same seed, same data)"),
    days: int = typer.Option(30, help="Events span this many days up to now"),
) -> None:
    """Generate deterministic synthetic load inside the demo city for benchmarks."""
    from services.dev import synth as synth_mod
    _ensure_db()
    db_migrate()
    synth_mod.run(events=events, cameras=cameras, units=units, seed=seed, days=days)


@app.command("simulate")
def simulate(
    interval: float = typer.Option(3.0, help="Seconds between ticks"),
    ticks: Optional[int] = typer.Option(None, help="Stop after this many ticks (default: forever)"),
    seed: Optional[int] = typer.Option(None, help="Random seed"),
) -> None:
    """Keep the demo alive: units move along streets and new events arrive through ingest."""
    from services.dev import simulate as sim
    sim.run(interval=interval, ticks=ticks, seed=seed)


def _first_accounts() -> None:
    """First start: `admin` and one demo account per role, their passwords printed this once."""
    from services import audit, db
    from services.auth import accounts
    with db.connect_owner(autocommit=True) as conn:
        made = accounts.ensure_first_accounts(conn)
        for name, role, _ in made:
            audit.system(conn, "user.add", f"users/{name}", {"role": role, "first_start": True})
    if made:
        typer.echo("\n=== RTCC accounts created (passwords shown only now; `rtcc user reset-password NAME`) ===")
        for name, role, pw in made:
            shown = "(RTCC_ADMIN_PASSWORD)" if name == "admin" and get_settings().admin_password else pw
            typer.echo(f"    {name:<18} {role:<11} {shown}")
        typer.echo("Sign in at /login; API keys: `rtcc apikey create --role cad --name my-cad`\n")


@app.command("serve")
def serve(
    host: Optional[str] = typer.Option(None, help="Bind address (default RTCC_HOST)"),
    port: Optional[int] = typer.Option(None, help="Port (default RTCC_PORT)"),
    workers: int = typer.Option(1, help="Worker processes"),
    simulate: bool = typer.Option(False, "--simulate/--no-simulate", help="Run the demo simulation alongside"),
) -> None:
    """Serve the HTTP API, OGC API, tiles, live stream and the map client."""
    import subprocess
    import sys

    import uvicorn
    s = get_settings()
    _ensure_db()
    db_migrate()
    _first_accounts()
    sim = None
    if simulate:
        sim = subprocess.Popen([sys.executable, "-m", "services.cli", "simulate"])
    try:
        uvicorn.run("services.app:create_app", factory=True, host=host or s.host, port=port or s.port,
                    workers=workers, log_level="info", access_log=False)
    finally:
        if sim:
            sim.terminate()


if __name__ == "__main__":
    app()
