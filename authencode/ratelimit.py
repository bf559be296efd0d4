"""Rate limits: fixed one-minute windows counted in Redis when configured, else in-process.

Keys are hashed before they are counted, so neither Redis nor memory holds LINE user ids or
IP addresses. When Redis cannot be reached the limiter counts locally (each process on its
own) and tries Redis again a few seconds later: an outage of the cache never stops the
service, it only makes the limits per process for a while.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from authencode.errors import DomainError, register

log = logging.getLogger(__name__)

RATE_LIMITED = register(
    "RATE_LIMITED", "rate_limited",
    "Too many requests; please wait {retry_after} seconds and try again.",
    "มีการเรียกใช้งานถี่เกินไป กรุณารอ {retry_after} วินาทีแล้วลองใหม่อีกครั้ง")

# rule -> requests a minute. Generous: a patient's LIFF page makes a handful of calls, and
# a whole village behind one mobile-carrier address shares a public IP.
DEFAULT_LIMITS: Mapping[str, int] = {
    "liff_user": 120,       # LIFF API calls per LINE user (by the ID token's sub)
    "ip": 1200,             # LIFF API calls and QR link opens per client IP
    "line_user": 60,        # webhook events handled per LINE user (then one polite reply)
    "bad_signature": 30,    # unsigned or badly signed webhook posts per IP
    "login": 30,            # clinic log-in attempts per IP (accounts also lock on their own)
}
WINDOW_SECONDS = 60


class RateLimitedError(DomainError):
    """429: this key used up its window; ``retry_after`` says when the next one starts."""

    default_code = RATE_LIMITED

    def __init__(self, retry_after: int) -> None:
        super().__init__(RATE_LIMITED, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int  # requests counted in this window, this one included
    retry_after: int  # seconds until the window ends (at least 1)


def parse_limits(value: str | None) -> dict[str, int]:
    """``RATE_LIMITS``: ``off``, or ``rule=N,…`` per minute over the defaults (0 = no limit).

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
            raise ValueError(f"expected off or rule=N,… with rules {', '.join(DEFAULT_LIMITS)}"
                             f" (got {part.strip()!r})")
        limits[rule] = int(number)
    return limits


class Counter(Protocol):
    def incr(self, key: str, window: int) -> int: ...


class MemoryCounter:
    """Counts of one process; expired windows are dropped as new ones start."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window: int | None = None
        self._lock = threading.Lock()

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            if window != self._window:
                self._counts = {k: v for k, v in self._counts.items()
                                if k.endswith(f":{window}")}
                self._window = window
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
            return count


class RedisCounter:
    """INCR and EXPIRE in one round trip; the key dies with its window."""

    def __init__(self, url: str, timeout: float = 0.25) -> None:
        import redis  # only when REDIS_URL is set

        self.client: Any = redis.Redis.from_url(url, socket_timeout=timeout,
                                                socket_connect_timeout=timeout,
                                                health_check_interval=30)

    def incr(self, key: str, window: int) -> int:
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS * 2, nx=True)
        count, _ = pipe.execute()
        return int(count)


class RateLimiter:
    """Checks keys against per-minute rules; shared through Redis when one is configured."""

    PREFIX = "authencode:rl"

    def __init__(self, limits: Mapping[str, int], redis_url: str | None = None, *,
                 clock: Callable[[], float] = time.time, retry_redis_after: float = 5.0,
                 redis_timeout: float = 0.25) -> None:
        self.limits = dict(limits)
        self.clock = clock
        self.local = MemoryCounter()
        self.shared: Counter | None = RedisCounter(redis_url, redis_timeout) if redis_url \
            else None
        self.retry_redis_after = retry_redis_after
        self._redis_down_until = 0.0
        self.redis_failures = 0

    def enabled(self, rule: str) -> bool:
        return self.limits.get(rule, 0) > 0

    def hit(self, rule: str, key: str) -> Decision:
        """Count one request of ``key`` under ``rule``; says whether it is within the limit."""
        limit = self.limits.get(rule, 0)
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        if limit <= 0:
            return Decision(True, 0, retry_after)
        digest = hashlib.sha256(f"{rule}\0{key}".encode()).hexdigest()[:24]
        count = self._incr(f"{self.PREFIX}:{rule}:{digest}:{window}", window, now)
        return Decision(count <= limit, count, retry_after)

    def check(self, rule: str, key: str) -> None:
        """Count one request; raises RateLimitedError (429 with Retry-After) over the limit."""
        decision = self.hit(rule, key)
        if not decision.allowed:
            raise RateLimitedError(decision.retry_after)

    @property
    def using_redis(self) -> bool:
        return self.shared is not None and self.clock() >= self._redis_down_until

    def _incr(self, key: str, window: int, now: float) -> int:
        if self.shared is not None and now >= self._redis_down_until:
            try:
                count = self.shared.incr(key, window)
            except Exception as exc:  # redis.ConnectionError, TimeoutError, …: count locally
                # Tried again only after a pause, so an outage costs one timeout, not one
                # per request.
                self.redis_failures += 1
                self._redis_down_until = now + self.retry_redis_after
                log.warning("Redis unavailable (%s): rate limits are local for %.0f s",
                            type(exc).__name__, self.retry_redis_after)
            else:
                if self._redis_down_until:
                    self._redis_down_until = 0.0
                    log.info("Redis reachable again: rate limits are shared")
                return count
        return self.local.incr(key, window)
