"""Staff sign-in: passwords (argon2id), lock-out, server-side sessions and password resets."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import PasswordReset, StaffSession, StaffUser
from authencode.passwords import hash_password, verify_password
from authencode.services import audit, mail
from authencode.thaidate import be_datetime

LOGIN_FAILED = register("LOGIN_FAILED", "unauthorized", "Wrong username or password.",
                        "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")
ACCOUNT_LOCKED = register(
    "ACCOUNT_LOCKED", "forbidden",
    "Too many failed log-ins: this account is locked until {until}.",
    "เข้าสู่ระบบผิดหลายครั้งเกินกำหนด บัญชีนี้ถูกระงับชั่วคราวจนถึง {until}")
ACCOUNT_DISABLED = register("ACCOUNT_DISABLED", "forbidden",
                            "This account is disabled. Please contact your administrator.",
                            "บัญชีนี้ถูกระงับการใช้งาน กรุณาติดต่อผู้ดูแลระบบ")
PASSWORD_TOO_SHORT = register("PASSWORD_TOO_SHORT", "invalid",
                              "A password needs at least {min} characters.",
                              "รหัสผ่านต้องมีอย่างน้อย {min} ตัวอักษร")
PASSWORD_MISMATCH = register("PASSWORD_MISMATCH", "invalid",
                             "The new password and its confirmation differ.",
                             "รหัสผ่านใหม่และยืนยันรหัสผ่านไม่ตรงกัน")
PASSWORD_WRONG = register("PASSWORD_WRONG", "invalid", "The current password is wrong.",
                          "รหัสผ่านเดิมไม่ถูกต้อง")
PASSWORD_SAME = register("PASSWORD_SAME", "invalid",
                         "Choose a new password different from the current one.",
                         "กรุณาตั้งรหัสผ่านใหม่ที่ไม่ซ้ำกับรหัสผ่านเดิม")
RESET_INVALID = register(
    "RESET_INVALID", "gone",
    "This password reset link is invalid, already used or expired. Please ask for a new one.",
    "ลิงก์ตั้งรหัสผ่านใหม่นี้ไม่ถูกต้อง ถูกใช้ไปแล้ว หรือหมดอายุ กรุณาขอลิงก์ใหม่")

MIN_PASSWORD = 10
# Verified when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoginPolicy:
    """Configurable through Settings.extra (login_max_failures, login_lockout_minutes, …)."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    reset_ttl: dt.timedelta = dt.timedelta(minutes=30)

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> LoginPolicy:
        def minutes(name: str, default: dt.timedelta) -> dt.timedelta:
            return dt.timedelta(minutes=float(extra[name])) if name in extra else default

        return cls(max_failures=int(extra.get("login_max_failures", cls.max_failures)),
                   lockout=minutes("login_lockout_minutes", cls.lockout),
                   idle_timeout=minutes("session_idle_minutes", cls.idle_timeout),
                   reset_ttl=minutes("password_reset_minutes", cls.reset_ttl))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def log_in(session: Session, username: str, password: str, policy: LoginPolicy,
           now: dt.datetime | None = None) -> tuple[StaffUser, str]:
    """Check the password and open a session; returns the account and the new session id.

    Raises LOGIN_FAILED, ACCOUNT_LOCKED or ACCOUNT_DISABLED. A failure is counted (and the
    caller must commit it despite the refusal); the last allowed failure locks the account.
    Every attempt is audited.
    """
    now = now or utcnow()
    name = (username or "").strip().lower()
    staff = session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == name))
    if staff is None or staff.status == "pending":
        verify_password(_DUMMY_HASH, password or "")
        audit.record(session, "anonymous", "staff.login_failed", "",
                     {"reason": "unknown_user" if staff is None else "pending"})
        raise DomainError(LOGIN_FAILED)
    actor = f"staff:{staff.id}"
    if staff.locked_until is not None and staff.locked_until > now:
        audit.record(session, actor, "staff.login_refused", actor, {"reason": "locked"})
        raise DomainError(ACCOUNT_LOCKED, until=be_datetime(staff.locked_until))
    if not verify_password(staff.password_hash, password or ""):
        staff.failed_logins += 1
        if staff.failed_logins >= policy.max_failures:
            staff.failed_logins = 0
            staff.locked_until = now + policy.lockout
            audit.record(session, actor, "staff.locked", actor,
                         {"minutes": int(policy.lockout.total_seconds() // 60)})
            raise DomainError(ACCOUNT_LOCKED, until=be_datetime(staff.locked_until))
        audit.record(session, actor, "staff.login_failed", actor,
                     {"failures": staff.failed_logins})
        raise DomainError(LOGIN_FAILED)
    if staff.status != "active":
        audit.record(session, actor, "staff.login_refused", actor, {"reason": staff.status})
        raise DomainError(ACCOUNT_DISABLED)
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    sid = secrets.token_urlsafe(32)
    session.add(StaffSession(sid_hash=_digest(sid), staff_id=staff.id, created_at=now,
                             last_seen_at=now))
    audit.record(session, actor, "staff.login", actor)
    return staff, sid


def session_staff(session: Session, sid: str | None, policy: LoginPolicy,
                  now: dt.datetime | None = None) -> StaffUser | None:
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
        session.execute(update(StaffSession).where(
            StaffSession.sid_hash == _digest(sid), StaffSession.ended_at.is_(None),
        ).values(ended_at=utcnow()))


def _end_other_sessions(session: Session, staff: StaffUser, keep_sid: str | None) -> None:
    query = update(StaffSession).where(StaffSession.staff_id == staff.id,
                                       StaffSession.ended_at.is_(None))
    if keep_sid:
        query = query.where(StaffSession.sid_hash != _digest(keep_sid))
    session.execute(query.values(ended_at=utcnow()))


def _check_new_password(new: str, confirm: str) -> None:
    if len(new or "") < MIN_PASSWORD:
        raise DomainError(PASSWORD_TOO_SHORT, detail="new_password", min=MIN_PASSWORD)
    if new != confirm:
        raise DomainError(PASSWORD_MISMATCH, detail="confirm_password")


def change_password(session: Session, staff: StaffUser, current: str, new: str, confirm: str,
                    keep_sid: str | None = None) -> None:
    """Set a new password (the forced first-login change too); other sessions end.

    Raises PASSWORD_WRONG, PASSWORD_TOO_SHORT, PASSWORD_MISMATCH or PASSWORD_SAME. Audited.
    """
    if not verify_password(staff.password_hash, current or ""):
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


def request_reset(session: Session, protector: DataProtector, email: str, reset_url: str,
                  policy: LoginPolicy, now: dt.datetime | None = None) -> int:
    """Email a one-time reset link to each active account with this address.

    Returns how many links were queued; the caller answers the same whatever the number,
    so the form never tells whether an address is registered. ``reset_url`` ends with the
    path the token is appended to.
    """
    now = now or utcnow()
    address = reset_address(email)
    if not address:
        return 0
    accounts = session.scalars(select(StaffUser).where(
        func.lower(StaffUser.email) == address, StaffUser.status == "active")).all()
    for staff in accounts:
        token = secrets.token_urlsafe(32)
        session.add(PasswordReset(staff_id=staff.id, token_hash=_digest(token), created_at=now,
                                  expires_at=now + policy.reset_ttl))
        minutes = int(policy.reset_ttl.total_seconds() // 60)
        link = reset_url + token
        mail.queue_email(
            session, protector, staff.email,
            "ตั้งรหัสผ่านใหม่ Authen Code / Reset your Authen Code password",
            f"เรียน คุณ{staff.display_name}\n\n"
            f"มีการขอตั้งรหัสผ่านใหม่สำหรับรหัสผู้ใช้ {staff.username}\n"
            f"กรุณาเปิดลิงก์นี้ภายใน {minutes} นาที (ใช้ได้ครั้งเดียว):\n{link}\n\n"
            "หากท่านไม่ได้ขอ กรุณาเพิกเฉยต่ออีเมลนี้\n\n---\n"
            f"Someone asked to reset the password of user {staff.username}.\n"
            f"Open this link within {minutes} minutes (it works once):\n{link}\n"
            "If it was not you, ignore this email.\n")
        audit.record(session, f"staff:{staff.id}", "staff.password_reset_requested",
                     f"staff:{staff.id}")
    return len(accounts)


def reset_for_token(session: Session, token: str, now: dt.datetime | None = None,
                    ) -> PasswordReset:
    """The unused, unexpired reset named by the token; raises RESET_INVALID."""
    now = now or utcnow()
    row = session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == _digest(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise DomainError(RESET_INVALID)
    return row


def reset_password(session: Session, token: str, new: str, confirm: str,
                   now: dt.datetime | None = None) -> StaffUser:
    """Use a reset link once: set the password, lift a lock-out, end every session.

    Raises RESET_INVALID, PASSWORD_TOO_SHORT or PASSWORD_MISMATCH. Audited.
    """
    now = now or utcnow()
    row = reset_for_token(session, token, now)
    _check_new_password(new, confirm)
    staff = session.get(StaffUser, row.staff_id)
    if staff is None or staff.status != "active":
        raise DomainError(RESET_INVALID)
    # Claim the link atomically: of two concurrent uses only one updates the row.
    claimed = session.execute(update(PasswordReset).where(
        PasswordReset.id == row.id, PasswordReset.used_at.is_(None)).values(used_at=now))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(RESET_INVALID)
    session.execute(update(PasswordReset).where(
        PasswordReset.staff_id == staff.id, PasswordReset.used_at.is_(None),
    ).values(used_at=now))  # older links of the same account die with it
    staff.password_hash = hash_password(new)
    staff.must_change_password = False
    staff.failed_logins = 0
    staff.locked_until = None
    _end_other_sessions(session, staff, None)
    audit.record(session, f"staff:{staff.id}", "staff.password_reset", f"staff:{staff.id}")
    return staff
