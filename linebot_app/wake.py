"""Waking the idle workers when the webhook has stored events (PostgreSQL's NOTIFY).

The webhook does not notify inside the statement that stores a delivery (a trigger did until
migration 0024): PostgreSQL serialises the commits of every transaction that notifies,
holding a lock until its commit record is flushed, so a notifying INSERT per delivery allowed
one commit to the disk at a time and cost the webhook most of its rate. Instead each web
process has a :class:`Nudger` thread: the request only sets a flag after its events are
committed, and the thread sends one ``NOTIFY`` for everything stored since its last one, at
most every ``NUDGE_SECONDS``, on its own connection with ``synchronous_commit=off`` (a
notification needs no durability: the stored rows are the work, and an idle worker looks
again after ``linebot_app.worker.IDLE_SECONDS`` anyway, should a nudge be lost with its
process).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import psycopg
from sqlalchemy import make_url

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "authencode_work"  # what idle workers LISTEN on (linebot_app.worker)
NUDGE_SECONDS = 0.02  # at most one NOTIFY per web process this often


def listen_url(database_url: str) -> str | None:
    """psycopg's URL of a PostgreSQL database; None for another backend (no LISTEN)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Nudger:
    """One thread a process sending ``NOTIFY`` when :meth:`poke` was called since the last."""

    def __init__(self, url: str, every: float = NUDGE_SECONDS) -> None:
        self.url = url
        self.every = every
        self._wanted = threading.Event()
        self._start = threading.Lock()
        self._pid: int | None = None  # the process whose thread runs (gunicorn forks)

    def poke(self) -> None:
        self._wanted.set()
        if self._pid != os.getpid():
            with self._start:
                if self._pid != os.getpid():
                    self._pid = os.getpid()
                    threading.Thread(target=self._run, name="nudger", daemon=True).start()

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(
                        self.url,
                        autocommit=True,
                        connect_timeout=5,
                        options="-c synchronous_commit=off",
                    )
                conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
            except psycopg.Error as exc:  # the workers look again within a second anyway
                log.warning("could not wake the workers: %s", type(exc).__name__)
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(self.every)


_NUDGERS: dict[str, Nudger | None] = {}  # by DATABASE_URL; None: not PostgreSQL
_NUDGERS_LOCK = threading.Lock()


def nudge(database_url: str) -> None:
    """Wake the idle workers of this database soon (nothing on SQLite: they poll)."""
    if database_url not in _NUDGERS:
        url = listen_url(database_url)
        with _NUDGERS_LOCK:
            _NUDGERS.setdefault(database_url, Nudger(url) if url else None)
    nudger = _NUDGERS[database_url]
    if nudger is not None:
        nudger.poke()
