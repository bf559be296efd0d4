"""The `authencode` administration command. Each command is one transaction."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import click
from sqlalchemy.orm import Session

from authencode import migrate
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models.agent import TOKEN_SCOPES
from authencode.settings import Settings, SettingsError


@contextmanager
def unit_of_work(settings: Settings) -> Iterator[Session]:
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.dispose()


def settings_or_exit() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        click.echo(f"authencode: configuration error: {exc}", err=True)
        sys.exit(2)


class _Commands(click.Group):
    """The core's commands, and the groups front ends register under the entry point group
    ``authencode.commands`` (pyproject.toml), each loaded only when named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_registered()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _registered():
            loaded: click.Command = _registered()[cmd_name].load()
            return loaded
        return command


def _registered() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group="authencode.commands")}


@click.group(cls=_Commands)
def main() -> None:
    """Authen Code administration."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (the only way the schema is made)."""
    settings = settings_or_exit()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at revision {revision}")


@db.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    migrate.check(settings_or_exit().database_url)
    click.echo("models and migrations agree")


@main.group()
def registry() -> None:
    """The beneficiary registry."""


@registry.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-bad", is_flag=True, help="Import the good rows and list the bad ones.")
def registry_import(path: str, skip_bad: bool) -> None:
    """Import persons from a CSV file (UTF-8, with or without BOM); upsert by CID."""
    from authencode.services.registry_import import ImportRejected, import_registry, open_csv

    settings = settings_or_exit()
    protector = DataProtector(settings.key_ring)
    try:
        with unit_of_work(settings) as session, open_csv(path) as stream:
            report = import_registry(session, protector, stream, skip_bad=skip_bad)
    except ImportRejected as exc:
        for error in exc.errors:
            click.echo(f"{path}:{error}", err=True)
        click.echo(
            f"{len(exc.errors)} bad row(s); nothing was imported "
            "(fix them, or use --skip-bad to import the good rows)",
            err=True,
        )
        sys.exit(1)
    for error in report.errors:
        click.echo(f"{path}:{error} (skipped)", err=True)
    click.echo(
        f"inserted {report.inserted}, updated {report.updated}, "
        f"unchanged {report.unchanged}, skipped {len(report.errors)}"
    )


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the audit chain and report the first broken link."""
    from authencode.services import audit as audit_service

    with unit_of_work(settings_or_exit()) as session:
        report = audit_service.verify(session)
    if report.ok:
        click.echo(f"audit chain intact: {report.checked} entries")
        return
    click.echo(
        f"audit chain broken at entry {report.broken_at}: {report.reason} "
        f"({report.checked} entries before it are intact)",
        err=True,
    )
    sys.exit(1)


@main.group()
def token() -> None:
    """Facility API tokens for hospital systems and reader agents."""


@token.command("create")
@click.argument("hcode")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(TOKEN_SCOPES),
    default="his",
    show_default=True,
    help="the API it opens: his (hospital systems), agent (a reader agent), "
    "kiosk (works only once bound to a kiosk: register kiosks on the clinic's Kiosks page, "
    "which makes their tokens)",
)
def token_create(hcode: str, name: str, scope: str) -> None:
    """Create a token for facility HCODE; the secret is printed once."""
    from sqlalchemy import select

    from authencode.models import Facility
    from authencode.services.api_tokens import create_token

    with unit_of_work(settings_or_exit()) as session:
        facility = session.scalar(select(Facility).where(Facility.hcode == hcode))
        if facility is None:
            click.echo(f"no facility {hcode}", err=True)
            sys.exit(1)
        new = create_token(session, facility, name, "cli", scope)
        click.echo(f"{scope} token {new.token.id} for {hcode} ({name}); it is not shown again:")
        click.echo(new.secret)


@token.command("list")
@click.argument("hcode")
def token_list(hcode: str) -> None:
    """List a facility's tokens (never their secrets)."""
    from sqlalchemy import select

    from authencode.models import ApiToken, Facility

    with unit_of_work(settings_or_exit()) as session:
        rows = session.scalars(
            select(ApiToken).join(Facility).where(Facility.hcode == hcode).order_by(ApiToken.id)
        )
        for row in rows:
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"{row.id}\t{row.prefix}…\t{row.scope}\t{row.name}\t{state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id."""
    from authencode.models import ApiToken
    from authencode.services.api_tokens import revoke_token

    with unit_of_work(settings_or_exit()) as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            click.echo(f"no token {token_id}", err=True)
            sys.exit(1)
        revoke_token(session, row, "cli")
    click.echo(f"token {token_id} revoked")


@main.group()
def staff() -> None:
    """Staff accounts."""


@staff.command("set-pin")
@click.argument("username")
@click.option(
    "--pin",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="4 digits; asked for when not given",
)
def staff_set_pin(username: str, pin: str) -> None:
    """Set the 4-digit PIN a staff member unlocks a reader agent with."""
    from sqlalchemy import select

    from authencode.errors import DomainError
    from authencode.models import StaffUser
    from authencode.services.agent import set_pin

    try:
        with unit_of_work(settings_or_exit()) as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is None:
                click.echo(f"no staff account {username}", err=True)
                sys.exit(1)
            set_pin(session, user, pin, "cli")
    except DomainError as exc:
        click.echo(f"{exc.message} / {exc.message_th}", err=True)
        sys.exit(1)
    click.echo(f"PIN set for {username}")


@main.group()
def links() -> None:
    """Who may act for whom: the links between LINE accounts and persons."""


@links.command("verify-csv")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def links_verify_csv(path: str) -> None:
    """Verify links the registry office checked offline (CSV: cid, line_user_id or phone)."""
    from authencode.services.link_registry import verify_csv
    from authencode.services.registry_import import open_csv

    settings = settings_or_exit()
    with unit_of_work(settings) as session, open_csv(path) as stream:
        report = verify_csv(session, DataProtector(settings.key_ring), stream)
    for error in report.errors:
        click.echo(f"{path}:{error} (nothing changed)", err=True)
    click.echo(
        f"verified {report.verified}, already verified {report.already}, "
        f"errors {len(report.errors)}, other self links removed {report.displaced}"
    )
    if report.errors:
        sys.exit(1)


@main.group()
def outbox() -> None:
    """Replies, pushes and emails waiting to be sent, and those given up on."""


def _when(moment: object) -> str:
    import datetime as dt

    from authencode.thaidate import local

    return local(moment).strftime("%Y-%m-%d %H:%M %z") if isinstance(moment, dt.datetime) else ""


@outbox.command("status")
def outbox_status() -> None:
    """Count the messages waiting and those given up on, by kind, with the oldest of each."""
    from authencode.services.outbox import backlog

    with unit_of_work(settings_or_exit()) as session:
        rows = backlog(session)
    if not rows:
        click.echo("nothing waiting or failed")
    for row in rows:
        click.echo(f"{row.kind}\t{row.status}\t{row.count}\toldest {_when(row.oldest)}")


@outbox.command("failed")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def outbox_failed(limit: int) -> None:
    """List the messages given up on, newest first (recipients masked)."""
    from authencode.services.outbox import failed, mask_recipient

    with unit_of_work(settings_or_exit()) as session:
        rows = failed(session, limit)
        for row in rows:
            error = " ".join((row.last_error or "").split())[:120]
            click.echo(
                f"{row.id}\t{row.kind}\t{mask_recipient(row.kind, row.recipient)}\t"
                f"{_when(row.created_at)}\t{row.attempts} attempt(s)\t{error}"
            )
    if not rows:
        click.echo("no failed messages")


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--all-failed", is_flag=True, help="Queue every failed message again.")
def outbox_retry(ids: tuple[int, ...], all_failed: bool) -> None:
    """Queue failed messages IDS (or --all-failed) again; the worker sends them."""
    from authencode.db import utcnow
    from authencode.services.outbox import retry_failed

    if bool(ids) == all_failed:
        click.echo("name the failed messages' ids, or give --all-failed (not both)", err=True)
        sys.exit(2)
    with unit_of_work(settings_or_exit()) as session:
        queued = retry_failed(session, None if all_failed else ids, "cli", utcnow())
    missing = sorted(set(ids) - set(queued))
    click.echo(f"{len(queued)} message(s) queued again")
    if missing:
        click.echo(
            "not failed (pending, sent or unknown), left alone: " + ", ".join(map(str, missing)),
            err=True,
        )
        sys.exit(1)


@main.group()
def retention() -> None:
    """What is kept how long, and the purge of what is past its period."""


@retention.command("status")
def retention_status() -> None:
    """Each kind's period, its oldest row still held and how many rows are due."""
    from authencode.db import utcnow
    from authencode.services import retention as retention_service

    settings = settings_or_exit()
    with unit_of_work(settings) as session:
        rows = retention_service.status(session, settings.retention, utcnow())
    for row in rows:
        oldest = _when(row.oldest) if row.oldest is not None else "none"
        click.echo(f"{row.name}\tkept {row.period.days} day(s)\toldest {oldest}\tdue {row.due}")


@retention.command("run")
def retention_run() -> None:
    """Purge every row past its period now, in batches (the worker does it every minute)."""
    from authencode.db import utcnow
    from authencode.services import retention as retention_service

    settings = settings_or_exit()
    database = Database(settings.database_url)
    try:
        counts = retention_service.purge(
            database, settings.retention, utcnow(), actor="cli", audit_empty=True
        )
    finally:
        database.dispose()
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()) + " purged")


@main.command("backup")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent dump of the database and its manifest into the new folder PATH
    (never the keys: back DATA_KEY up separately)."""
    from authencode.services.backup import BackupError, backup

    settings = settings_or_exit()
    try:
        manifest = backup(settings.database_url, path, settings.pg_bindir)
    except BackupError as exc:
        click.echo(f"authencode backup: {exc}", err=True)
        sys.exit(1)
    rows = sum(manifest.tables.values())
    click.echo(
        f"backup in {path}: {len(manifest.tables)} tables, {rows} rows, schema "
        f"{manifest.schema_revision}, audit entries {manifest.audit_head['entries']}"
    )


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(path: Path) -> None:
    """Load the backup in PATH into the (empty) database of DATABASE_URL and check it
    against its manifest."""
    from authencode.services.backup import BackupError, restore

    settings = settings_or_exit()
    try:
        report = restore(settings.database_url, path, settings.pg_bindir)
    except BackupError as exc:
        click.echo(f"authencode restore: {exc}", err=True)
        sys.exit(1)
    for name, (expected, found) in sorted(report.mismatches.items()):
        click.echo(f"{name}: {found} rows restored, the manifest says {expected}", err=True)
    if not report.audit_head_matches:
        click.echo("the audit chain's head differs from the manifest's", err=True)
    if not report.ok:
        sys.exit(1)
    rows = sum(report.manifest.tables.values())
    click.echo(
        f"restored {rows} rows of {len(report.manifest.tables)} tables, schema "
        f"{report.manifest.schema_revision}, as the manifest says; run `authencode audit verify`"
    )


@main.command()
def demo() -> None:
    """Load demonstration data (idempotent) and print the demo persons' CIDs and the logins."""
    from authencode.demo import DEMO_HCODE, load_demo
    from authencode.thaidate import service_day

    settings = settings_or_exit()
    if settings.is_production:
        click.echo("authencode demo refuses to run in production (AUTHENCODE_ENV)", err=True)
        sys.exit(2)
    today = service_day()
    with unit_of_work(settings) as session:
        counts = load_demo(session, DataProtector(settings.key_ring), today)
    click.echo(
        f"demo facility {DEMO_HCODE}: {counts['persons']} persons written, "
        f"{counts['staff']} staff accounts created"
    )
    click.echo(demo_guide(today))


def demo_guide(today: dt.date) -> str:
    """What `authencode demo` prints: the demo persons (fictional CIDs) and staff logins."""
    from authencode.demo import DEMO_PASSWORD, DEMO_PEOPLE, DEMO_PIN, DEMO_STAFF, DEMO_STAFF_SHOWS
    from authencode.thaidate import BE_OFFSET

    lines = ["", "demo persons (fictional citizen IDs; each born on 1 January, BE year shown):"]
    for p in DEMO_PEOPLE:
        born = today.year - p.age + BE_OFFSET
        lines.append(f"  {p.cid}  {p.title}{p.first} {p.last}, {p.age} (01/01/{born})")
        lines.append(f"      {p.shows}")
    lines += ["", f"staff logins (password {DEMO_PASSWORD}, reader-agent PIN {DEMO_PIN}):"]
    width = max(len(username) for username, *_ in DEMO_STAFF)
    for username, *_ in DEMO_STAFF:
        lines.append(f"  {username:<{width}}  {DEMO_STAFF_SHOWS[username]}")
    return "\n".join(lines)


def _add_key_commands() -> None:
    from authencode.cli_keys import keys

    main.add_command(keys)


_add_key_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
