"""Bursts of parallel log-ins and reader-agent PIN unlocks against the live server on
PostgreSQL: wrong secrets and the right one sent at once.

Each attempt is a real HTTP request in its own thread and its own transaction. The counters
are locked before the check, so the audit log (written in commit order) replays exactly under
the policy: nothing succeeds once the limit is passed, and the stored count is the number of
failures since the last success.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from threading import Barrier, Lock
from typing import Any

import pytest
from sqlalchemy import select

from authencode import passwords
from authencode.models import AuditEntry, LoginThrottle, StaffUser
from authencode.passwords import hash_password
from authencode.services.agent import PIN_MAX_FAILURES
from authencode.services.api_tokens import create_token
from authencode.settings import LoginPolicy, Settings
from tests.support.clinic import PASSWORD
from tests.support.factories import make_facility, make_staff, new_cid

FREE = LoginPolicy().free_failures
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    # The per-address request limit is another guard; these bursts test the counters.
    return live_settings.with_overrides(rate_limits={**live_settings.rate_limits, "login": 0})


@dataclass
class Clinic:
    db: Any
    staff_id: int
    staff_cid: str
    password_hash: str
    pin_hash: str
    tokens: list[str]  # reader agents of the facility (each request writes its token's row)


@pytest.fixture
def clinic(live_server, live_app, protector) -> Clinic:
    db = live_app.extensions["authencode"].db
    cid = new_cid("3")
    with db.transaction() as session:
        facility = make_facility(session)
        staff = make_staff(
            session,
            protector,
            facility,
            username="nurse",
            cid=cid,
            password_hash=hash_password(PASSWORD),
            pin_hash=hash_password("1234"),
            must_change_password=False,
        )
        tokens = [
            create_token(session, facility, f"counter {i}", "test", scope="agent").secret
            for i in range(9)
        ]
        return Clinic(db, staff.id, cid, staff.password_hash or "", staff.pin_hash or "", tokens)


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """The stored hash of every password or PIN verification the server made."""
    seen: list[str | None] = []
    guard = Lock()
    real = passwords.verify_password

    def counted(stored: str | None, secret: str) -> bool:
        with guard:
            seen.append(stored)
        return real(stored, secret)

    monkeypatch.setattr(passwords, "verify_password", counted)
    yield seen


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class Browser:
    """One browser: its own cookies (session, CSRF, device cookie); redirects not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self.csrf = ""

    def open_login(self) -> None:
        status, body = self._send(
            urllib.request.Request(  # noqa: S310 - the live server
                f"{self.base}/clinic/login"
            )
        )
        found = _CSRF.search(body)
        assert status == 200 and found
        self.csrf = found.group(1)

    def log_in(self, username: str, password: str) -> tuple[int, str]:
        form = {"username": username, "password": password, "csrf_token": self.csrf}
        return self._send(
            urllib.request.Request(  # noqa: S310 - the local live server
                f"{self.base}/clinic/login", data=urllib.parse.urlencode(form).encode()
            )
        )

    def _send(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _burst(calls: list[Callable[[], Any]]) -> list[Any]:
    start = Barrier(len(calls))

    def fire(call: Callable[[], Any]) -> Any:
        start.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def _audit(db: Any, actor: str, prefix: str) -> list[str]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.actor == actor, AuditEntry.action.like(prefix + "%"))
                .order_by(AuditEntry.id)
            )
        )


def _replay(actions: list[str], limit: int, failed: str, refused: str, success: str) -> int:
    """Check the attempts, in commit order, against the policy; returns the final count."""
    failures = 0
    for n, action in enumerate(actions):
        if failures >= limit:
            assert action == refused, (n, actions)
        else:
            assert action in (failed, success), (n, actions)
            failures = failures + 1 if action == failed else 0
    return failures


def _account_failures(db: Any, staff_id: int) -> int:
    with db.transaction() as session:
        row = session.scalar(
            select(LoginThrottle).where(
                LoginThrottle.scope == "account", LoginThrottle.key == str(staff_id)
            )
        )
        return row.failures if row is not None else 0


def test_wrong_passwords_and_the_right_one_at_once(live_server, clinic, verified) -> None:
    sent = [f"wrong-password-{i}" for i in range(19)] + [PASSWORD]
    browsers = [Browser(live_server) for _ in sent]
    for browser in browsers:
        browser.open_login()
    results = _burst([partial(b.log_in, "nurse", p) for b, p in zip(browsers, sent, strict=True)])

    statuses = [status for status, _ in results]
    assert set(statuses[:19]) == {401}  # a wrong password never gets in
    assert statuses[19] in (302, 401)
    assert all('data-code="LOGIN_FAILED"' in body for status, body in results if status == 401)
    actions = _audit(clinic.db, f"staff:{clinic.staff_id}", "staff.login")
    assert len(actions) == len(sent)
    final = _replay(actions, FREE, "staff.login_failed", "staff.login_refused", "staff.login")
    assert _account_failures(clinic.db, clinic.staff_id) == final
    assert actions.count("staff.login") == statuses.count(302)
    # One hash per attempt; the account's own only for those not held back.
    assert len(verified) == len(sent)
    assert verified.count(clinic.password_hash) == len(sent) - actions.count("staff.login_refused")


def test_the_owners_browser_gets_in_during_an_attack(live_server, clinic, verified) -> None:
    owner = Browser(live_server)
    owner.open_login()
    assert owner.log_in("nurse", PASSWORD)[0] == 302  # now carries the device cookie
    owner.open_login()
    attackers = [Browser(live_server) for _ in range(15)]
    for browser in attackers:
        browser.open_login()
    calls: list[Callable[[], Any]] = [
        partial(b.log_in, "nurse", "wrong-password") for b in attackers
    ]
    results = _burst([*calls, lambda: owner.log_in("nurse", PASSWORD)])

    assert results[-1][0] == 302
    assert {status for status, _ in results[:-1]} == {401}
    assert _account_failures(clinic.db, clinic.staff_id) == FREE
    assert len(verified) == 1 + len(results)


def _unlock(base: str, token: str, cid: str, pin: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - the local live server
        f"{base}/agent/api/staff-unlock",
        method="POST",
        data=json.dumps({"staffPid": cid, "pin": pin}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - local
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_wrong_pins_and_the_right_one_at_once(live_server, clinic, verified) -> None:
    sent = [f"{i:04d}" for i in range(8)] + ["1234"]
    results = _burst(
        [
            partial(_unlock, live_server, t, clinic.staff_cid, p)
            for p, t in zip(sent, clinic.tokens, strict=True)
        ]
    )

    codes = [body.get("error", {}).get("code") for _, body in results]
    # wrong and locked PINs get one answer (a lock would tell staff from other card holders)
    assert set(codes[:8]) == {"UNLOCK_REFUSED"}
    assert codes[8] in (None, "UNLOCK_REFUSED")
    actions = _audit(clinic.db, f"staff:{clinic.staff_id}", "agent.unlock")
    assert len(actions) == len(sent)
    final = _replay(
        actions, PIN_MAX_FAILURES, "agent.unlock_failed", "agent.unlock_refused", "agent.unlock"
    )
    with clinic.db.transaction() as session:
        staff = session.get(StaffUser, clinic.staff_id)
        assert staff is not None and staff.pin_failures == final
        assert (staff.pin_locked_until is not None) == (final >= PIN_MAX_FAILURES)
    assert actions.count("agent.unlock") == codes.count(None)
    assert codes.count("UNLOCK_REFUSED") == (
        actions.count("agent.unlock_failed") + actions.count("agent.unlock_refused")
    )
    assert verified.count(clinic.pin_hash) == len(sent) - actions.count("agent.unlock_refused")
