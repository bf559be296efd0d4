"""Staff sign-in (authencode.services.staff_auth): log-in, sessions, password change and
one-time reset links; what a stolen cookie, a replayed link or a guessing browser gets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.errors import DomainError
from authencode.models import AuditEntry, LoginThrottle, OutboxMessage, StaffUser
from authencode.passwords import hash_password
from authencode.services import staff_auth
from authencode.services.login_throttle import DeviceCookies
from authencode.settings import LoginPolicy
from tests.support.factories import make_facility, make_staff
from tests.support.mail import queued_bodies
from tests.support.race import race

POLICY = LoginPolicy()
PASSWORD = "correct horse battery"
DEVICES = DeviceCookies("test-secret-key-0123456789abcdef", POLICY.device_lifetime)
RESET_URL = "https://clinic.example/reset/"


def _staff(session: Session, protector: DataProtector, username: str = "nurse") -> StaffUser:
    facility = make_facility(session, hcode=f"1{abs(hash(username)) % 10000:04d}")
    return make_staff(session, protector, facility, username, password_hash=hash_password(PASSWORD))


def _log_in(
    session: Session,
    username: str,
    password: str,
    *,
    cookie: str | None = None,
    now: dt.datetime | None = None,
) -> staff_auth.LoggedIn:
    return staff_auth.log_in(
        session,
        username,
        password,
        POLICY,
        address="192.0.2.7",
        devices=DEVICES,
        device_cookie=cookie,
        now=now,
    )


def _refusal(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_logging_in_opens_a_session_that_logging_out_ends(
    session: Session, protector: DataProtector
) -> None:
    staff = _staff(session, protector)
    logged = _log_in(session, "  NURSE ", PASSWORD)
    assert logged.staff is staff and DEVICES.read(logged.device_cookie, utcnow()).keys() == {
        staff.id
    }
    assert logged.sid not in str(session.scalars(select(AuditEntry.details)).all())
    assert staff_auth.session_staff(session, logged.sid, POLICY) is staff
    staff_auth.log_out(session, logged.sid)
    assert staff_auth.session_staff(session, logged.sid, POLICY) is None
    assert staff_auth.session_staff(session, "forged-sid", POLICY) is None
    assert staff_auth.session_staff(session, None, POLICY) is None


def test_pending_unknown_and_wrong_get_one_answer_disabled_only_with_the_password(
    session: Session, protector: DataProtector
) -> None:
    staff = _staff(session, protector)
    pending = _staff(session, protector, "newcomer")
    pending.status = "pending"
    assert _refusal(lambda: _log_in(session, "newcomer", PASSWORD)) == "LOGIN_FAILED"
    assert _refusal(lambda: _log_in(session, "nobody", PASSWORD)) == "LOGIN_FAILED"
    assert _refusal(lambda: _log_in(session, "nurse", "wrong password")) == "LOGIN_FAILED"
    staff.status = "disabled"
    assert _refusal(lambda: _log_in(session, "nurse", "wrong password")) == "LOGIN_FAILED"
    assert _refusal(lambda: _log_in(session, "nurse", PASSWORD)) == "ACCOUNT_DISABLED"
    reasons = [
        (entry.action, (entry.details or {}).get("reason"))
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]
    assert reasons == [
        ("staff.login_failed", "unknown_user"),
        ("staff.login_failed", "unknown_user"),
        ("staff.login_failed", None),
        ("staff.login_failed", None),
        ("staff.login_refused", "disabled"),
    ]


def test_a_guessing_browser_is_held_back_but_the_owners_known_browser_is_not(
    session: Session, protector: DataProtector
) -> None:
    _staff(session, protector)
    now = utcnow()
    known = _log_in(session, "nurse", PASSWORD, now=now).device_cookie
    for _ in range(POLICY.free_failures):
        assert _refusal(lambda: _log_in(session, "nurse", "guess", now=now)) == "LOGIN_FAILED"
    # The right password from the guessing browser is refused while the account is held.
    assert _refusal(lambda: _log_in(session, "nurse", PASSWORD, now=now)) == "LOGIN_FAILED"
    assert _log_in(session, "nurse", PASSWORD, cookie=known, now=now).sid
    later = now + POLICY.max_delay
    assert _log_in(session, "nurse", PASSWORD, now=later).sid


def test_sessions_end_when_idle_or_when_the_account_is_disabled(
    session: Session, protector: DataProtector
) -> None:
    staff = _staff(session, protector)
    now = utcnow()
    idle = _log_in(session, "nurse", PASSWORD, now=now).sid
    later = now + POLICY.idle_timeout + dt.timedelta(seconds=1)
    assert staff_auth.session_staff(session, idle, POLICY, later) is None
    assert staff_auth.session_staff(session, idle, POLICY, now) is None  # ended for good
    live = _log_in(session, "nurse", PASSWORD, now=now).sid
    assert staff_auth.session_staff(session, live, POLICY, now) is staff
    staff.status = "disabled"
    assert staff_auth.session_staff(session, live, POLICY, now) is None
    staff.status = "active"
    assert staff_auth.session_staff(session, live, POLICY, now) is None


@pytest.mark.parametrize(
    ("current", "new", "confirm", "code"),
    [
        ("wrong password", "a new password", "a new password", "PASSWORD_WRONG"),
        (PASSWORD, "short", "short", "PASSWORD_TOO_SHORT"),
        (PASSWORD, "a new password", "a new passw0rd", "PASSWORD_MISMATCH"),
        (PASSWORD, PASSWORD, PASSWORD, "PASSWORD_SAME"),
    ],
)
def test_password_change_refusals(
    session: Session, protector: DataProtector, current: str, new: str, confirm: str, code: str
) -> None:
    staff = _staff(session, protector)
    before = staff.password_hash
    change = lambda: staff_auth.change_password(session, staff, current, new, confirm)  # noqa: E731
    assert _refusal(change) == code
    assert staff.password_hash == before


def test_a_password_change_ends_every_other_session(
    session: Session, protector: DataProtector
) -> None:
    staff = _staff(session, protector)
    staff.must_change_password = True
    here, stolen = _log_in(session, "nurse", PASSWORD).sid, _log_in(session, "nurse", PASSWORD).sid
    staff_auth.change_password(session, staff, PASSWORD, "a new password", "a new password", here)
    assert staff_auth.session_staff(session, here, POLICY) is staff
    assert staff_auth.session_staff(session, stolen, POLICY) is None
    assert not staff.must_change_password
    assert _refusal(lambda: _log_in(session, "nurse", PASSWORD)) == "LOGIN_FAILED"


def _reset_tokens(session: Session, protector: DataProtector) -> list[str]:
    return [body.split(RESET_URL)[1].split()[0] for body in queued_bodies(session, protector)]


def test_reset_links_go_only_to_active_accounts_and_work_once(
    session: Session, protector: DataProtector
) -> None:
    staff = _staff(session, protector)
    disabled = _staff(session, protector, "gone")
    disabled.status = "disabled"
    assert staff_auth.request_reset(session, protector, "nobody@x.example", RESET_URL, POLICY) == 0
    assert staff_auth.request_reset(session, protector, "", RESET_URL, POLICY) == 0
    assert staff_auth.request_reset(session, protector, disabled.email, RESET_URL, POLICY) == 0
    assert session.scalars(select(OutboxMessage)).all() == []
    for _ in range(2):
        assert (
            staff_auth.request_reset(session, protector, " NURSE@clinic.example", RESET_URL, POLICY)
            == 1
        )
    older, newer = _reset_tokens(session, protector)
    open_session = _log_in(session, "nurse", PASSWORD).sid
    short = lambda: staff_auth.reset_password(session, newer, "short", "short")  # noqa: E731
    assert _refusal(short) == "PASSWORD_TOO_SHORT"
    staff_auth.reset_password(session, newer, "a new password", "a new password")
    assert staff_auth.session_staff(session, open_session, POLICY) is None
    for token in (newer, older, "made-up"):  # a replay, an older link of the account, a guess
        replay = lambda t=token: staff_auth.reset_password(session, t, "another pw!", "another pw!")  # noqa: E731
        assert _refusal(replay) == "RESET_INVALID"
    assert _log_in(session, "nurse", "a new password").staff is staff


def test_an_expired_link_or_one_of_a_since_disabled_account_is_refused(
    session: Session, protector: DataProtector
) -> None:
    staff = _staff(session, protector)
    now = utcnow()
    staff_auth.request_reset(session, protector, staff.email, RESET_URL, POLICY, now)
    (token,) = _reset_tokens(session, protector)
    expired = now + POLICY.reset_ttl
    assert _refusal(lambda: staff_auth.reset_for_token(session, token, expired)) == "RESET_INVALID"
    staff.status = "disabled"
    reset = lambda: staff_auth.reset_password(session, token, "a new password", "a new password")  # noqa: E731
    assert _refusal(reset) == "RESET_INVALID"
    assert staff_auth.reset_for_token(session, token, now).used_at is None


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def test_one_reset_link_used_twice_at_once_sets_one_password(
    pg: Database, protector: DataProtector
) -> None:
    with pg.transaction() as session:
        _staff(session, protector)
        staff_auth.request_reset(session, protector, "nurse@clinic.example", RESET_URL, POLICY)
        (token,) = _reset_tokens(session, protector)

    def use(session: Session, i: int) -> object:
        return staff_auth.reset_password(session, token, f"password {i}!", f"password {i}!").id

    outcomes = race(pg, 4, use)
    assert sorted(map(str, outcomes)).count("RESET_INVALID") == 3


def test_parallel_wrong_passwords_count_one_after_the_other(
    pg: Database, protector: DataProtector
) -> None:
    """One guess more than the free ones, all at once: each free one is counted (none lost
    to a concurrent update) and the last is held back, as if they came one by one."""
    with pg.transaction() as session:
        staff_id = _staff(session, protector).id

    def guess(session: Session, i: int) -> object:
        try:
            return _log_in(session, "nurse", f"guess {i}")
        except DomainError as refused:
            session.commit()  # the caller commits a counted failure despite the refusal
            return refused.code

    tries = POLICY.free_failures + 1
    assert race(pg, tries, guess) == ["LOGIN_FAILED"] * tries
    with pg.transaction() as session:
        account = session.scalar(
            select(LoginThrottle).where(
                LoginThrottle.scope == "account", LoginThrottle.key == str(staff_id)
            )
        )
        assert account is not None and account.failures == POLICY.free_failures
        actions = session.scalars(select(AuditEntry.action)).all()
        assert sorted(actions) == ["staff.login_failed"] * POLICY.free_failures + [
            "staff.login_refused"
        ]
