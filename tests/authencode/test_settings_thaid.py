"""ThaID's settings: off unless configured, the development provider by default in
development, and one clear line naming a bad or missing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from authencode.settings import Settings, SettingsError
from tests.authencode.test_settings import PROD

THAID = {
    "THAID_ISSUER": "https://imauth.example.go.th/",
    "THAID_CLIENT_ID": "client-1",
    "THAID_CLIENT_SECRET": "secret-1",
}


def test_off_unless_configured() -> None:
    settings = Settings.from_env(PROD)
    assert not settings.thaid_enabled and not settings.thaid_dev_provider


def test_configured_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **PROD,
            **THAID,
            "THAID_SCOPES": " openid  pid name ",
            "THAID_CID_CLAIM": "citizen_id",
            "THAID_TOKEN_URL": "https://imauth.example.go.th/api/token",
        }
    )
    assert settings.thaid_enabled and not settings.thaid_dev_provider
    assert settings.thaid_issuer == "https://imauth.example.go.th"
    assert settings.thaid_scopes == "openid pid name" and settings.thaid_cid_claim == "citizen_id"
    assert settings.thaid_token_url == "https://imauth.example.go.th/api/token"
    assert settings.thaid_authorize_url is None  # discovered at the issuer
    defaults = Settings.from_env({**PROD, **THAID})
    assert (defaults.thaid_scopes, defaults.thaid_cid_claim) == ("openid pid", "pid")


def test_development_gets_the_development_provider(tmp_path: Path) -> None:
    env = {
        "AUTHENCODE_ENV": "development",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    }
    settings = Settings.from_env(env)
    assert settings.thaid_enabled and settings.thaid_dev_provider
    assert settings.thaid_issuer == "http://127.0.0.1:5000/dev/thaid"
    real = Settings.from_env({**env, **THAID})
    assert real.thaid_enabled and not real.thaid_dev_provider


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"THAID_CLIENT_ID": ""}, "THAID_CLIENT_ID"),
        ({"THAID_ISSUER": ""}, "THAID_ISSUER"),
        ({"THAID_ISSUER": "imauth.example.go.th"}, "THAID_ISSUER"),
        ({"THAID_ISSUER": "http://imauth.example.go.th"}, "THAID_ISSUER"),
        ({"THAID_JWKS_URL": "ftp://x/jwks"}, "THAID_JWKS_URL"),
        ({"THAID_SCOPES": "pid"}, "THAID_SCOPES"),
        ({"THAID_CID_CLAIM": "pid claim"}, "THAID_CID_CLAIM"),
    ],
)
def test_bad_thaid_setting_is_named(changes: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env({**PROD, **THAID, **changes})
