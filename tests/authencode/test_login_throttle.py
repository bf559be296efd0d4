"""The log-in counters and device cookies on their own (the web app's use of them is tested in
tests/clinic_qr/test_login_throttle.py and test_login_bursts.py)."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import MetaData, Table, create_engine, insert, select
from sqlalchemy.orm import Session

from authencode import migrate
from authencode.db import utcnow
from authencode.models import LoginThrottle
from authencode.services import login_throttle
from authencode.services.login_throttle import DeviceCookies, address_key
from authencode.settings import LoginPolicy

POLICY = LoginPolicy()
SECRET = "test-secret-key-0123456789abcdef"


def test_addresses_are_counted_per_ipv4_address_and_per_ipv6_64() -> None:
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert (
        address_key("2001:db8:1:2:aaaa::1")
        == address_key("2001:db8:1:2:ffff::9")
        == ("2001:db8:1:2::/64")
    )
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("") == "unknown"


def test_counters_are_forgotten_after_a_quiet_spell_and_purged(session: Session) -> None:
    now = utcnow()
    old = now - POLICY.forget_after - dt.timedelta(minutes=1)
    row = login_throttle.lock(session, "address", "192.0.2.7", POLICY, old)
    for _ in range(POLICY.address_free_failures):
        login_throttle.count_failure(row, POLICY.address_free_failures, POLICY, old)
    assert row.held_until is not None
    fresh = login_throttle.lock(session, "account", "7", POLICY, now)
    login_throttle.count_failure(fresh, POLICY.free_failures, POLICY, now)
    session.flush()

    assert login_throttle.purge_stale(session, POLICY, now) == 1  # its hold has passed too
    assert session.scalars(select(LoginThrottle.key)).all() == ["7"]
    again = login_throttle.lock(session, "address", "192.0.2.7", POLICY, now)
    assert again.failures == 0 and again.held_until is None
    stale = login_throttle.lock(session, "account", "7", POLICY, now + POLICY.forget_after * 2)
    assert stale.failures == 0  # silent for longer than forget_after


def test_device_cookies_name_accounts_signed_and_for_a_while() -> None:
    devices = DeviceCookies(SECRET, dt.timedelta(days=180))
    now = utcnow()
    value = devices.remember(None, 7, now)
    first = devices.read(value, now)
    assert list(first) == [7]
    value = devices.remember(value, 8, now)
    again = devices.remember(value, 7, now)
    assert devices.read(again, now)[8] == devices.read(value, now)[8]
    assert devices.read(again, now)[7] != first[7]  # a new nonce at each log-in

    assert (
        devices.read(again[:-2] + ("yy" if again.endswith("xx") else "xx"), now) == {}
    )  # tampered
    assert (
        DeviceCookies("another-secret-key-0123456789ab", dt.timedelta(days=180)).read(again, now)
        == {}
    )
    assert devices.read("not a cookie", now) == {}
    later = now + dt.timedelta(days=181)
    assert devices.read(devices.remember(value, 9, later), later).keys() == {9}  # 7, 8 expired

    many = None
    for staff_id in range(15):
        many = devices.remember(many, staff_id, now)
    assert sorted(devices.read(many, now)) == list(range(5, 15))  # the ten latest


def test_the_migration_keeps_an_account_held_back(db_url: str) -> None:
    config = migrate.alembic_config(db_url)
    command.downgrade(config, "0011")
    engine = create_engine(db_url)
    until = (utcnow() + dt.timedelta(minutes=10)).replace(microsecond=0)

    def stored(moment: dt.datetime | None) -> dt.datetime | None:  # SQLite kept naive UTC
        return moment.replace(tzinfo=None) if moment and engine.dialect.name == "sqlite" else moment

    staff = Table("staff_users", MetaData(), autoload_with=engine)
    ids = []
    with engine.begin() as conn:
        for n, lock in ((1, until), (2, None)):  # held back; never failed
            ids.append(
                conn.execute(
                    insert(staff)
                    .returning(staff.c.id)
                    .values(
                        cid_hash=f"{n}" * 64,
                        cid_enc=b"x",
                        username=f"user{n}",
                        email="a@clinic.example",
                        first_name="ก",
                        last_name="ข",
                        employee_code="",
                        affiliation="",
                        unit="",
                        position="",
                        address="",
                        role="staff",
                        status="active",
                        must_change_password=False,
                        failed_logins=0,
                        locked_until=stored(lock),
                        created_at=stored(utcnow()),
                    )
                ).scalar_one()
            )
    command.upgrade(config, "head")
    with Session(engine) as session:
        rows = session.execute(
            select(LoginThrottle.scope, LoginThrottle.key, LoginThrottle.held_until)
        ).all()
    engine.dispose()
    assert rows == [("account", str(ids[0]), until)]
