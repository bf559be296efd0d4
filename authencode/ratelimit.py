"""Rate limits: fixed windows (a minute; an hour or a day for some rules) counted in Redis
when configured, else in-process. A rule counts requests, or a cost such as uploaded bytes.

The counting is the ``limits`` package's (Flask-Limiter's engine): its Redis storage (one
INCRBY and EXPIRE in a Lua script) and its memory storage. Its fixed-window strategy is not
used: its windows start at a key's first hit, while these are aligned to the clock (a minute,
an hour or a UTC day, so Retry-After says when the next one starts), and it answers only
allowed or not, while callers need the count (the webhook replies once, to the first event
over the limit). So the window's number is part of the key and ``Storage.incr`` gives the
count. Nothing here needs a request: background workers count the same way.

Keys are hashed before they are counted, so neither Redis nor memory holds LINE user ids or
IP addresses. When Redis cannot be reached the limiter counts locally (each process on its
own) and tries Redis again a few seconds later: an outage of the cache never stops the
service, it only makes the limits per process for a while.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from limits.storage import MemoryStorage, RedisStorage, Storage

from authencode.errors import DomainError, register

log = logging.getLogger(__name__)

RATE_LIMITED = register(
    "RATE_LIMITED",
    "rate_limited",
    "Too many requests; please wait {retry_after} seconds and try again.",
    "มีการเรียกใช้งานถี่เกินไป กรุณารอ {retry_after} วินาทีแล้วลองใหม่อีกครั้ง",
)

CID_LOOKUPS_EXCEEDED = register(
    "CID_LOOKUPS_EXCEEDED",
    "rate_limited",
    "Too many citizen IDs entered from this LINE account; please wait about {minutes} "
    "minutes and try again.",
    "กรอกเลขประจำตัวประชาชนหลายครั้งเกินไป กรุณารอประมาณ {minutes} นาทีแล้วลองใหม่อีกครั้งค่ะ",
)

# rule -> requests a window (a minute unless RULE_WINDOWS says otherwise). Generous: a
# patient's LIFF page makes a handful of calls, and a whole village behind one mobile-carrier
# address shares a public IP.
DEFAULT_LIMITS: Mapping[str, int] = {
    "liff_user": 120,  # LIFF API calls per LINE user (by the ID token's sub)
    "ip": 1200,  # LIFF API calls and QR link opens per client IP
    "line_user": 60,  # webhook events handled per LINE user (then one polite reply)
    "bad_signature": 30,  # unsigned or badly signed webhook posts per IP
    "login": 30,  # clinic log-in posts per IP (failures also throttle: login_throttle)
    # Citizen IDs looked up in the registry per LINE user an hour (registering oneself or a
    # family member, in the chat or on the LIFF pages): a family of six with typos fits; a
    # script trying CIDs to learn whose they are does not.
    "cid_lookup": 20,
    # Anonymous clinic pages, an hour each: staff self-registration posts per IP (a hospital
    # enrolling its staff from one network) and per CID (a few corrections, not a scan of
    # CIDs), password-reset requests per IP, and reset mails per email address (further
    # requests get the same answer but no mail).
    "register": 30,
    "register_cid": 5,
    "forgot": 10,
    "forgot_email": 3,
    # Reader-agent API calls per agent token: a busy counter makes three or four a patient
    # (card read, unlock, confirm-save, latest code), so even a patient every five seconds
    # fits, with room for a few PCs sharing one token; a script walking through CIDs does not.
    "agent_token": 120,
    # Kiosks, an hour each: codes asked for per kiosk (a kiosk at the busiest front door
    # serves about one patient a minute; a stolen kiosk credential minting codes stops soon),
    # and kiosk screens opened unpaired per IP (each makes a pairing code).
    "kiosk_code": 120,
    "kiosk_pairing": 30,
    # Wrong counter verification codes an hour (authencode.services.counter_verify), per staff
    # member and per facility: typos fit; walking through the million 6-digit codes does not.
    "verify_code_staff": 20,
    "verify_code_facility": 60,
    # CIDs typed into the clinic's person look-ups (the counter's look-up, the records' and
    # report's filters) an hour, per staff member and per client address: the busiest counter
    # looks up a patient a minute with room for retyping, a hospital's staff share one
    # network; a staff account (or a stolen session) walking through CIDs does not.
    "staff_cid_lookup": 120,
    "staff_cid_lookup_ip": 600,
}
WINDOW_SECONDS = 60
HOUR = 3600
DAY = 86400
# Document bytes stored by staff registrations per IP a day; its limit is the
# UPLOAD_BYTES_PER_DAY setting, not a RATE_LIMITS rule.
UPLOAD_BYTES = "upload_bytes"
QUOTA_RULES = frozenset({UPLOAD_BYTES})  # rules that count a cost, not requests
RULE_WINDOWS: Mapping[str, int] = {
    "cid_lookup": HOUR,
    "register": HOUR,
    "register_cid": HOUR,
    "forgot": HOUR,
    "forgot_email": HOUR,
    "verify_code_staff": HOUR,
    "verify_code_facility": HOUR,
    "staff_cid_lookup": HOUR,
    "staff_cid_lookup_ip": HOUR,
    "kiosk_code": HOUR,
    "kiosk_pairing": HOUR,
    UPLOAD_BYTES: DAY,
}
UPLOAD_QUOTA_EXCEEDED = register(
    "UPLOAD_QUOTA_EXCEEDED",
    "rate_limited",
    "Too many documents have been uploaded from this network today; nothing was saved. "
    "Please try again in about {minutes} minutes.",
    "วันนี้มีการอัปโหลดเอกสารจากเครือข่ายนี้มากเกินกำหนด ระบบยังไม่ได้บันทึกข้อมูล "
    "กรุณาลองใหม่อีกครั้งในอีกประมาณ {minutes} นาที",
)
# A rule whose refusal says more than "too many requests".
VERIFY_CODES_EXCEEDED = register(
    "VERIFY_CODES_EXCEEDED",
    "rate_limited",
    "Too many wrong verification codes; please wait about {minutes} minutes.",
    "กรอกรหัสยืนยันตัวตนผิดหลายครั้งเกินไป กรุณารอประมาณ {minutes} นาทีแล้วลองใหม่",
)
STAFF_CID_LOOKUPS_EXCEEDED = register(
    "STAFF_CID_LOOKUPS_EXCEEDED",
    "rate_limited",
    "Too many citizen IDs looked up from this account or network in the last hour; nothing "
    "was looked up. Please wait about {minutes} minutes and try again.",
    "ค้นหาด้วยเลขประจำตัวประชาชนจากบัญชีหรือเครือข่ายนี้หลายครั้งเกินไปในชั่วโมงนี้ "
    "ระบบยังไม่ได้ค้นหา กรุณารอประมาณ {minutes} นาทีแล้วลองใหม่",
)
RULE_ERRORS: Mapping[str, str] = {
    "cid_lookup": CID_LOOKUPS_EXCEEDED,
    UPLOAD_BYTES: UPLOAD_QUOTA_EXCEEDED,
    "verify_code_staff": VERIFY_CODES_EXCEEDED,
    "verify_code_facility": VERIFY_CODES_EXCEEDED,
    "staff_cid_lookup": STAFF_CID_LOOKUPS_EXCEEDED,
    "staff_cid_lookup_ip": STAFF_CID_LOOKUPS_EXCEEDED,
}


class RateLimitedError(DomainError):
    """429: this key used up its window; ``retry_after`` says when the next one starts."""

    default_code = RATE_LIMITED

    def __init__(self, retry_after: int, code: str = RATE_LIMITED) -> None:
        super().__init__(code, retry_after=retry_after, minutes=max(1, math.ceil(retry_after / 60)))
        self.retry_after = retry_after


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int  # requests counted in this window, this one included
    retry_after: int  # seconds until the window ends (at least 1)


def parse_limits(value: str | None) -> dict[str, int]:
    """``RATE_LIMITS``: ``off``, or ``rule=N,…`` per window over the defaults (0 = no limit).

    Raises ValueError naming what is wrong.
    """
    limits = dict(DEFAULT_LIMITS)
    if value is None or not value.strip():
        return limits
    if value.strip().lower() in ("off", "none", "0"):
        return {rule: 0 for rule in limits}
    for part in value.split(","):
        if not part.strip():
            continue
        rule, sep, number = part.partition("=")
        rule = rule.strip()
        if not sep or rule not in limits or not number.strip().isdigit():
            raise ValueError(
                f"expected off or rule=N,… with rules {', '.join(DEFAULT_LIMITS)}"
                f" (got {part.strip()!r})"
            )
        limits[rule] = int(number)
    return limits


class Counter(Protocol):
    def incr(self, key: str, window_end: float, now: float, amount: int = 1) -> int: ...


class StorageCounter:
    """A ``limits`` storage counting one window's key; the key dies a minute after its window
    (a minute's margin: servers' clocks differ a little)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def incr(self, key: str, window_end: float, now: float, amount: int = 1) -> int:
        expiry = math.ceil(window_end - now) + WINDOW_SECONDS
        return int(self.storage.incr(key, expiry, amount=amount))


class MemoryCounter(StorageCounter):
    """Counts of one process (``limits``' memory storage drops keys whose time is up)."""

    def __init__(self) -> None:
        super().__init__(MemoryStorage())


class RedisCounter(StorageCounter):
    """Counts shared through Redis (``limits``' Redis storage: INCRBY and EXPIRE in one Lua
    script, one round trip); ``client`` is its redis-py client."""

    def __init__(self, url: str, timeout: float = 0.25) -> None:
        storage = RedisStorage(
            url,
            key_prefix=RateLimiter.PREFIX,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
        super().__init__(storage)
        self.client: Any = storage.storage


class RateLimiter:
    """Checks keys against per-window rules; shared through Redis when one is configured."""

    PREFIX = "authencode:rl"

    def __init__(
        self,
        limits: Mapping[str, int],
        redis_url: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        retry_redis_after: float = 5.0,
        redis_timeout: float = 0.25,
    ) -> None:
        self.limits = dict(limits)
        self.clock = clock
        self.local: Counter = MemoryCounter()
        self.shared: Counter | None = RedisCounter(redis_url, redis_timeout) if redis_url else None
        self.retry_redis_after = retry_redis_after
        self._redis_down_until = 0.0
        self.redis_failures = 0

    def enabled(self, rule: str) -> bool:
        return self.limits.get(rule, 0) > 0

    def hit(self, rule: str, key: str, cost: int = 1) -> Decision:
        """Count one request (or ``cost``) of ``key`` under ``rule``; says whether it is within
        the limit."""
        limit = self.limits.get(rule, 0)
        now = self.clock()
        length = RULE_WINDOWS.get(rule, WINDOW_SECONDS)
        window = int(now // length)
        window_end = (window + 1) * length
        retry_after = max(1, math.ceil(window_end - now))
        if limit <= 0:
            return Decision(True, 0, retry_after)
        digest = hashlib.sha256(f"{rule}\0{key}".encode()).hexdigest()[:24]
        name = f"{rule}:{digest}:{window}"  # Redis adds PREFIX: authencode:rl:rule:digest:window
        count = self._incr(name, window_end, now, cost)
        if count > limit and rule in QUOTA_RULES:
            # A refused cost is given back: what was not stored does not use up the quota.
            self._incr(name, window_end, now, -cost)
        return Decision(count <= limit, count, retry_after)

    def check(self, rule: str, key: str, cost: int = 1) -> None:
        """Count one request (or ``cost``); raises RateLimitedError (429 with Retry-After) over
        the limit."""
        decision = self.hit(rule, key, cost)
        if not decision.allowed:
            raise RateLimitedError(decision.retry_after, RULE_ERRORS.get(rule, RATE_LIMITED))

    @property
    def using_redis(self) -> bool:
        return self.shared is not None and self.clock() >= self._redis_down_until

    def _incr(self, key: str, window_end: float, now: float, amount: int) -> int:
        if self.shared is not None and now >= self._redis_down_until:
            try:
                count = self.shared.incr(key, window_end, now, amount)
            except Exception as exc:  # redis.ConnectionError, TimeoutError, …: count locally
                # Tried again only after a pause, so an outage costs one timeout, not one
                # per request.
                self.redis_failures += 1
                self._redis_down_until = now + self.retry_redis_after
                log.warning(
                    "Redis unavailable (%s): rate limits are local for %.0f s",
                    type(exc).__name__,
                    self.retry_redis_after,
                )
            else:
                if self._redis_down_until:
                    self._redis_down_until = 0.0
                    log.info("Redis reachable again: rate limits are shared")
                return count
        return self.local.incr(key, window_end, now, amount)
