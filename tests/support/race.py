"""Calls fired at once from threads, each in its own transaction (PostgreSQL race tests)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy.orm import Session

from authencode.db import Database
from authencode.errors import DomainError


def race(db: Database, n: int, work: Callable[[Session, int], object]) -> list[object]:
    """Run ``work(session, i)`` for i in range(n) in n threads released together, each in a
    transaction of its own (committed when it returns). Each result is what ``work``
    returned, or the code of the DomainError it raised (after its transaction rolled back)."""
    start = Barrier(n)

    def one(i: int) -> object:
        start.wait(timeout=30)
        try:
            with db.transaction() as session:
                return work(session, i)
        except DomainError as refused:
            return refused.code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))
