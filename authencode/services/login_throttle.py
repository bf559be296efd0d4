"""Log-in throttling: failures counted per account, client address and device cookie.

A browser that has logged in to an account carries a signed device cookie naming it (OWASP's
"device cookies"). Its attempts at that account count against the cookie alone, so failures
from elsewhere never hold the owner back, and a stolen cookie has only its own few tries.
Attempts from other browsers count against the account and against the client address.
Past the free failures a counter is held back for a delay that doubles with each further
failure, up to a cap (authencode.settings.LoginPolicy).

A log-in that may check the password locks its counter rows (``SELECT ... FOR UPDATE``)
before it checks anything and keeps them until its transaction ends, so parallel attempts on
one account or from one address are counted one after the other: none sees a count that
another has not written. Rows are always locked in the order account, address (a device row
alone), so two log-ins never wait on each other in a circle. A try that finds a counter
holding back is refused without taking any lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from authencode.models import LoginThrottle
from authencode.settings import LoginPolicy

ACCOUNT, ADDRESS, DEVICE = "account", "address", "device"
_PURGE_BATCH = 100


def address_key(address: str) -> str:
    """The counter key of a client address: IPv6 clients by their /64 (one subscriber's)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (address or "unknown")[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def device_key(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def lock(
    session: Session, scope: str, key: str, policy: LoginPolicy, now: dt.datetime
) -> LoginThrottle:
    """The counter of (scope, key), created when missing, locked until the transaction ends.

    A count silent for longer than the policy's ``forget_after`` starts again from zero.
    """
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for _ in range(3):  # a stale row may be purged between the insert and the lock
        session.execute(
            insert(LoginThrottle)
            .values(
                scope=scope,
                key=key,
                failures=0,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["scope", "key"])
        )
        row = session.scalar(
            select(LoginThrottle)
            .where(LoginThrottle.scope == scope, LoginThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is not None:
            if row.updated_at + policy.forget_after < now and not is_held(row, now):
                row.failures, row.held_until = 0, None
            return row
    raise RuntimeError(f"the {scope} log-in counter kept disappearing")


def held(session: Session, keys: list[tuple[str, str]], now: dt.datetime) -> LoginThrottle | None:
    """One of the counters that holds back now, read without a lock: refusing needs none, so
    a flood of tries at a held-back account never queues on its row."""
    if not keys:
        return None
    return session.scalar(
        select(LoginThrottle)
        .where(
            or_(
                *(
                    and_(LoginThrottle.scope == scope, LoginThrottle.key == key)
                    for scope, key in keys
                )
            ),
            LoginThrottle.held_until > now,
        )
        .order_by(LoginThrottle.scope)
        .limit(1)
    )


def is_held(row: LoginThrottle, now: dt.datetime) -> bool:
    return row.held_until is not None and row.held_until > now


def count_failure(
    row: LoginThrottle, free: int, policy: LoginPolicy, now: dt.datetime
) -> dt.timedelta | None:
    """Count a failure on a locked counter; returns the delay it now holds back for, if any."""
    row.failures += 1
    row.updated_at = now
    delay = policy.delay(row.failures, free)
    row.held_until = now + delay if delay else None
    return delay


def clear(row: LoginThrottle, now: dt.datetime) -> None:
    row.failures, row.held_until, row.updated_at = 0, None, now


def clear_account(session: Session, staff_id: int) -> bool:
    """Forget an account's failures (an administrator's unlock, a password reset); returns
    whether it had any."""
    result = session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.scope == ACCOUNT,
            LoginThrottle.key == str(staff_id),
            (LoginThrottle.failures > 0) | LoginThrottle.held_until.is_not(None),
        )
        .values(failures=0, held_until=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def account_held_until(session: Session, staff_id: int, now: dt.datetime) -> dt.datetime | None:
    """Until when log-ins to the account from browsers it does not know are held back."""
    held = session.scalar(
        select(LoginThrottle.held_until).where(
            LoginThrottle.scope == ACCOUNT, LoginThrottle.key == str(staff_id)
        )
    )
    return held if held is not None and held > now else None


def purge_stale(session: Session, policy: LoginPolicy, now: dt.datetime) -> int:
    """Delete a batch of counters silent past ``forget_after`` and not held; returns how many.

    Rows another log-in has locked are skipped (PostgreSQL's SKIP LOCKED), never waited for.
    """
    stale = (
        select(LoginThrottle.id)
        .where(
            LoginThrottle.updated_at < now - policy.forget_after,
            (LoginThrottle.held_until.is_(None)) | (LoginThrottle.held_until <= now),
        )
        .limit(_PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    result = session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.id.in_(stale))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class DeviceCookies:
    """Signed cookie values naming the accounts a browser has logged in to, each with a nonce.

    The nonce keys the device's own failure counter; a new one is given at every log-in. A
    value holds at most ``MAX_ACCOUNTS`` accounts (a shared counter PC), newest first, each
    valid for the policy's ``device_lifetime`` from its log-in.
    """

    MAX_ACCOUNTS = 10

    def __init__(self, secret_key: str, lifetime: dt.timedelta) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="authencode.staff-device")
        self._lifetime = lifetime

    def read(self, value: str | None, now: dt.datetime) -> dict[int, str]:
        """Staff id -> nonce of the value's unexpired accounts; nothing for a bad value."""
        entries = self._entries(value, now)
        return {staff_id: nonce for staff_id, nonce, _ in entries}

    def remember(self, value: str | None, staff_id: int, now: dt.datetime) -> str:
        """A new value with the account (and a fresh nonce) first, the others kept."""
        others = [entry for entry in self._entries(value, now) if entry[0] != staff_id]
        fresh = [staff_id, secrets.token_urlsafe(16), int(now.timestamp())]
        return self._serializer.dumps([fresh, *others][: self.MAX_ACCOUNTS])

    def _entries(self, value: str | None, now: dt.datetime) -> list[list[Any]]:
        if not value:
            return []
        try:
            entries = self._serializer.loads(value, max_age=int(self._lifetime.total_seconds()))
        except BadData:
            return []
        if not isinstance(entries, list):
            return []
        oldest = (now - self._lifetime).timestamp()
        return [
            entry
            for entry in entries
            if isinstance(entry, list)
            and len(entry) == 3
            and isinstance(entry[0], int)
            and isinstance(entry[1], str)
            and isinstance(entry[2], int)
            and entry[2] >= oldest
        ]
