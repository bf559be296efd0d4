"""Alembic environment: the URL (or an open connection) comes from authencode.migrate."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, pool

from authencode import models
from authencode.db import make_engine

config = context.config
target_metadata = models.Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.attributes["url"],
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = make_engine(config.attributes["url"], poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it, and dropping the old copy fails while other
        # rows refer to it: foreign keys are off while migrating (outside a transaction, or
        # the pragma does nothing) and checked as a whole afterwards.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = _sqlite_pragma(connection, "PRAGMA foreign_key_check")
        _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")


def _sqlite_pragma(connection: Connection, pragma: str) -> list[Any]:
    # On the driver's own connection: SQLAlchemy would open a transaction (BEGIN IMMEDIATE,
    # authencode.db) around it first, and these pragmas do nothing inside one.
    if connection.in_transaction():
        connection.commit()
    driver = connection.connection.driver_connection
    assert driver is not None
    return list(driver.execute(pragma).fetchall())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
