"""The `authencode` administration command. Each command is one transaction."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from authencode import migrate
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.settings import Settings, SettingsError


@contextmanager
def _unit_of_work(settings: Settings) -> Iterator[Session]:
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.dispose()


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        click.echo(f"authencode: configuration error: {exc}", err=True)
        sys.exit(2)


@click.group()
def main() -> None:
    """Authen Code administration."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (the only way the schema is made)."""
    settings = _settings()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at revision {revision}")


@db.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    migrate.check(_settings().database_url)
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

    settings = _settings()
    protector = DataProtector(settings.data_key)
    try:
        with _unit_of_work(settings) as session, open_csv(path) as stream:
            report = import_registry(session, protector, stream, skip_bad=skip_bad)
    except ImportRejected as exc:
        for error in exc.errors:
            click.echo(f"{path}:{error}", err=True)
        click.echo(f"{len(exc.errors)} bad row(s); nothing was imported "
                   "(fix them, or use --skip-bad to import the good rows)", err=True)
        sys.exit(1)
    for error in report.errors:
        click.echo(f"{path}:{error} (skipped)", err=True)
    click.echo(f"inserted {report.inserted}, updated {report.updated}, "
               f"unchanged {report.unchanged}, skipped {len(report.errors)}")


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the audit chain and report the first broken link."""
    from authencode.services import audit as audit_service

    with _unit_of_work(_settings()) as session:
        report = audit_service.verify(session)
    if report.ok:
        click.echo(f"audit chain intact: {report.checked} entries")
        return
    click.echo(f"audit chain broken at entry {report.broken_at}: {report.reason} "
               f"({report.checked} entries before it are intact)", err=True)
    sys.exit(1)


@main.command()
def demo() -> None:
    """Load demonstration data (idempotent): facility 10675, staff, registry persons."""
    from authencode.demo import DEMO_HCODE, DEMO_PASSWORD, DEMO_STAFF, load_demo
    from authencode.thaidate import service_day

    settings = _settings()
    if settings.is_production:
        click.echo("authencode demo refuses to run in production (AUTHENCODE_ENV)", err=True)
        sys.exit(2)
    with _unit_of_work(settings) as session:
        counts = load_demo(session, DataProtector(settings.data_key), service_day())
    click.echo(f"demo facility {DEMO_HCODE}: {counts['persons']} persons written, "
               f"{counts['staff']} staff accounts created")
    click.echo("staff logins (password " + DEMO_PASSWORD + "): "
               + ", ".join(u for u, *_ in DEMO_STAFF))


if __name__ == "__main__":  # pragma: no cover
    main()
