"""The access log of the production web process never carries a full citizen ID."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import Path

from authencode.app.accesslog import redact
from tests.support.procfile import procfile_web


def test_redact_masks_thirteen_digit_runs_only() -> None:
    assert redact("/x?personalId=1101700203451&serviceDate=2026-11-22") == \
        "/x?personalId=1xxxxxxxx3451&serviceDate=2026-11-22"
    assert redact("/latest-authen-code/3100600123456") == "/latest-authen-code/3xxxxxxxx3456"
    assert redact("/codes?page=12345678901234") == "/codes?page=12345678901234"  # 14 digits
    assert redact("PP1000000123") == "PP1000000123"


def test_gunicorn_from_the_procfile_logs_masked_ids(sqlite_template: Path,
                                                   tmp_path: Path) -> None:
    with procfile_web(f"sqlite:///{sqlite_template}", tmp_path) as web:
        url = f"{web.base_url}/authencodestatus/api/check-authen-status" \
              "?personalId=1101700203451&serviceDate=2026-11-22"
        try:
            urllib.request.urlopen(url, timeout=10)  # noqa: S310 - local server
        except urllib.error.HTTPError as error:
            assert error.code == 401  # no token: the request reached the app
        else:
            raise AssertionError("the request was answered without a token")
    logging.getLogger(__name__).debug(web.output)
    assert "personalId=1xxxxxxxx3451" in web.output
    assert "1101700203451" not in web.output
