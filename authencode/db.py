"""Database plumbing: the declarative base, column types, and one engine per process."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from sqlalchemy import DateTime, Engine, MetaData, String, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes, stored as UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Reusable annotated column types.
intpk = Annotated[int, mapped_column(primary_key=True)]
# The largest id an `intpk` holds (PostgreSQL integer). An id from a request above it names
# no row; passing it to the database would be an overflow error there, not "not found".
MAX_ROW_ID = 2**31 - 1
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime, default=utcnow)]
str_hash = Annotated[str, mapped_column(String(64))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs to keep the domain's guarantees."""
    if url.startswith("sqlite"):
        if url not in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", NullPool)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


# A pooled connection idle for longer than this is pinged before use (a restarted or
# failed-over server leaves stale ones behind). Pinging every checkout (pool_pre_ping) would
# cost a round trip per request and per webhook event; a server lost under load fails the
# requests in flight either way (503), and the first disconnect refreshes the whole pool.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and checks out (or opens) another.
            raise DisconnectionError("stale pooled connection") from exc


def _configure_sqlite(engine: Engine) -> None:
    # Take the write lock at BEGIN: SQLite then serialises writers instead of failing a
    # read-then-write transaction whose snapshot went stale (the demo database's concurrency).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A read-only unit of work (a streamed export) takes no write lock: in WAL mode its
        # snapshot never blocks the writers for as long as the download lasts.
        read_only = conn.get_execution_options().get("read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """The engine and session factory of one process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._engine_kwargs = engine_kwargs
        self._unflushed: Engine | None = None
        self._unflushed_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessionmaker() as session, session.begin():
            yield session

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A unit of work that only reads (long exports): no write lock on SQLite; whatever
        happened is rolled back at the end."""
        with self.sessionmaker() as session:
            session.connection(execution_options={"read_only": True})
            try:
                yield session
            finally:
                session.rollback()

    def unflushed(self) -> Engine:
        """PostgreSQL: autocommitted statements whose commit does not wait for the disk
        (``synchronous_commit=off``), on a few connections of their own: one round trip for
        a write that must outlive the process, not a database crash (an event's try count).
        Disposed with the main engine."""
        with self._unflushed_lock:
            if self._unflushed is None:
                kwargs: dict[str, Any] = {
                    **self._engine_kwargs,
                    "isolation_level": "AUTOCOMMIT",
                    "connect_args": {
                        "connect_timeout": 5,
                        **self._engine_kwargs.get("connect_args", {}),
                        "options": "-c synchronous_commit=off",
                    },
                }
                if "poolclass" not in kwargs:
                    kwargs.update(pool_size=1, max_overflow=8)
                self._unflushed = make_engine(self.url, **kwargs)
            return self._unflushed

    def dispose(self) -> None:
        self.engine.dispose()
        with self._unflushed_lock:
            if self._unflushed is not None:
                self._unflushed.dispose()
                self._unflushed = None
