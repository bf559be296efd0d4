"""Headless Chromium (Debian's `chromium`, no browser download) driven by Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / ".cache" / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
    # A fake webcam that needs no permission prompt: the counter page's photo capture.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def chromium_path() -> str | None:
    """CHROMIUM_PATH, or Debian's chromium on PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def artifact_path(test_name: str, label: str) -> Path:
    """Where a screenshot of a test is kept (ignored by git; CI may upload the folder)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in test_name)
    folder = ARTIFACTS / safe
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{label}.png"
