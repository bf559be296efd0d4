"""Gunicorn settings for the Procfile's web line: ``-c python:authencode.gunicorn_conf``.

Each gunicorn worker is its own process, so /metrics adds up every worker's counts through
prometheus_client's multiprocess mode: the workers share an empty directory in
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary one, removed at exit, unless the variable
names a directory, which is then emptied of old counts), and a worker's live gauges go when
it exits. prometheus_client picks its storage when first imported, and gunicorn imports the
logger class (which imports the app package) before any server hook runs, so the variable is
set when gunicorn reads this file, which therefore lives outside ``authencode.app``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_directory() -> tuple[Path, bool]:
    """The directory the workers write their counts to, and whether it is ours to remove."""
    configured = os.environ.get(_VARIABLE)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # counts left by an earlier run
            stale.unlink()
        return directory, False
    return Path(tempfile.mkdtemp(prefix="authencode-metrics-")), True


_DIRECTORY, _OWNED = _metrics_directory()
os.environ[_VARIABLE] = str(_DIRECTORY)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWNED:
        shutil.rmtree(_DIRECTORY, ignore_errors=True)
