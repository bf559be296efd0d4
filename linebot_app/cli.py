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
