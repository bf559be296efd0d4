"""The Procfile's web line run as a platform runs it: by a shell, with PORT set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WebProcess:
    base_url: str
    proc: subprocess.Popen[str]
    output: str = ""  # everything it printed, once it has stopped


def procfile_command(name: str) -> str:
    """The command of the Procfile's ``name:`` line, as a platform's shell would run it."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.removeprefix(name + ":").strip()
    raise AssertionError(f"no {name} process in the Procfile")


def web_command() -> str:
    return procfile_command("web")


@contextmanager
def procfile_web(
    db_url: str, instance: Path, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[WebProcess]:
    """Start the web line (gunicorn) on a free port; stopped with SIGTERM on leaving."""
    port = free_port()
    full_env = {
        **os.environ,
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": db_url,
        "AUTHENCODE_INSTANCE_PATH": str(instance),
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        **(env or {}),
    }
    if not env or "PROMETHEUS_MULTIPROC_DIR" not in env:
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the gunicorn config makes one
    proc = subprocess.Popen(
        ["sh", "-c", f"exec {web_command()}"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    web = WebProcess(f"http://127.0.0.1:{port}", proc)
    try:
        _wait_ready(web)
        yield web
    finally:
        proc.send_signal(signal.SIGTERM)
        web.output, _ = proc.communicate(timeout=30)


# Generous: a loaded two-core machine (CI beside other jobs) has taken over a minute to boot
# gunicorn's workers; a readiness wait, not a measurement.
def _wait_ready(web: WebProcess, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.proc.poll() is not None:
            output = web.proc.stdout.read() if web.proc.stdout else ""
            raise AssertionError(f"the web process exited: {output}")
        try:
            with urllib.request.urlopen(web.base_url + "/healthz", timeout=2):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return  # answered
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the web process did not answer within {timeout:.0f} seconds")
