"""LIFF ID tokens: ES256 signatures checked against LINE's JWKS, cached, refreshed on a new kid.

Only ES256 is accepted (never `none`, never HS256 "signed" with a public key); `iss` must be
https://access.line.me, `aud` the LINE Login channel id (one string: a list holding it is
refused), and `exp` in the future. The LINE user is the token's `sub` and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from authencode.errors import DomainError, register

log = logging.getLogger(__name__)

LINE_ISSUER = "https://access.line.me"
ALGORITHM = "ES256"
MAX_TOKEN_LENGTH = 8192
MAX_JWKS_BYTES = 256 * 1024
CLOCK_SKEW_SECONDS = 30

LIFF_TOKEN_MISSING = register(
    "LIFF_TOKEN_MISSING", "unauthorized", "Please sign in with LINE.", "กรุณาเข้าสู่ระบบด้วย LINE"
)
LIFF_TOKEN_INVALID = register(
    "LIFF_TOKEN_INVALID",
    "unauthorized",
    "The LINE sign-in could not be verified. Please open this page from LINE again.",
    "ไม่สามารถยืนยันการเข้าสู่ระบบด้วย LINE ได้ กรุณาเปิดหน้านี้จาก LINE อีกครั้ง",
)
LIFF_TOKEN_EXPIRED = register(
    "LIFF_TOKEN_EXPIRED",
    "unauthorized",
    "Your LINE sign-in has expired. Please open this page from LINE again.",
    "การเข้าสู่ระบบด้วย LINE หมดอายุแล้ว กรุณาเปิดหน้านี้จาก LINE อีกครั้ง",
)
LIFF_NOT_CONFIGURED = register(
    "LIFF_NOT_CONFIGURED",
    "unavailable",
    "Sign-in with LINE is not configured on this server.",
    "ระบบยังไม่ได้ตั้งค่าการเข้าสู่ระบบด้วย LINE",
)
LIFF_KEYS_UNAVAILABLE = register(
    "LIFF_KEYS_UNAVAILABLE",
    "unavailable",
    "The LINE sign-in cannot be checked right now. Please try again shortly.",
    "ไม่สามารถตรวจสอบการเข้าสู่ระบบด้วย LINE ได้ในขณะนี้ กรุณาลองใหม่อีกครั้ง",
)


class KeysUnavailable(Exception):
    """The JWKS could not be fetched or read."""


class KeySource(Protocol):
    def key(self, kid: str) -> jwt.PyJWK | None: ...


def parse_jwks(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The usable ES256 (EC P-256) keys of a JWKS document, by kid; others are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise KeysUnavailable("JWKS has no keys list")
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            continue
        if entry.get("alg", ALGORITHM) != ALGORITHM or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWKError:
            log.warning("skipping an unreadable JWKS key (kid %s)", kid[:32])
    return keys


def fetch_jwks(url: str, timeout: float = 5.0) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise KeysUnavailable("JWKS URL must be http(s)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_JWKS_BYTES + 1)
    except OSError as exc:
        raise KeysUnavailable(f"JWKS fetch failed: {type(exc).__name__}") from None
    if len(body) > MAX_JWKS_BYTES:
        raise KeysUnavailable("JWKS document too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise KeysUnavailable("JWKS is not JSON") from None
    if not isinstance(document, dict):
        raise KeysUnavailable("JWKS is not a JSON object")
    return document


class JwksCache:
    """LINE's signing keys, fetched on first use, kept for max_age, refetched on a new kid.

    A kid nobody knows triggers at most one refetch per min_refresh_interval, so a stream
    of made-up kids cannot turn into a stream of requests to LINE.
    """

    def __init__(
        self,
        url: str,
        *,
        max_age: float = 24 * 3600,
        min_refresh_interval: float = 10,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str, float], dict[str, Any]] = fetch_jwks,
    ) -> None:
        self.url = url
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._clock = clock
        self._fetch = fetch
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        self._keys = parse_jwks(self._fetch(self.url, self.timeout))
        self._fetched_at = self._clock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            age = None if self._fetched_at is None else self._clock() - self._fetched_at
            stale = age is None or age > self.max_age
            unknown = kid not in self._keys and (age is None or age >= self.min_refresh_interval)
            if stale or unknown:
                self._refresh()
            return self._keys.get(kid)


class StaticKeys:
    """Keys given in-process (the development signer's own JWKS)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(document)

    def key(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)


@dataclass(frozen=True)
class LineUser:
    user_id: str
    name: str | None = None


class IdTokenVerifier:
    """Checks a LIFF ID token and returns the LINE user it was issued to.

    A LIFF page sends the same ID token with every call until it expires, so a token that
    passed every check is remembered (by its SHA-256, at most ``remember`` of them) until its
    ``exp``: the next call skips the ES256 verification, never the expiry.
    """

    def __init__(
        self,
        keys: KeySource | None,
        audience: str | None,
        issuer: str = LINE_ISSUER,
        leeway: int = CLOCK_SKEW_SECONDS,
        remember: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
        self.remember = remember
        self._clock = clock
        self._verified: OrderedDict[bytes, tuple[LineUser, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify_header(self, authorization: str | None) -> LineUser:
        """Verify `Authorization: Bearer <ID token>`; raises a LIFF_* refusal."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise DomainError(LIFF_TOKEN_MISSING)
        return self.verify(token.strip())

    def verify(self, token: str) -> LineUser:
        if self.keys is None or not self.audience:
            raise DomainError(LIFF_NOT_CONFIGURED)
        if len(token) > MAX_TOKEN_LENGTH:
            raise DomainError(LIFF_TOKEN_INVALID)
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            known = self._verified.get(digest)
            if known is not None:
                self._verified.move_to_end(digest)
        if known is not None:
            user, expires = known
            if self._clock() <= expires + self.leeway:
                return user
            raise DomainError(LIFF_TOKEN_EXPIRED)
        user, expires = self._check(token)
        with self._lock:
            self._verified[digest] = (user, expires)
            while len(self._verified) > self.remember:
                self._verified.popitem(last=False)
        return user

    def _check(self, token: str) -> tuple[LineUser, float]:
        """Every check of the token; its user and expiry (Unix seconds)."""
        if self.keys is None:
            raise DomainError(LIFF_NOT_CONFIGURED)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise DomainError(LIFF_TOKEN_INVALID) from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
            log.info("LIFF token refused: alg %r", str(header.get("alg"))[:16])
            raise DomainError(LIFF_TOKEN_INVALID)
        try:
            key = self.keys.key(kid)
        except KeysUnavailable as exc:
            log.warning("LINE JWKS unavailable: %s", exc)
            raise DomainError(LIFF_KEYS_UNAVAILABLE) from None
        if key is None:
            log.info("LIFF token refused: unknown kid")
            raise DomainError(LIFF_TOKEN_INVALID)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                # strict_aud: `aud` must be our channel id itself, not a list holding it.
                options={"require": ["exp", "iat", "iss", "aud", "sub"], "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise DomainError(LIFF_TOKEN_EXPIRED) from None
        except jwt.PyJWTError as exc:
            log.info("LIFF token refused: %s", type(exc).__name__)
            raise DomainError(LIFF_TOKEN_INVALID) from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 64:
            raise DomainError(LIFF_TOKEN_INVALID)
        name = claims.get("name")
        return (
            LineUser(user_id=sub, name=name if isinstance(name, str) else None),
            float(claims["exp"]),
        )
