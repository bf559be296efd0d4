"""Staff sign-in: passwords (argon2id), throttling, server-side sessions and password resets."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from authencode import passwords
from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import PasswordReset, StaffSession, StaffUser
from authencode.passwords import hash_password
from authencode.services import audit, login_throttle, mail
from authencode.services.login_throttle import DeviceCookies
from authencode.settings import LoginPolicy

# One answer for an unknown user, a wrong password and a throttled account alike.
LOGIN_FAILED = register(
    "LOGIN_FAILED",
    "unauthorized",
    "Wrong username or password, or too many failed tries: wait a while, or reset your "
    "password by email.",
    "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง หรือลองผิดหลายครั้งเกินไป กรุณารอสักครู่ หรือตั้งรหัสผ่านใหม่ทางอีเมล",
)
ACCOUNT_DISABLED = register(
    "ACCOUNT_DISABLED",
    "forbidden",
    "This account is disabled. Please contact your administrator.",
    "บัญชีนี้ถูกระงับการใช้งาน กรุณาติดต่อผู้ดูแลระบบ",
)
PASSWORD_TOO_SHORT = register(
    "PASSWORD_TOO_SHORT",
    "invalid",
    "A password needs at least {min} characters.",
    "รหัสผ่านต้องมีอย่างน้อย {min} ตัวอักษร",
)
PASSWORD_MISMATCH = register(
    "PASSWORD_MISMATCH",
    "invalid",
    "The new password and its confirmation differ.",
    "รหัสผ่านใหม่และยืนยันรหัสผ่านไม่ตรงกัน",
)
PASSWORD_WRONG = register(
    "PASSWORD_WRONG", "invalid", "The current password is wrong.", "รหัสผ่านเดิมไม่ถูกต้อง"
)
PASSWORD_SAME = register(
    "PASSWORD_SAME",
    "invalid",
    "Choose a new password different from the current one.",
    "กรุณาตั้งรหัสผ่านใหม่ที่ไม่ซ้ำกับรหัสผ่านเดิม",
)
RESET_INVALID = register(
    "RESET_INVALID",
    "gone",
    "This password reset link is invalid, already used or expired. Please ask for a new one.",
    "ลิงก์ตั้งรหัสผ่านใหม่นี้ไม่ถูกต้อง ถูกใช้ไปแล้ว หรือหมดอายุ กรุณาขอลิงก์ใหม่",
)

MIN_PASSWORD = 10
# Verified instead of the account's for an unknown user or a throttled attempt, so every
# attempt costs one hash and none answers sooner.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoggedIn:
    staff: StaffUser
    sid: str  # the new server-side session
    device_cookie: str  # the browser's device cookie, now naming this account


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def log_in(
    session: Session,
    username: str,
    password: str,
    policy: LoginPolicy,
    *,
    address: str,
    devices: DeviceCookies,
    device_cookie: str | None,
    now: dt.datetime | None = None,
) -> LoggedIn:
    """Check the password and open a session; the browser's device cookie gets the account.

    Raises LOGIN_FAILED (unknown user, wrong password or throttled: one answer, and each
    verifies exactly one password hash) or ACCOUNT_DISABLED. The counters are locked before
    the check; a failure is counted (the caller must commit it despite the refusal). Every
    attempt is audited.
    """
    now = now or utcnow()
    name = (username or "").strip().lower()
    staff = session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == name))
    if staff is not None and staff.status == "pending":
        staff = None  # not an account yet: it answers as an unknown user
    nonce = devices.read(device_cookie, now).get(staff.id) if staff is not None else None
    keys = _counter_keys(staff, nonce, address, policy)
    held = login_throttle.held(session, [(scope, key) for scope, key, _ in keys], now)
    counters = (
        []
        if held
        else [
            (login_throttle.lock(session, scope, key, policy, now), free)
            for scope, key, free in keys
        ]
    )
    held = held or next((row for row, _ in counters if login_throttle.is_held(row, now)), None)
    stored = (
        staff.password_hash
        if staff is not None and staff.password_hash and not held
        else _DUMMY_HASH
    )
    # The hash comes before any audit entry: audit.record holds the log's lock to the end.
    right = passwords.verify_password(stored, password or "")
    actor = f"staff:{staff.id}" if staff is not None else "anonymous"
    target = actor if staff is not None else ""
    if held:
        audit.record(
            session,
            actor,
            "staff.login_refused",
            target,
            {"reason": "throttled", "scope": held.scope},
        )
        raise DomainError(LOGIN_FAILED)
    if staff is None or not right:
        details: dict[str, object] = {} if staff is not None else {"reason": "unknown_user"}
        for row, free in counters:
            delay = login_throttle.count_failure(row, free, policy, now)
            if row.scope != login_throttle.ADDRESS:
                details.update(scope=row.scope, failures=row.failures)
            if delay:
                details[f"{row.scope}_held_seconds"] = int(delay.total_seconds())
        audit.record(session, actor, "staff.login_failed", target, details)
        raise DomainError(LOGIN_FAILED)
    if staff.status != "active":
        audit.record(session, actor, "staff.login_refused", actor, {"reason": staff.status})
        raise DomainError(ACCOUNT_DISABLED)
    for row, _ in counters:
        if row.scope != login_throttle.ADDRESS:  # an address is forgiven only by time
            login_throttle.clear(row, now)
    login_throttle.purge_stale(session, policy, now)
    staff.last_login_at = now
    sid = secrets.token_urlsafe(32)
    session.add(
        StaffSession(sid_hash=_digest(sid), staff_id=staff.id, created_at=now, last_seen_at=now)
    )
    audit.record(session, actor, "staff.login", actor)
    return LoggedIn(staff, sid, devices.remember(device_cookie, staff.id, now))


def _counter_keys(
    staff: StaffUser | None, device_nonce: str | None, address: str, policy: LoginPolicy
) -> list[tuple[str, str, int]]:
    """The counters this attempt is held back by and counts on: scope, key, free failures.

    A browser the account knows counts on its device cookie alone; any other on the account
    and its address (an unknown user on the address only), locked in that order.
    """
    if staff is not None and device_nonce is not None:
        return [
            (login_throttle.DEVICE, login_throttle.device_key(device_nonce), policy.free_failures)
        ]
    keys = [(login_throttle.ACCOUNT, str(staff.id), policy.free_failures)] if staff else []
    return [
        *keys,
        (login_throttle.ADDRESS, login_throttle.address_key(address), policy.address_free_failures),
    ]


def session_staff(
    session: Session, sid: str | None, policy: LoginPolicy, now: dt.datetime | None = None
) -> StaffUser | None:
    """The active account behind a live session id, touching its idle clock; else None."""
    if not sid:
        return None
    now = now or utcnow()
    row = session.scalar(select(StaffSession).where(StaffSession.sid_hash == _digest(sid)))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > policy.idle_timeout:
        row.ended_at = now
        return None
    staff = session.get(StaffUser, row.staff_id)
    if staff is None or staff.status != "active":
        row.ended_at = now
        return None
    if now - row.last_seen_at > dt.timedelta(seconds=30):  # spare a write on every request
        row.last_seen_at = now
    return staff


def log_out(session: Session, sid: str | None) -> None:
    """End the session (a copied cookie stops working too)."""
    if sid:
        session.execute(
            update(StaffSession)
            .where(
                StaffSession.sid_hash == _digest(sid),
                StaffSession.ended_at.is_(None),
            )
            .values(ended_at=utcnow())
        )


def _end_other_sessions(session: Session, staff: StaffUser, keep_sid: str | None) -> None:
    query = update(StaffSession).where(
        StaffSession.staff_id == staff.id, StaffSession.ended_at.is_(None)
    )
    if keep_sid:
        query = query.where(StaffSession.sid_hash != _digest(keep_sid))
    session.execute(query.values(ended_at=utcnow()))


def _check_new_password(new: str, confirm: str) -> None:
    if len(new or "") < MIN_PASSWORD:
        raise DomainError(PASSWORD_TOO_SHORT, detail="new_password", min=MIN_PASSWORD)
    if new != confirm:
        raise DomainError(PASSWORD_MISMATCH, detail="confirm_password")


def change_password(
    session: Session,
    staff: StaffUser,
    current: str,
    new: str,
    confirm: str,
    keep_sid: str | None = None,
) -> None:
    """Set a new password (the forced first-login change too); other sessions end.

    Raises PASSWORD_WRONG, PASSWORD_TOO_SHORT, PASSWORD_MISMATCH or PASSWORD_SAME. Audited.
    """
    if not passwords.verify_password(staff.password_hash, current or ""):
        raise DomainError(PASSWORD_WRONG, detail="current_password")
    _check_new_password(new, confirm)
    if new == current:
        raise DomainError(PASSWORD_SAME, detail="new_password")
    staff.password_hash = hash_password(new)
    staff.must_change_password = False
    _end_other_sessions(session, staff, keep_sid)
    audit.record(session, f"staff:{staff.id}", "staff.password_change", f"staff:{staff.id}")


def reset_address(email: str) -> str:
    """The address a reset request is for, as looked up (and as its mails are counted)."""
    return (email or "").strip().lower()


def request_reset(
    session: Session,
    protector: DataProtector,
    email: str,
    reset_url: str,
    policy: LoginPolicy,
    now: dt.datetime | None = None,
) -> int:
    """Email a one-time reset link to each active account with this address.

    Returns how many links were queued; the caller answers the same whatever the number,
    so the form never tells whether an address is registered. ``reset_url`` ends with the
    path the token is appended to.
    """
    now = now or utcnow()
    address = reset_address(email)
    if not address:
        return 0
    accounts = session.scalars(
        select(StaffUser).where(
            func.lower(StaffUser.email) == address, StaffUser.status == "active"
        )
    ).all()
    for staff in accounts:
        token = secrets.token_urlsafe(32)
        session.add(
            PasswordReset(
                staff_id=staff.id,
                token_hash=_digest(token),
                created_at=now,
                expires_at=now + policy.reset_ttl,
            )
        )
        minutes = int(policy.reset_ttl.total_seconds() // 60)
        link = reset_url + token
        mail.queue_email(
            session,
            protector,
            staff.email,
            "ตั้งรหัสผ่านใหม่ Authen Code / Reset your Authen Code password",
            f"เรียน คุณ{staff.display_name}\n\n"
            f"มีการขอตั้งรหัสผ่านใหม่สำหรับรหัสผู้ใช้ {staff.username}\n"
            f"กรุณาเปิดลิงก์นี้ภายใน {minutes} นาที (ใช้ได้ครั้งเดียว):\n{link}\n\n"
            "หากท่านไม่ได้ขอ กรุณาเพิกเฉยต่ออีเมลนี้\n\n---\n"
            f"Someone asked to reset the password of user {staff.username}.\n"
            f"Open this link within {minutes} minutes (it works once):\n{link}\n"
            "If it was not you, ignore this email.\n",
        )
        audit.record(
            session, f"staff:{staff.id}", "staff.password_reset_requested", f"staff:{staff.id}"
        )
    return len(accounts)


def reset_for_token(
    session: Session,
    token: str,
    now: dt.datetime | None = None,
) -> PasswordReset:
    """The unused, unexpired reset named by the token; raises RESET_INVALID."""
    now = now or utcnow()
    row = session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == _digest(token or ""))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise DomainError(RESET_INVALID)
    return row


def reset_password(
    session: Session, token: str, new: str, confirm: str, now: dt.datetime | None = None
) -> StaffUser:
    """Use a reset link once: set the password, forget the account's failures, end sessions.

    Raises RESET_INVALID, PASSWORD_TOO_SHORT or PASSWORD_MISMATCH. Audited.
    """
    now = now or utcnow()
    row = reset_for_token(session, token, now)
    _check_new_password(new, confirm)
    staff = session.get(StaffUser, row.staff_id)
    if staff is None or staff.status != "active":
        raise DomainError(RESET_INVALID)
    # Claim the link atomically: of two concurrent uses only one updates the row.
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(RESET_INVALID)
    session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.staff_id == staff.id,
            PasswordReset.used_at.is_(None),
        )
        .values(used_at=now)
    )  # older links of the same account die with it
    login_throttle.clear_account(session, staff.id)
    staff.password_hash = hash_password(new)
    staff.must_change_password = False
    _end_other_sessions(session, staff, None)
    audit.record(session, f"staff:{staff.id}", "staff.password_reset", f"staff:{staff.id}")
    return staff
