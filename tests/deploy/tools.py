"""The deployment files of deploy/ and the system tools that check them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.shared import missing_part

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def tool(name: str, package: str) -> str:
    """The path of a system tool; missing: a failure in CI, a skip on a developer's machine."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        missing_part(f"{name} is not installed (scripts/install-system-deps.sh installs {package})")
        raise AssertionError("unreachable")
    return path


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def replace_exactly(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced, which must be there (the example keeps its shape)."""
    assert old in text, f"{old!r} is no longer in the file"
    return text.replace(old, new)
