"""`authencode line …`: the LINE Official Account's commands. The bot registers them itself
(pyproject.toml's entry point group ``authencode.commands``), so the core's CLI imports
nothing of it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from authencode.cli import settings_or_exit, unit_of_work


@click.group("line")
def line_group() -> None:
    """The LINE Official Account."""


@line_group.group("richmenu")
def line_richmenu() -> None:
    """The rich menus under the chat (guest before consent, member after)."""


@line_richmenu.command("deploy")
@click.option(
    "--font",
    type=click.Path(exists=True, dir_okay=False),
    help="Thai font file (default: Garuda/Loma from fonts-thai-tlwg).",
)
@click.option(
    "--save-images",
    type=click.Path(file_okay=False),
    help="Also write the drawn images into this folder.",
)
def line_richmenu_deploy(font: str | None, save_images: str | None) -> None:
    """Draw, create and upload the rich menus, alias them, set the default; replace old ones."""
    from linebot_app.richmenu import RichMenuError, deploy
    from linebot_app.richmenu_image import FontMissing

    settings = settings_or_exit()
    try:
        report = deploy(
            settings, font=font, out_dir=Path(save_images) if save_images else None, echo=click.echo
        )
    except (RichMenuError, FontMissing) as exc:
        click.echo(f"authencode: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"rich menus deployed: {', '.join(f'{k} {v}' for k, v in report.menus.items())}; "
        f"{len(report.deleted)} old menu(s) deleted"
    )


@line_group.command("announce-levels")
def line_announce_levels() -> None:
    """Tell each account once (recorded) what link levels mean and how to verify."""
    from linebot_app.notify import announce_levels

    settings = settings_or_exit()
    with unit_of_work(settings) as session:
        queued = announce_levels(session, settings)
    click.echo(f"announcement queued for {queued} account(s); accounts already told were skipped")


@line_group.group("events")
def line_events() -> None:
    """The webhook's events: waiting for a worker, and those given up on (dead)."""


@line_events.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def line_events_list(limit: int) -> None:
    """Count the events waiting and dead; list the dead ones, newest first."""
    from authencode.services.inbox import backlog, dead

    with unit_of_work(settings_or_exit()) as session:
        counts = backlog(session)
        rows = dead(session, limit)
    oldest = (
        f", oldest received {counts.oldest_pending:%Y-%m-%d %H:%M:%S}Z"
        if counts.oldest_pending
        else ""
    )
    click.echo(f"pending: {counts.pending}{oldest}; dead: {counts.dead}")
    for row in rows:
        click.echo(
            f"{row.webhook_event_id}  {row.event_type}  {row.received_at:%Y-%m-%d %H:%M:%S}Z  "
            f"tries {row.attempts}  {row.last_error or ''}"
        )


@line_events.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="Queue every dead event again.")
def line_events_retry(ids: tuple[str, ...], all_dead: bool) -> None:
    """Queue dead events IDS (webhookEventIds, or --all-dead) again; a worker applies them."""
    from authencode.db import utcnow
    from authencode.services.inbox import retry_dead

    if bool(ids) == all_dead:
        click.echo("name the dead events' ids, or give --all-dead (not both)", err=True)
        sys.exit(2)
    with unit_of_work(settings_or_exit()) as session:
        queued = retry_dead(session, None if all_dead else ids, "cli", utcnow())
    missing = sorted(set(ids) - set(queued))
    click.echo(f"{len(queued)} event(s) queued again")
    if missing:
        click.echo(
            "not dead (pending, applied or unknown), left alone: " + ", ".join(missing), err=True
        )
        sys.exit(1)
