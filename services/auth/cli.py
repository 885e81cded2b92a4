"""`rtcc user ...`, `rtcc apikey ...`, `rtcc audit verify`: account, key and audit administration
from the operator's shell (as the schema owner). Every change is audited."""
from __future__ import annotations

from typing import Optional

import typer

from services.errors import RTCCError

user_app = typer.Typer(help="Local accounts (sign-in to the web client, QGIS/GDAL with HTTP Basic)",
                       no_args_is_help=True)
key_app = typer.Typer(help="API keys for CAD, sensor feeds and scripts", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit log", no_args_is_help=True)


def _conn():
    from services import db
    from services.cli import _ensure_db, db_migrate
    _ensure_db()
    db_migrate()
    return db.connect_owner(autocommit=True)


def _fail(e: RTCCError) -> None:
    typer.echo(f"error: {e.detail}", err=True)
    raise typer.Exit(2)


@user_app.command("add")
def user_add(name: str, role: str = typer.Option(..., "--role", help="viewer, analyst, supervisor, gis, cad, admin"),
             password: Optional[str] = typer.Option(None, "--password", envvar="RTCC_NEW_PASSWORD",
                                                    help="default: generated and printed once")) -> None:
    """Create a local account; prints the password once (last line) when none is given."""
    from services import audit
    from services.auth import accounts
    with _conn() as conn:
        try:
            pw = accounts.add_user(conn, name, role, password)
        except RTCCError as e:
            _fail(e)
        audit.system(conn, "user.add", f"users/{name}", {"role": role})
    typer.echo(f"user {name} ({role}) created")
    if password is None:
        typer.echo(pw)


def _set_disabled(name: str, disabled: bool) -> None:
    from services import audit
    from services.auth import accounts
    verb = "disable" if disabled else "enable"
    with _conn() as conn:
        try:
            accounts.set_disabled(conn, name, disabled)
        except RTCCError as e:
            _fail(e)
        audit.system(conn, f"user.{verb}", f"users/{name}")
    typer.echo(f"user {name} {verb}d")


@user_app.command("disable")
def user_disable(name: str) -> None:
    """Disable an account and end its sessions."""
    _set_disabled(name, True)


@user_app.command("enable")
def user_enable(name: str) -> None:
    """Enable a disabled account again."""
    _set_disabled(name, False)


@user_app.command("reset-password")
def user_reset(name: str, password: Optional[str] = typer.Option(None, "--password", envvar="RTCC_NEW_PASSWORD")) -> None:
    """Set a new password (generated and printed once on the last line unless given); ends sessions."""
    from services import audit
    from services.auth import accounts
    with _conn() as conn:
        try:
            pw = accounts.reset_password(conn, name, password)
        except RTCCError as e:
            _fail(e)
        audit.system(conn, "user.reset_password", f"users/{name}")
    typer.echo(f"password of {name} reset")
    if password is None:
        typer.echo(pw)


@user_app.command("list")
def user_list() -> None:
    from services.auth import accounts
    with _conn() as conn:
        for u in accounts.list_users(conn):
            typer.echo(f"{u['name']:<24} {u['role']:<11} {u['source']:<6} "
                       f"{'disabled' if u['disabled_at'] else 'active'}")


@key_app.command("create")
def key_create(role: str = typer.Option(..., "--role"), name: str = typer.Option(..., "--name"),
               feeds: Optional[str] = typer.Option(None, "--feeds", help="limit ingest to these feeds, e.g. cad,call")) -> None:
    """Create an API key; the key is printed once, on the last line (only its hash is stored)."""
    from services import audit
    from services.auth import keys
    feed_list = [f.strip() for f in feeds.split(",") if f.strip()] if feeds else None
    with _conn() as conn:
        try:
            kid, key = keys.create_key(conn, name, role, feed_list, "cli")
        except RTCCError as e:
            _fail(e)
        audit.system(conn, "apikey.create", f"apikeys/{kid}", {"name": name, "role": role, "feeds": feed_list})
    typer.echo(f"API key {kid} '{name}' ({role}{', feeds ' + ','.join(feed_list) if feed_list else ''}) created; "
               "send it as 'Authorization: Bearer KEY'. It is shown only now:")
    typer.echo(key)


@key_app.command("revoke")
def key_revoke(ident: str = typer.Argument(..., help="key id, or a name (revokes every key of that name)")) -> None:
    from services import audit
    from services.auth import keys
    with _conn() as conn:
        try:
            n = keys.revoke_key(conn, ident)
        except RTCCError as e:
            _fail(e)
        audit.system(conn, "apikey.revoke", f"apikeys/{ident}", {"revoked": n})
    typer.echo(f"{n} key(s) revoked")


@key_app.command("list")
def key_list() -> None:
    from services.auth import keys
    with _conn() as conn:
        for k in keys.list_keys(conn):
            state = "revoked" if k["revoked_at"] else "live"
            typer.echo(f"{k['id']:>4} {k['name']:<20} {k['role']:<10} {k['prefix']}…  {state:<7} "
                       f"feeds={','.join(k['feeds'] or []) or 'all'} last_used={k['last_used_at'] or 'never'}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; exits 1 when a row was altered or removed."""
    from services import audit
    with _conn() as conn:
        r = audit.verify(conn)
    if r["ok"]:
        typer.echo(f"audit log intact: {r['checked']} rows; head {r['head_seq']} {r['head_hash']}")
        return
    typer.echo(f"audit log BROKEN: {r['problem']} ({r['checked']} rows intact before it)", err=True)
    raise typer.Exit(1)


retention_app = typer.Typer(help="Retention and legal holds", no_args_is_help=True)


@retention_app.command("run")
def retention_run() -> None:
    """Remove expired events now (audited with counts)."""
    from services import retention
    with _conn() as conn:
        out = retention.run(conn, who="cli")
    typer.echo(f"purged {sum(out['rows'].values())} rows {out['rows']}; partitions dropped: "
               f"{', '.join(out['partitions_dropped']) or 'none'}")


@retention_app.command("hold")
def retention_hold(case_number: str, reason: str = typer.Option(..., "--reason"),
                   events: Optional[str] = typer.Option(None, "--events", help="event ids, comma-separated"),
                   plates: Optional[str] = typer.Option(None, "--plates", help="plates, comma-separated")) -> None:
    """Place a legal hold: the cited events are kept whatever their age."""
    from services import audit, retention
    h = retention.Hold(case_number=case_number, reason=reason,
                       event_ids=[int(e) for e in (events or "").split(",") if e.strip()],
                       plates=[p.strip() for p in (plates or "").split(",") if p.strip()])
    with _conn() as conn:
        try:
            out = retention.place_hold(conn, h, "cli")
        except RTCCError as e:
            _fail(e)
        audit.system(conn, "legal_hold.place", f"legal-holds/{case_number}", out)
    typer.echo(f"hold on {case_number}: {out['events']} events, {out['plates']} plates")


@retention_app.command("release")
def retention_release(case_number: str) -> None:
    from services import audit, retention
    with _conn() as conn:
        try:
            retention.release_hold(conn, case_number)
        except RTCCError as e:
            _fail(e)
        audit.system(conn, "legal_hold.release", f"legal-holds/{case_number}")
    typer.echo(f"hold on {case_number} released")
