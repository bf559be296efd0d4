"""The staff log-in policy: typed settings read once from the environment."""

from __future__ import annotations

import datetime as dt

import pytest

from authencode.settings import LoginPolicy, Settings, SettingsError
from tests.authencode.test_settings import PROD


def test_defaults_hold_without_the_variables() -> None:
    assert Settings.from_env(PROD).login == LoginPolicy()


def test_every_variable_is_read() -> None:
    policy = Settings.from_env(
        {
            **PROD,
            "LOGIN_FREE_FAILURES": "4",
            "LOGIN_ADDRESS_FREE_FAILURES": "50",
            "LOGIN_DELAY_SECONDS": "30",
            "LOGIN_MAX_DELAY_MINUTES": "120",
            "LOGIN_FORGET_HOURS": "48",
            "LOGIN_DEVICE_DAYS": "90",
            "SESSION_IDLE_MINUTES": "15",
            "PASSWORD_RESET_MINUTES": "60",
        }
    ).login
    assert policy == LoginPolicy(
        free_failures=4,
        address_free_failures=50,
        first_delay=dt.timedelta(seconds=30),
        max_delay=dt.timedelta(hours=2),
        forget_after=dt.timedelta(hours=48),
        device_lifetime=dt.timedelta(days=90),
        idle_timeout=dt.timedelta(minutes=15),
        reset_ttl=dt.timedelta(hours=1),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOGIN_FREE_FAILURES", "0"),
        ("LOGIN_FREE_FAILURES", "five"),
        ("LOGIN_ADDRESS_FREE_FAILURES", "-3"),
        ("LOGIN_DELAY_SECONDS", "1.5"),
        ("LOGIN_DEVICE_DAYS", "99999999999"),
        ("PASSWORD_RESET_MINUTES", "1"),
        ("SESSION_IDLE_MINUTES", "٣٠"),  # digits, but not ASCII ones
    ],
)
def test_a_bad_number_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**PROD, name: value})


def test_the_cap_is_not_below_the_first_delay() -> None:
    with pytest.raises(SettingsError, match="LOGIN_MAX_DELAY_MINUTES"):
        Settings.from_env({**PROD, "LOGIN_DELAY_SECONDS": "600", "LOGIN_MAX_DELAY_MINUTES": "5"})


def test_delays_start_after_the_free_failures_and_double_up_to_the_cap() -> None:
    policy = LoginPolicy(first_delay=dt.timedelta(seconds=10), max_delay=dt.timedelta(seconds=100))
    delays = [policy.delay(failures, free=3) for failures in range(1, 9)]
    assert delays == [None, None, *(dt.timedelta(seconds=s) for s in (10, 20, 40, 80, 100, 100))]
    assert policy.delay(10_000, free=3) == dt.timedelta(seconds=100)
