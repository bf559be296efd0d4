"""Log-in throttling through the clinic web app: growing delays per account and address, device
cookies that keep the owner in, one answer and one password hash for every failure, and the
way back by email. (Parallel bursts against PostgreSQL: test_login_bursts.py.)"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from authencode import passwords
from authencode.db import utcnow
from authencode.models import AuditEntry, LoginThrottle, StaffUser
from authencode.settings import LoginPolicy, Settings
from tests.clinic_qr.test_accounts import _reset_link
from tests.support.clinic import PASSWORD, ClinicClient, World

POLICY = LoginPolicy(
    free_failures=3,
    address_free_failures=6,
    first_delay=dt.timedelta(minutes=1),
    max_delay=dt.timedelta(minutes=4),
)
ATTACKER = "203.0.113.9"
DEVICE = "clinic_device"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(login=POLICY)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """The stored hash of every password verification, in order."""
    seen: list[str | None] = []
    real = passwords.verify_password

    def counted(stored: str | None, password: str) -> bool:
        seen.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password", counted)
    yield seen


def _browser(app: Any, address: str = "127.0.0.1") -> ClinicClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return ClinicClient(client)


def _counter(world: World, scope: str, key: str) -> LoginThrottle | None:
    with world.db.transaction() as session:
        return session.scalar(
            select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        )


def _expire_holds(world: World) -> None:
    with world.db.transaction() as session:
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.held_until.is_not(None))
            .values(held_until=utcnow() - dt.timedelta(seconds=1))
        )


def _audit(world: World) -> list[tuple[str, dict[str, Any]]]:
    with world.db.transaction() as session:
        return [
            (e.action, e.details)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.action.like("staff.%")).order_by(AuditEntry.id)
            )
        ]


def _failed(response: Any) -> bool:
    return response.status_code == 401 and 'data-code="LOGIN_FAILED"' in response.get_data(
        as_text=True
    )


def test_failures_from_unknown_browsers_hold_the_account_back_longer_each_time(
    app, clinic_world
) -> None:
    attacker = _browser(app, ATTACKER)
    account = str(clinic_world.ids["a-staff"])
    for _ in range(POLICY.free_failures):
        assert _failed(attacker.login("a-staff", "wrong-password"))
    assert _failed(attacker.login("a-staff", PASSWORD))  # right, but held back
    delays = []
    for _ in range(4):
        row = _counter(clinic_world, "account", account)
        assert row is not None and row.held_until is not None
        delays.append(round((row.held_until - row.updated_at).total_seconds()))
        _expire_holds(clinic_world)
        assert _failed(attacker.login("a-staff", "wrong-password"))
    assert delays == [60, 120, 240, 240]  # doubling, capped at max_delay
    _expire_holds(clinic_world)
    assert attacker.login("a-staff", PASSWORD).status_code == 302
    row = _counter(clinic_world, "account", account)
    assert row is not None and row.failures == 0 and row.held_until is None
    actions = [action for action, _ in _audit(clinic_world)]
    assert actions.count("staff.login_failed") == 7
    assert actions[-1] == "staff.login"
    refused = [d for action, d in _audit(clinic_world) if action == "staff.login_refused"]
    assert refused == [{"reason": "throttled", "scope": "account"}]


def test_a_browser_that_logged_in_before_is_not_held_back_by_others(app, clinic_world) -> None:
    owner = _browser(app)
    first = owner.login("a-staff")
    assert first.status_code == 302
    cookie = next(c for c in first.headers.getlist("Set-Cookie") if c.startswith(DEVICE))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/clinic/" in cookie
    assert f"Max-Age={180 * 24 * 3600}" in cookie and "Secure" not in cookie  # plain http
    stolen_value = owner.client.get_cookie(DEVICE, path="/clinic/").value
    owner.post("/clinic/logout")
    attacker = _browser(app, ATTACKER)
    for _ in range(POLICY.free_failures + 2):
        assert _failed(attacker.login("a-staff", "wrong-password"))
    assert _failed(attacker.login("a-staff", PASSWORD))  # the account is held back...
    assert owner.login("a-staff").status_code == 302  # ...but not for its owner's browser

    # A copied device cookie gets its own few tries, then is held back itself; the owner's
    # browser got a new nonce at its last log-in and is not.
    thief = _browser(app, ATTACKER)
    thief.client.set_cookie(DEVICE, stolen_value, path="/clinic/")
    for _ in range(POLICY.free_failures):
        assert _failed(thief.login("a-staff", "wrong-password"))
    assert _failed(thief.login("a-staff", PASSWORD))
    owner.post("/clinic/logout")
    assert owner.login("a-staff").status_code == 302
    refused = [d["scope"] for action, d in _audit(clinic_world) if action == "staff.login_refused"]
    assert refused == ["account"] * 3 + ["device"]


def test_the_device_cookie_is_secure_behind_https(app, clinic_world, settings) -> None:
    from authencode.app import create_app

    https = create_app(settings.with_overrides(public_base_url="https://authen.example"))
    try:
        response = ClinicClient(https.test_client()).login("a-staff")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(DEVICE))
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        https.extensions["authencode"].db.dispose()


def _page(response: Any, username: str) -> str:
    body = re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))
    return body.replace(f'value="{username}"', 'value="…"')


def test_unknown_user_wrong_password_and_throttled_get_one_answer_and_one_hash(
    app, clinic_world, hashes
) -> None:
    attempts = [
        ("nobody", "some-password-1"),
        ("a-pending", PASSWORD),
        *[("a-staff", "wrong-password")] * POLICY.free_failures,
        ("a-staff", PASSWORD),  # held back: the account
        ("nobody-else", "some-password-2"),  # the address's sixth failure
        ("b-staff", PASSWORD),
    ]  # held back: the address
    pages = set()
    for username, password in attempts:
        before = len(hashes)
        response = _browser(app).login(username, password)
        assert _failed(response), username
        assert len(hashes) == before + 1, username  # exactly one hash, whatever the path
        pages.add(_page(response, username))
    assert len(pages) == 1
    reasons = [(action, d.get("reason"), d.get("scope")) for action, d in _audit(clinic_world)]
    assert reasons.count(("staff.login_refused", "throttled", "account")) == 1
    assert reasons.count(("staff.login_refused", "throttled", "address")) == 1
    with clinic_world.db.transaction() as session:
        stored = session.get(StaffUser, clinic_world.ids["a-staff"]).password_hash
    assert hashes.count(stored) == POLICY.free_failures  # the others checked a stand-in
    before = len(hashes)
    assert _browser(app, ATTACKER).login("b-staff").status_code == 302
    assert len(hashes) == before + 1


def test_reset_by_email_lets_the_owner_in_while_held_back(
    app, clinic_world, protector, smtp_server
) -> None:
    attacker = _browser(app)  # the owner's own address (one clinic behind one router)
    for _ in range(POLICY.free_failures):
        assert _failed(attacker.login("a-staff", "wrong-password"))
    for i in range(POLICY.address_free_failures - POLICY.free_failures):
        assert _failed(attacker.login(f"guess-{i}", "wrong-password"))
    owner = _browser(app)
    assert _failed(owner.login("a-staff", PASSWORD))  # held back, account and address

    owner.get("/clinic/forgot")
    assert owner.post("/clinic/forgot", {"email": "a-staff@clinic.example"}).status_code == 200
    link = _reset_link(clinic_world.db, protector, smtp_server, "a-staff@clinic.example")
    path = link.split("127.0.0.1:5000", 1)[1]
    owner.get(path)
    new = {"new_password": "brand-new-pass-1", "confirm_password": "brand-new-pass-1"}
    reset = owner.post(path, new)
    assert reset.status_code == 200
    assert any(c.startswith(DEVICE) for c in reset.headers.getlist("Set-Cookie"))
    assert owner.login("a-staff", "brand-new-pass-1").status_code == 302
    # The reset forgot the account's failures; the address stays held back for browsers that
    # never logged in to the account, elsewhere it logs in.
    assert _failed(_browser(app).login("a-staff", "brand-new-pass-1"))
    assert _browser(app, ATTACKER).login("a-staff", "brand-new-pass-1").status_code == 302


def test_an_administrator_sees_and_lifts_the_hold(app, clinic_world) -> None:
    attacker = _browser(app, ATTACKER)
    for _ in range(POLICY.free_failures):
        assert _failed(attacker.login("a-staff", "wrong-password"))
    admin = _browser(app)
    assert admin.login("a-admin").status_code == 302
    detail = admin.get(f"/clinic/staff/{clinic_world.ids['a-staff']}").get_data(as_text=True)
    assert "ระงับการเข้าสู่ระบบจากเครื่องอื่นชั่วคราวถึง" in detail and "ปลดล็อก" in detail
    admin.post(f"/clinic/staff/{clinic_world.ids['a-staff']}/active", {"active": "1"})
    assert "ปลดล็อก" not in admin.get(f"/clinic/staff/{clinic_world.ids['a-staff']}").get_data(
        as_text=True
    )
    assert "staff.unlock" in [action for action, _ in _audit(clinic_world)]
    assert _browser(app, ATTACKER).login("a-staff").status_code == 302
