"""The real PC/SC stack for the tests: pcscd in the foreground with Debian's vpcd driver.

Only one pcscd may run on a machine. The daemon the tests start is recorded in a marker
file, so a run that was killed can be cleaned up by the next one; a pcscd the tests did
not start is never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PCSCD_RUN_DIR = Path("/run/pcscd")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
MARKER = Path(tempfile.gettempdir()) / "reader-agent-tests-pcscd.pid"
LOCK = Path(tempfile.gettempdir()) / "reader-agent-tests-pcscd.lock"
VPCD_READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")


def require(condition: bool, message: str) -> None:
    """Fail (in CI, where nothing may be skipped) or skip (locally) when a part is missing."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{message} (run scripts/install-pcsc.sh as root)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@contextlib.contextmanager
def exclusive_use() -> Iterator[None]:
    """Hold the machine's one pcscd (and its two virtual readers) for this test session.

    pytest-xdist workers, or two test runs at once, each start their own session: the
    second waits here until the first has stopped its pcscd, instead of fighting over it.
    """
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (exited, parent gone, not yet reaped) does not count."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill()
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _pid_in_file() -> int | None:
    """The PID in pcscd's PID file, or None (pcscd ends the number with a NUL byte)."""
    try:
        return int((PCSCD_RUN_DIR / "pcscd.pid").read_bytes().strip(b" \n\x00"))
    except (OSError, ValueError):
        return None


class PcscDaemon:
    """Starts and stops ``pcscd --foreground`` for the tests."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def check_prerequisites(self) -> None:
        """Fail or skip unless pcscd, the vpcd driver and root rights are there."""
        require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")
        require(shutil.which("pcscd") is not None, "pcscd is not installed")
        require(VPCD_DRIVER.exists(), "the vsmartcard-vpcd driver is not installed")
        require(os.geteuid() == 0, "pcscd must be started as root for these tests")

    def start(self) -> None:
        """Start pcscd and wait until the two vpcd readers are listed."""
        self._clear_leftover()
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [shutil.which("pcscd") or "pcscd", "--foreground"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        MARKER.write_text(str(self.process.pid))
        try:
            self._wait_for_readers()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the pcscd this object started, by its PID, and wait for it to exit."""
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        MARKER.unlink(missing_ok=True)

    def _wait_for_readers(self, timeout: float = 10.0) -> None:
        from reader_agent.errors import NoReaderError
        from reader_agent.pcsc import PcscContext

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"pcscd exited at start-up:\n{self.log_path.read_text()[-2000:]}")
            try:
                with PcscContext() as context:
                    if set(VPCD_READERS) <= set(context.reader_names()):
                        return
            except NoReaderError:
                pass
            time.sleep(0.05)
        pytest.fail(f"pcscd did not list the vpcd readers:\n{self.log_path.read_text()[-2000:]}")

    def _clear_leftover(self) -> None:
        pid = _pid_in_file()
        if pid is None and (PCSCD_RUN_DIR / "pcscd.pid").exists():
            require(False, "cannot tell whether another pcscd runs (unreadable PID file)")
        if pid is not None and _alive(pid):
            ours = MARKER.exists() and MARKER.read_text().strip() == str(pid)
            require(ours, f"another pcscd (pid {pid}) is running; stop it to run these tests")
            # Left running by an earlier test run that was killed: stop it by its PID.
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 10):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
        # A pcscd that died without cleaning up leaves files that stop the next one starting.
        for stale in ("pcscd.comm", "pcscd.pid"):
            with contextlib.suppress(FileNotFoundError):
                (PCSCD_RUN_DIR / stale).unlink()
        MARKER.unlink(missing_ok=True)


def card_present(reader: str) -> bool:
    """Return True if pcscd sees a card in ``reader``."""
    from reader_agent.pcsc import PcscContext

    with PcscContext() as context:
        return context.card_present(reader)


def wait_for_card(reader: str, present: bool, timeout: float = 5.0) -> None:
    """Wait until pcscd has noticed the card going in (or out); it polls vpcd every 0.4 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if card_present(reader) == present:
            return
        time.sleep(0.02)
    raise AssertionError(f"card {'never appeared in' if present else 'still in'} {reader}")
