"""What every suite shares besides fixtures: the test LINE channel, the data key, how a
missing part (PostgreSQL, Redis, Chromium) is reported, and a worker's environment.

Conftest files and test modules import these from here, never from another conftest."""

from __future__ import annotations

import base64
import os

import pytest

from authencode.settings import Settings

IN_CI = bool(os.environ.get("CI"))
# The LINE channel every test's application and fake Messaging API share.
CHANNEL_SECRET = "0123456789abcdef0123456789abcdef"
ACCESS_TOKEN = "test-access-token"
TEST_DATA_KEY = base64.b64decode("q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E=")


def missing_part(message: str) -> None:
    """In CI a missing part fails the run; on a developer's machine it skips."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment a real `python -m linebot_app.worker` reads its settings from."""
    return {
        **os.environ,
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "DATA_KEY": base64.b64encode(settings.data_key).decode(),
        "AUTHENCODE_INSTANCE_PATH": str(settings.instance_path),
        "LINE_CHANNEL_SECRET": settings.line_channel_secret or "",
        "LINE_CHANNEL_ACCESS_TOKEN": settings.line_channel_access_token or "",
        "LINE_API_BASE_URL": settings.line_api_base_url,
    }
