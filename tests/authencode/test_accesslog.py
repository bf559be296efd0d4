"""The access log of the production web process never carries a full citizen ID."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from authencode.app.accesslog import redact
from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_redact_masks_thirteen_digit_runs_only() -> None:
    assert redact("/x?personalId=1101700203451&serviceDate=2026-11-22") == \
        "/x?personalId=1xxxxxxxx3451&serviceDate=2026-11-22"
    assert redact("/latest-authen-code/3100600123456") == "/latest-authen-code/3xxxxxxxx3456"
    assert redact("/codes?page=12345678901234") == "/codes?page=12345678901234"  # 14 digits
    assert redact("PP1000000123") == "PP1000000123"


def test_gunicorn_from_the_procfile_logs_masked_ids(sqlite_template: Path,
                                                   tmp_path: Path) -> None:
    db_url = f"sqlite:///{sqlite_template}"
    procfile = (ROOT / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    port = free_port()
    command = web.removeprefix("web:").strip().replace("$PORT", str(port)) \
        .replace("${WEB_CONCURRENCY:-2}", "1")
    env = {**os.environ, "AUTHENCODE_ENV": "test", "DATABASE_URL": db_url,
           "AUTHENCODE_INSTANCE_PATH": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:"
           + os.environ.get("PATH", "")}
    proc = subprocess.Popen(["sh", "-c", f"exec {command}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/authencodestatus/api/check-authen-status" \
              "?personalId=1101700203451&serviceDate=2026-11-22"
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=2)
            except urllib.error.HTTPError:
                break  # 401 without a token: the request reached the app
            except OSError:
                time.sleep(0.1)
            else:
                raise AssertionError("the request was answered without a token")
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    logging.getLogger(__name__).debug(output)
    assert "personalId=1xxxxxxxx3451" in output
    assert "1101700203451" not in output
