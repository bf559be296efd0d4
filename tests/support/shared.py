"""What every suite shares besides fixtures: the test LINE channel, the data key, how a
missing part (PostgreSQL, Redis, Chromium) is reported, and a worker's environment.

Conftest files and test modules import these from here, never from another conftest."""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

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


# The ports pcscd's vpcd driver listens on for the virtual readers (Debian's
# /etc/reader.conf.d/vpcd). They lie in Linux's ephemeral range, so any socket of a run —
# a test server on a "free port", a pooled connection's local end — could take one and
# leave pcscd unable to bind it for the rest of the run.
VPCD_PORTS = (35963, 35964)
_RESERVED = Path("/proc/sys/net/ipv4/ip_local_reserved_ports")


def reserve_vpcd_ports() -> None:
    """Take the vpcd ports out of the ephemeral range (root on Linux; otherwise nothing)."""
    try:
        current = _RESERVED.read_text().strip()
    except OSError:
        return
    wanted = f"{VPCD_PORTS[0]}-{VPCD_PORTS[-1]}"
    if wanted in current.split(","):
        return
    with contextlib.suppress(OSError):  # not root, or a read-only /proc/sys
        _RESERVED.write_text(f"{current},{wanted}" if current else wanted)
