"""`authencode keys`: which data key made how many rows, re-keying them, retiring a key."""

from __future__ import annotations

import sys

import click

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.settings import Settings


@click.group()
def keys() -> None:
    """Data keys (DATA_KEYS): status, rotation to the current key, retiring an old key."""


def _setup() -> tuple[Settings, DataProtector]:
    from authencode.cli import settings_or_exit

    settings = settings_or_exit()
    return settings, DataProtector(settings.key_ring)


@keys.command("status")
def keys_status() -> None:
    """Per encrypted or hashed column: how many values each data key made."""
    from authencode.services.data_keys import census

    settings, protector = _setup()
    ring = protector.key_ids
    click.echo(f"current key: {ring[0]}; also read: {', '.join(ring[1:]) or 'none'}")
    database = Database(settings.database_url)
    try:
        with database.read_only() as session:
            rows = census(session, ring)
    finally:
        database.dispose()
    stale = 0
    for table, column in rows:
        counts = "  ".join(f"{k}={column.by_key[k]}" for k in ring)
        if column.other:
            counts += f"  unknown key={column.other}"
        if column.live_by_key is not None:
            live = sum(column.live_by_key[k] for k in ring[1:])
            counts += f"  (one-way; live under older keys: {live})"
        else:
            stale += sum(column.by_key[k] for k in ring[1:]) + column.other
        click.echo(f"{table}.{column.column}: {counts}")
    click.echo(
        f"{stale} value(s) to re-key (`authencode keys rotate`)" if stale else "all re-keyed"
    )


@keys.command("rotate")
@click.option("--batch", "batch_size", default=500, show_default=True, type=click.IntRange(1))
def keys_rotate(batch_size: int) -> None:
    """Re-encrypt and re-hash every row under the current key, in batches; safe to rerun."""
    from authencode.services.data_keys import Progress, rotate

    settings, protector = _setup()

    def report(progress: Progress) -> None:
        left = max(progress.pending - progress.rekeyed, 0)
        click.echo(
            f"{progress.entry}: {progress.rekeyed} re-keyed to {protector.current_key_id}, "
            f"about {left} to go"
        )

    database = Database(settings.database_url)
    try:
        total, failed = rotate(database, protector, batch_size=batch_size, on_batch=report)
    finally:
        database.dispose()
    for failure in failed:
        click.echo(f"not re-keyed: {failure}", err=True)
    click.echo(f"{total} row(s) re-keyed to key {protector.current_key_id}")
    if failed:
        sys.exit(1)


@keys.command("retire")
@click.argument("key_id")
def keys_retire(key_id: str) -> None:
    """Check that no row needs KEY_ID any more (then remove it from the settings)."""
    from authencode.cli import unit_of_work
    from authencode.services.data_keys import KeyIsCurrent, KeyStillUsed, retire

    settings, protector = _setup()
    try:
        with unit_of_work(settings) as session:
            retire(session, protector, key_id)
    except KeyIsCurrent:
        click.echo(f"key {key_id} is the current key: put the new key first in DATA_KEYS", err=True)
        sys.exit(1)
    except KeyStillUsed as exc:
        for column, count in exc.counts.items():
            click.echo(f"{column}: {count} row(s) still need key {key_id}", err=True)
        click.echo(
            f"key {key_id} is still used: run `authencode keys rotate` (one-way hashes "
            "expire by themselves within their lifetime)",
            err=True,
        )
        sys.exit(1)
    click.echo(f"no row needs key {key_id}: remove it from DATA_KEYS (and DATA_KEY), restart")


@keys.command("verify")
def keys_verify() -> None:
    """Decrypt every registered value and check every hash with the configured keys."""
    from authencode.services.data_keys import unreadable

    settings, protector = _setup()
    database = Database(settings.database_url)
    try:
        with database.read_only() as session:
            problems = unreadable(session, protector)
    finally:
        database.dispose()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} value(s) unreadable with keys {protector.key_ids}", err=True)
        sys.exit(1)
    click.echo(f"every value decrypts and matches with keys {', '.join(protector.key_ids)}")
