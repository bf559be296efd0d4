"""deploy/authencode.env.example: real settings, no secrets, and refused until filled in."""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

import pytest

from authencode.settings import Settings, SettingsError
from tests.deploy.tools import DEPLOY, ROOT

EXAMPLE = DEPLOY / "authencode.env.example"
SECRETS = ("SECRET_KEY", "DATA_KEY", "LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")


def _settings_file() -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile reads them (# starts a comment line)."""
    lines = EXAMPLE.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_every_variable_is_documented() -> None:
    documented = set(re.findall(r"^\| `(\w+)`", (ROOT / "README.md").read_text(), re.MULTILINE))
    assert _settings_file().keys() - documented <= {"WEB_CONCURRENCY"}


def test_no_secret_is_filled_in() -> None:
    env = _settings_file()
    assert all(env[name] == "" for name in SECRETS)


def test_refused_until_the_secrets_are_filled_in(tmp_path: Path) -> None:
    env = _settings_file() | {"AUTHENCODE_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        Settings.from_env(env)
    filled = env | {
        "SECRET_KEY": secrets.token_hex(),
        "DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    settings = Settings.from_env(filled)
    assert settings.is_production
    assert settings.trusted_proxies == 1  # deploy/nginx/authencode.conf is one proxy
    assert settings.public_base_url.startswith("https://")
    assert settings.database_url.startswith("postgresql")
