"""Settings from the environment: defaults, and one clear line naming a bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from authencode.settings import Settings, SettingsError

PROD = {
    "AUTHENCODE_ENV": "production",
    "SECRET_KEY": "9f2c4e7a1b8d3f60c5e29a7b4d1f8e3c",
    "DATA_KEY": "q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E=",
}


def test_production_needs_its_secrets(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({"AUTHENCODE_ENV": "production"})
    with pytest.raises(SettingsError, match="DATA_KEY"):
        Settings.from_env({"AUTHENCODE_ENV": "production", "SECRET_KEY": PROD["SECRET_KEY"]})
    settings = Settings.from_env({**PROD, "AUTHENCODE_INSTANCE_PATH": str(tmp_path)})
    assert settings.is_production and settings.line_api_base_url == "https://api.line.me"
    assert settings.eligible_main_rights == ()


def test_eligible_main_rights_are_normalised() -> None:
    settings = Settings.from_env({**PROD, "ELIGIBLE_MAIN_RIGHTS": " ucs, WEL ,none "})
    assert settings.eligible_main_rights == ("UCS", "WEL", "NONE")


def test_upload_bytes_per_day() -> None:
    assert Settings.from_env(PROD).upload_bytes_per_day == 20_000_000
    assert Settings.from_env({**PROD, "UPLOAD_BYTES_PER_DAY": "0"}).upload_bytes_per_day == 0


def test_retention_periods_in_days_over_the_defaults() -> None:
    import datetime as dt

    default = Settings.from_env(PROD).retention
    assert default.visit_photos == dt.timedelta(days=365) and default.batch_size == 500
    env = {**PROD, "RETENTION_CARD_READ_DAYS": "3", "RETENTION_BATCH_SIZE": "50"}
    changed = Settings.from_env(env).retention
    assert changed.card_reads == dt.timedelta(days=3) and changed.batch_size == 50
    assert changed.visit_photos == default.visit_photos
    assert Settings.from_env({**PROD, "PG_BINDIR": "/opt/pg/bin"}).pg_bindir == Path("/opt/pg/bin")


@pytest.mark.parametrize("value", [",", "UCS;WEL", "UCS,<script>", "TOOLONGCODE1"])
def test_bad_eligible_main_rights_name_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="ELIGIBLE_MAIN_RIGHTS"):
        Settings.from_env({**PROD, "ELIGIBLE_MAIN_RIGHTS": value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTHENCODE_ENV", "staging"),
        ("DATA_KEY", "not-base64!"),
        ("DATA_KEY", "YWJj"),
        ("PUBLIC_BASE_URL", "ftp://x"),
        ("SMTP_URL", "mail.example:25"),
        ("LINE_API_BASE_URL", "api.line.me"),
        ("UPLOAD_BYTES_PER_DAY", "20MB"),
        ("RETENTION_PHOTO_DAYS", "0"),
        ("RETENTION_SESSION_DAYS", "-5"),
        ("RETENTION_WEBHOOK_EVENT_DAYS", "1"),  # LINE may still redeliver
        ("RETENTION_BATCH_SIZE", "1e3"),
    ],
)
def test_malformed_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**PROD, name: value})


def test_reader_agent_url_is_an_origin_only() -> None:
    settings = Settings.from_env({**PROD, "READER_AGENT_URL": "http://localhost:8189/"})
    assert settings.reader_agent_url == "http://localhost:8189"
    assert Settings.from_env(PROD).reader_agent_url is None  # the page's default


@pytest.mark.parametrize(
    "value",
    [
        "127.0.0.1:8189",
        "http://127.0.0.1:8189/api",
        "http://127.0.0.1:8189 'unsafe-inline'",
        "ftp://127.0.0.1",
    ],
)
def test_a_reader_agent_url_that_is_not_an_origin_is_named(value: str) -> None:
    with pytest.raises(SettingsError, match="READER_AGENT_URL"):
        Settings.from_env({**PROD, "READER_AGENT_URL": value})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000",
        "http://localhost:8000",
        "http://[::1]:5000",
        "http://127.0.0.2",
        "https://authen.example.org",
    ],
)
def test_production_accepts_https_or_a_loopback_public_base_url(url: str) -> None:
    assert Settings.from_env({**PROD, "PUBLIC_BASE_URL": url}).public_base_url == url


@pytest.mark.parametrize(
    "key",
    [
        "9f2c4e7a1b8d3f60c5e29a7b4d1f8e3c",  # secrets.token_hex(16)
        "q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E",  # secrets.token_urlsafe(32)
    ],
)
def test_production_accepts_random_looking_secret_keys(key: str) -> None:
    assert Settings.from_env({**PROD, "SECRET_KEY": key}).secret_key == key


def test_development_and_test_keep_relaxed_keys(tmp_path: Path) -> None:
    for environment in ("development", "test"):
        settings = Settings.from_env(
            {
                "AUTHENCODE_ENV": environment,
                "SECRET_KEY": "x" * 16,
                "DATA_KEY": "A" * 43 + "=",
                "PUBLIC_BASE_URL": "http://clinic.example.org",
                "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
            }
        )
        assert settings.secret_key == "x" * 16 and settings.data_key == bytes(32)


def test_kiosk_idle_seconds() -> None:
    assert Settings.from_env(PROD).kiosk_idle_seconds == 60
    assert Settings.from_env({**PROD, "KIOSK_IDLE_SECONDS": "90"}).kiosk_idle_seconds == 90
    for value in ("5", "601", "a minute"):
        with pytest.raises(SettingsError, match="KIOSK_IDLE_SECONDS"):
            Settings.from_env({**PROD, "KIOSK_IDLE_SECONDS": value})


def test_line_basic_id(tmp_path: Path) -> None:
    assert Settings.from_env(PROD).line_basic_id is None
    assert Settings.from_env(PROD).line_add_friend_url is None
    settings = Settings.from_env({**PROD, "LINE_BASIC_ID": " @AuthenCode "})
    assert settings.line_basic_id == "@authencode"
    assert settings.line_add_friend_url == "https://line.me/R/ti/p/@authencode"
    development = Settings.from_env(
        {"AUTHENCODE_ENV": "development", "AUTHENCODE_INSTANCE_PATH": str(tmp_path)}
    )
    assert development.line_basic_id == "@authencode.demo"
    # Not an ID: no "@", spaces, a path or a script, non-ASCII (the Kelvin sign lower-cases
    # to "k"), Thai, too long.
    for value in (
        "authencode",
        "@auth code",
        "@a/../b",
        "@<script>",
        "@\u212a",
        "@ไลน์",
        "@" + "a" * 21,
    ):
        with pytest.raises(SettingsError, match="LINE_BASIC_ID"):
            Settings.from_env({**PROD, "LINE_BASIC_ID": value})
