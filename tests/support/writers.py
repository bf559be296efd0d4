"""Threads that keep writing while a test does something else (a purge, a backup)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any


class Writers:
    """Run ``write`` over and over in ``count`` threads until the block ends; what each call
    returned is kept in ``done``, and the first error is raised when the block ends."""

    def __init__(self, write: Callable[[], Any], count: int = 2) -> None:
        self.write = write
        self.done: list[Any] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop) for _ in range(count)]

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self.done.append(self.write())
        except BaseException as exc:  # reported when the block ends
            self.errors.append(exc)

    def wait_for(self, writes: int) -> None:
        """Wait until at least ``writes`` writes are done (or one failed)."""
        while len(self.done) < writes and not self.errors:
            self._stop.wait(0.05)

    def running(self) -> bool:
        return len(self.errors) == 0

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self.errors and _value is None:
            raise self.errors[0]
