"""Typed settings, read once from the environment."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from authencode.crypto import KEY_ID_PATTERN, LEGACY_KEY_ID
from authencode.ratelimit import DEFAULT_LIMITS, parse_limits

DEFAULT_UPLOAD_BYTES_PER_DAY = 20_000_000

ENVIRONMENTS = ("production", "development", "test")
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
# Development without a LINE channel: the app's own LINE simulator (/dev/line) stands in for
# LINE, its built-in fake Messaging API under this path, with these well-known credentials.
DEV_LINE_API_PATH = "/dev/line/api"
DEV_LINE_CHANNEL_SECRET = "development-channel-secret"  # noqa: S105 - development only
DEV_LINE_ACCESS_TOKEN = "development-access-token"  # noqa: S105 - development only
# Development without ThaID: the app's own development OpenID provider (liff_web.dev_thaid)
# under this path stands in for ThaID, with these well-known client credentials.
DEV_THAID_PATH = "/dev/thaid"
DEV_THAID_CLIENT_ID = "dev-thaid-client"
DEV_THAID_CLIENT_SECRET = "development-thaid-secret"  # noqa: S105 - development only
DEFAULT_THAID_SCOPES = "openid pid"
DEFAULT_THAID_CID_CLAIM = "pid"
# The LINE official account's ID as patients type it to add it as a friend: "@" and 1-20 of
# a-z, 0-9, ".", "_", "-" (LINE's basic IDs such as @123abcde and premium IDs alike).
LINE_BASIC_ID_PATTERN = re.compile(r"@[a-z0-9._-]{1,20}")
# Development's placeholder (the simulator at /dev/line stands in for the real account).
DEV_LINE_BASIC_ID = "@authencode.demo"
LINE_ADD_FRIEND_URL = "https://line.me/R/ti/p/"


class SettingsError(Exception):
    """A required setting is missing or malformed; the message names it in one line."""


@dataclass(frozen=True)
class LoginPolicy:
    """Staff log-in: failures before delays, the delays, device cookies, sessions, reset links.

    An account and a device cookie each get ``free_failures`` wrong passwords, a client
    address ``address_free_failures``; every further failure holds that counter back for
    ``first_delay``, doubled each time up to ``max_delay``. Counts are forgotten after
    ``forget_after`` without a failure.
    """

    free_failures: int = 5
    address_free_failures: int = 30
    first_delay: dt.timedelta = dt.timedelta(minutes=1)
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    forget_after: dt.timedelta = dt.timedelta(hours=24)
    device_lifetime: dt.timedelta = dt.timedelta(days=180)
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    reset_ttl: dt.timedelta = dt.timedelta(minutes=30)

    def delay(self, failures: int, free: int) -> dt.timedelta | None:
        """How long a counter at ``failures`` (of which ``free`` cost nothing) is held back."""
        if failures < free:
            return None
        doubled = self.first_delay.total_seconds() * 2.0 ** min(failures - free, 64)
        return dt.timedelta(seconds=min(doubled, self.max_delay.total_seconds()))


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of data is kept once it has served its purpose (the README's
    "Retention" section gives each default's reason); authencode.services.retention purges."""

    visit_photos: dt.timedelta = dt.timedelta(days=365)  # after the visit
    staff_documents: dt.timedelta = dt.timedelta(days=30)  # after the account was approved
    webhook_events: dt.timedelta = dt.timedelta(days=7)  # after the event was received
    outbox_sent: dt.timedelta = dt.timedelta(days=30)  # after the message was delivered
    card_reads: dt.timedelta = dt.timedelta(days=7)  # after the card was read
    sessions: dt.timedelta = dt.timedelta(days=90)  # after a staff or agent session ended
    withdrawn_accounts: dt.timedelta = dt.timedelta(days=30)  # after consent was withdrawn
    batch_size: int = 500  # rows a purge transaction removes at most


@dataclass(frozen=True)
class Settings:
    environment: str = "production"
    database_url: str = ""
    secret_key: str = ""
    data_key: bytes = b""  # the legacy key (id "0"); b"" when only DATA_KEYS is set
    # DATA_KEYS: (id, key) pairs, the current key first; empty: DATA_KEY alone is the ring.
    data_keys: tuple[tuple[str, bytes], ...] = ()
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_base_url: str = "https://api.line.me"
    line_login_channel_id: str | None = None
    line_jwks_url: str = "https://api.line.me/oauth2/v2.1/certs"
    liff_id: str | None = None
    line_basic_id: str | None = None  # the official account's "@..." ID (add-friend link, poster)
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    redis_url: str | None = None
    smtp_url: str | None = None
    # requests a minute per rule (authencode.ratelimit); 0 turns a rule off
    rate_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    metrics_token: str | None = None  # /metrics from anywhere with this bearer token
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For is believed
    # registration documents stored per client IP a day (0: no cap)
    upload_bytes_per_day: int = DEFAULT_UPLOAD_BYTES_PER_DAY
    login: LoginPolicy = field(default_factory=LoginPolicy)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    # ThaID over OpenID Connect (authencode.services.thaid): off unless a client id and the
    # issuer are set; endpoints not set are taken from the issuer's discovery document.
    thaid_issuer: str | None = None
    thaid_authorize_url: str | None = None
    thaid_token_url: str | None = None
    thaid_jwks_url: str | None = None
    thaid_client_id: str | None = None
    thaid_client_secret: str | None = None
    thaid_scopes: str = DEFAULT_THAID_SCOPES
    thaid_cid_claim: str = DEFAULT_THAID_CID_CLAIM
    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    # main rights that may self-register in LINE ("NONE": no right on record); empty: the
    # default of authencode.services.registration
    eligible_main_rights: tuple[str, ...] = ()
    reader_agent_url: str | None = None  # None: the counter page's default
    kiosk_idle_seconds: int = 60  # a kiosk screen with no touch goes back to its start
    line_simulator: bool = False  # tests only: the LINE simulator outside development
    pg_bindir: Path | None = None  # where pg_dump/pg_restore are (None: Debian's, then PATH)

    @property
    def key_ring(self) -> tuple[tuple[str, bytes], ...]:
        """The data keys as DataProtector takes them: the current key first."""
        return self.data_keys or ((LEGACY_KEY_ID, self.data_key),)

    # tries of a webhook event whose handler keeps failing before it is dead-lettered
    line_event_max_attempts: int = 5
    # apply a delivery's events in the webhook's request after storing them (tests and a
    # one-process demo); otherwise only the workers apply them
    line_events_inline: bool = False

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def line_add_friend_url(self) -> str | None:
        """LINE's add-friend link of the official account (None without LINE_BASIC_ID)."""
        return LINE_ADD_FRIEND_URL + self.line_basic_id if self.line_basic_id else None

    @property
    def thaid_enabled(self) -> bool:
        """Whether ThaID is configured (a client id and the issuer)."""
        return bool(self.thaid_client_id and self.thaid_issuer)

    @property
    def thaid_dev_provider(self) -> bool:
        """Whether ThaID is the app's own development provider (development only)."""
        return (
            self.environment == "development"
            and self.thaid_issuer == self.public_base_url + DEV_THAID_PATH
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment; raise SettingsError naming a bad setting."""
        env = os.environ if environ is None else environ
        environment = (env.get("AUTHENCODE_ENV") or "production").strip().lower()
        if environment not in ENVIRONMENTS:
            raise SettingsError(
                f"AUTHENCODE_ENV must be one of {', '.join(ENVIRONMENTS)} (got {environment!r})"
            )
        instance_path = Path(env.get("AUTHENCODE_INSTANCE_PATH", "instance")).resolve()
        relaxed = environment != "production"
        dev_secrets = _DevSecrets(instance_path) if relaxed else None

        secret_key = env.get("SECRET_KEY", "").strip()
        if not secret_key:
            if dev_secrets is None:
                raise SettingsError("SECRET_KEY is required (a long random string)")
            secret_key = dev_secrets.get("SECRET_KEY", lambda: secrets.token_urlsafe(48))
        elif len(secret_key) < 16:
            raise SettingsError("SECRET_KEY is too short: use at least 16 random characters")
        elif not relaxed:
            check_production_secret_key(secret_key)

        data_keys = parse_data_keys(env.get("DATA_KEYS", ""))
        raw_key = env.get("DATA_KEY", "").strip()
        if not raw_key and not data_keys:
            if dev_secrets is None:
                raise SettingsError(
                    "DATA_KEY is required (base64 of 32 random bytes: `openssl rand -base64 32`)"
                )
            raw_key = dev_secrets.get(
                "DATA_KEY", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
            )
        data_key = parse_data_key(raw_key) if raw_key else b""
        data_keys = _with_legacy_key(data_keys, data_key)
        if not relaxed:
            for key_id, key in data_keys or ((LEGACY_KEY_ID, data_key),):
                check_production_data_key(key, key_id)

        database_url = env.get("DATABASE_URL", "").strip()
        if not database_url:
            database_url = f"sqlite:///{instance_path / 'authencode.sqlite3'}"
        database_url = normalise_database_url(database_url)

        public_base_url = env.get("PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL).strip().rstrip("/")
        if not public_base_url.startswith(("http://", "https://")):
            raise SettingsError("PUBLIC_BASE_URL must start with http:// or https://")
        if (
            not relaxed
            and public_base_url.startswith("http://")
            and not is_loopback_url(public_base_url)
        ):
            raise SettingsError(
                "PUBLIC_BASE_URL must be https:// in production (plain http:// "
                "only for a loopback host such as 127.0.0.1)"
            )
        development = environment == "development"
        default_line_api = (
            public_base_url + DEV_LINE_API_PATH if development else "https://api.line.me"
        )
        line_api_base_url = env.get("LINE_API_BASE_URL", default_line_api).strip().rstrip("/")
        if not line_api_base_url.startswith(("http://", "https://")):
            raise SettingsError("LINE_API_BASE_URL must start with http:// or https://")
        smtp_url = _optional(env, "SMTP_URL")
        if smtp_url and not smtp_url.startswith(("smtp://", "smtps://", "smtp+starttls://")):
            raise SettingsError(
                "SMTP_URL must look like smtp://host:port, smtp+starttls://"
                "user:pass@host:587 or smtps://user:pass@host"
            )

        try:
            rate_limits = parse_limits(_optional(env, "RATE_LIMITS"))
        except ValueError as exc:
            raise SettingsError(f"RATE_LIMITS: {exc}") from None
        metrics_token = _optional(env, "METRICS_TOKEN")
        if metrics_token is not None and len(metrics_token) < 16:
            raise SettingsError("METRICS_TOKEN is too short: use at least 16 random characters")
        upload_bytes = _optional(env, "UPLOAD_BYTES_PER_DAY") or str(DEFAULT_UPLOAD_BYTES_PER_DAY)
        if not upload_bytes.isdigit():
            raise SettingsError("UPLOAD_BYTES_PER_DAY must be a number of bytes (0: no cap)")
        proxies = _optional(env, "TRUSTED_PROXIES") or "0"
        if not proxies.isdigit() or int(proxies) > 5:
            raise SettingsError(
                "TRUSTED_PROXIES must be the number of reverse proxies in "
                "front of the server (0 to 5)"
            )

        attempts = _optional(env, "LINE_EVENT_MAX_ATTEMPTS") or "5"
        if not attempts.isdigit() or not 1 <= int(attempts) <= 100:
            raise SettingsError("LINE_EVENT_MAX_ATTEMPTS must be a number of tries (1 to 100)")
        inline = (_optional(env, "LINE_EVENTS_INLINE") or "0").lower()
        if inline not in ("0", "1", "true", "false"):
            raise SettingsError("LINE_EVENTS_INLINE must be 1 or 0")

        return cls(
            environment=environment,
            database_url=database_url,
            secret_key=secret_key,
            data_key=data_key,
            data_keys=data_keys,
            line_channel_secret=_optional(env, "LINE_CHANNEL_SECRET")
            or (DEV_LINE_CHANNEL_SECRET if development else None),
            line_channel_access_token=_optional(env, "LINE_CHANNEL_ACCESS_TOKEN")
            or (DEV_LINE_ACCESS_TOKEN if development else None),
            line_api_base_url=line_api_base_url,
            line_login_channel_id=_optional(env, "LINE_LOGIN_CHANNEL_ID"),
            line_jwks_url=env.get("LINE_JWKS_URL", "https://api.line.me/oauth2/v2.1/certs").strip(),
            liff_id=_optional(env, "LIFF_ID"),
            line_basic_id=_line_basic_id(env, development=development),
            public_base_url=public_base_url,
            redis_url=_optional(env, "REDIS_URL"),
            smtp_url=smtp_url,
            rate_limits=rate_limits,
            metrics_token=metrics_token,
            trusted_proxies=int(proxies),
            upload_bytes_per_day=int(upload_bytes),
            login=_login_policy(env),
            retention=_retention_policy(env),
            **_thaid(env, public_base_url, development=development, relaxed=relaxed),
            instance_path=instance_path,
            eligible_main_rights=_eligible_main_rights(env),
            reader_agent_url=_reader_agent_url(env),
            pg_bindir=Path(bindir) if (bindir := _optional(env, "PG_BINDIR")) else None,
            kiosk_idle_seconds=_kiosk_idle_seconds(env),
            line_event_max_attempts=int(attempts),
            line_events_inline=inline in ("1", "true"),
        )


def _line_basic_id(env: Mapping[str, str], *, development: bool) -> str | None:
    """LINE_BASIC_ID, lower-cased ("@" and a-z, 0-9, ".", "_", "-"); development's placeholder."""
    raw = _optional(env, "LINE_BASIC_ID")
    if raw is None:
        return DEV_LINE_BASIC_ID if development else None
    basic_id = raw.lower()
    if not (raw.isascii() and LINE_BASIC_ID_PATTERN.fullmatch(basic_id)):
        raise SettingsError(
            "LINE_BASIC_ID must be the official account's LINE ID: @ and 1-20 of a-z, 0-9, "
            "., _, - (e.g. @authencode)"
        )
    return basic_id


def _kiosk_idle_seconds(env: Mapping[str, str]) -> int:
    """KIOSK_IDLE_SECONDS: 15 to 600 seconds; 60 when not set."""
    raw = _optional(env, "KIOSK_IDLE_SECONDS") or "60"
    if not raw.isdigit() or not 15 <= int(raw) <= 600:
        raise SettingsError("KIOSK_IDLE_SECONDS must be a number of seconds from 15 to 600")
    return int(raw)


def _eligible_main_rights(env: Mapping[str, str]) -> tuple[str, ...]:
    """ELIGIBLE_MAIN_RIGHTS as upper-case right codes; () when not set."""
    rights = _optional(env, "ELIGIBLE_MAIN_RIGHTS")
    if rights is None:
        return ()
    codes = tuple(code.strip().upper() for code in rights.split(",") if code.strip())
    if not codes or not all(code.isalnum() and len(code) <= 8 for code in codes):
        raise SettingsError(
            "ELIGIBLE_MAIN_RIGHTS must be comma-separated right codes, e.g. UCS,WEL,DIS,NONE"
        )
    return codes


def _reader_agent_url(env: Mapping[str, str]) -> str | None:
    """READER_AGENT_URL without a trailing slash; None when not set."""
    agent_url = _optional(env, "READER_AGENT_URL")
    if agent_url is None:
        return None
    agent_url = agent_url.rstrip("/")
    if not re.fullmatch(r"https?://(\[::1\]|[A-Za-z0-9.-]+)(:\d{1,5})?", agent_url):
        raise SettingsError(
            "READER_AGENT_URL must be scheme://host:port with no path, e.g. http://127.0.0.1:8189"
        )
    return agent_url


_THAID_URLS = ("THAID_ISSUER", "THAID_AUTHORIZE_URL", "THAID_TOKEN_URL", "THAID_JWKS_URL")


def _thaid(
    env: Mapping[str, str], public_base_url: str, *, development: bool, relaxed: bool
) -> dict[str, Any]:
    """ThaID's settings; in development with none set, the built-in development provider."""
    names = (*_THAID_URLS, "THAID_CLIENT_ID", "THAID_CLIENT_SECRET")
    values = {name: _optional(env, name) for name in names}
    if development and not any(values.values()):
        values.update(
            THAID_ISSUER=public_base_url + DEV_THAID_PATH,
            THAID_CLIENT_ID=DEV_THAID_CLIENT_ID,
            THAID_CLIENT_SECRET=DEV_THAID_CLIENT_SECRET,
        )
    for name in _THAID_URLS:
        url = values[name]
        if url is None:
            continue
        if not url.startswith(("https://", "http://")):
            raise SettingsError(f"{name} must be an https:// URL")
        if not relaxed and url.startswith("http://") and not is_loopback_url(url):
            raise SettingsError(f"{name} must be https:// in production")
        values[name] = url.rstrip("/") if name == "THAID_ISSUER" else url
    if any(values.values()):
        if not values["THAID_CLIENT_ID"]:
            raise SettingsError("THAID_CLIENT_ID is required when ThaID is configured")
        if not values["THAID_ISSUER"]:
            raise SettingsError(
                "THAID_ISSUER is required when ThaID is configured (the `iss` "
                "its ID tokens carry; endpoints not set are discovered there)"
            )
    scopes = _optional(env, "THAID_SCOPES") or DEFAULT_THAID_SCOPES
    if "openid" not in scopes.split():
        raise SettingsError('THAID_SCOPES must include openid (e.g. "openid pid")')
    claim = _optional(env, "THAID_CID_CLAIM") or DEFAULT_THAID_CID_CLAIM
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", claim):
        raise SettingsError("THAID_CID_CLAIM must be a claim name such as pid")
    return {
        "thaid_issuer": values["THAID_ISSUER"],
        "thaid_authorize_url": values["THAID_AUTHORIZE_URL"],
        "thaid_token_url": values["THAID_TOKEN_URL"],
        "thaid_jwks_url": values["THAID_JWKS_URL"],
        "thaid_client_id": values["THAID_CLIENT_ID"],
        "thaid_client_secret": values["THAID_CLIENT_SECRET"],
        "thaid_scopes": " ".join(scopes.split()),
        "thaid_cid_claim": claim,
    }


# Log-in policy variables: (name, LoginPolicy field, unit, smallest allowed value).
_LOGIN_VARIABLES = (
    ("LOGIN_FREE_FAILURES", "free_failures", None, 1),
    ("LOGIN_ADDRESS_FREE_FAILURES", "address_free_failures", None, 1),
    ("LOGIN_DELAY_SECONDS", "first_delay", dt.timedelta(seconds=1), 1),
    ("LOGIN_MAX_DELAY_MINUTES", "max_delay", dt.timedelta(minutes=1), 1),
    ("LOGIN_FORGET_HOURS", "forget_after", dt.timedelta(hours=1), 1),
    ("LOGIN_DEVICE_DAYS", "device_lifetime", dt.timedelta(days=1), 1),
    ("SESSION_IDLE_MINUTES", "idle_timeout", dt.timedelta(minutes=1), 1),
    ("PASSWORD_RESET_MINUTES", "reset_ttl", dt.timedelta(minutes=1), 5),
)


def _login_policy(env: Mapping[str, str]) -> LoginPolicy:
    """The log-in policy: whole numbers from the environment over LoginPolicy's defaults."""
    policy = LoginPolicy(**_whole_numbers(env, _LOGIN_VARIABLES))
    if policy.max_delay < policy.first_delay:
        raise SettingsError("LOGIN_MAX_DELAY_MINUTES must not be shorter than LOGIN_DELAY_SECONDS")
    return policy


# Retention variables, in days. Webhook events are kept at least 2 days, past the time LINE
# may redeliver an event (which the stored id turns into a no-op).
_RETENTION_VARIABLES = (
    ("RETENTION_PHOTO_DAYS", "visit_photos", dt.timedelta(days=1), 1),
    ("RETENTION_STAFF_DOCUMENT_DAYS", "staff_documents", dt.timedelta(days=1), 1),
    ("RETENTION_WEBHOOK_EVENT_DAYS", "webhook_events", dt.timedelta(days=1), 2),
    ("RETENTION_OUTBOX_DAYS", "outbox_sent", dt.timedelta(days=1), 1),
    ("RETENTION_CARD_READ_DAYS", "card_reads", dt.timedelta(days=1), 1),
    ("RETENTION_SESSION_DAYS", "sessions", dt.timedelta(days=1), 1),
    ("RETENTION_WITHDRAWN_DAYS", "withdrawn_accounts", dt.timedelta(days=1), 1),
    ("RETENTION_BATCH_SIZE", "batch_size", None, 1),
)


def _retention_policy(env: Mapping[str, str]) -> RetentionPolicy:
    """The retention periods: whole numbers of days over RetentionPolicy's defaults."""
    return RetentionPolicy(**_whole_numbers(env, _RETENTION_VARIABLES))


def _whole_numbers(
    env: Mapping[str, str], variables: tuple[tuple[str, str, dt.timedelta | None, int], ...]
) -> dict[str, Any]:
    """The variables set in the environment, each a whole number (times its unit, if any)."""
    values: dict[str, Any] = {}
    for name, attribute, unit, least in variables:
        raw = _optional(env, name)
        if raw is None:
            continue
        if not (raw.isascii() and raw.isdigit() and least <= int(raw) <= 999_999):
            raise SettingsError(
                f"{name} must be a whole number from {least} to 999999 (got {raw!r})"
            )
        values[attribute] = int(raw) if unit is None else unit * int(raw)
    return values


def parse_data_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError("DATA_KEY must be base64 (of 32 random bytes)") from None
    if len(key) != 32:
        raise SettingsError(f"DATA_KEY must decode to 32 bytes (it decodes to {len(key)})")
    return key


def parse_data_keys(raw: str) -> tuple[tuple[str, bytes], ...]:
    """DATA_KEYS: ``id:base64,id:base64``, the current key first; raises SettingsError."""
    keys: list[tuple[str, bytes]] = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID_PATTERN.fullmatch(key_id):
            raise SettingsError(
                "DATA_KEYS must be id:base64 entries separated by commas (an id is 1-12 "
                "letters, digits, - or _), the current key first"
            )
        if any(key_id == known for known, _ in keys):
            raise SettingsError(f"DATA_KEYS names key {key_id!r} twice")
        try:
            keys.append((key_id, parse_data_key(encoded.strip())))
        except SettingsError as exc:
            raise SettingsError(f"DATA_KEYS key {key_id!r}: {exc}") from None
    return tuple(keys)


def _with_legacy_key(
    keys: tuple[tuple[str, bytes], ...], legacy: bytes
) -> tuple[tuple[str, bytes], ...]:
    """DATA_KEY joins a DATA_KEYS ring as key "0" (it made the rows that name no key)."""
    if not keys or not legacy:
        return keys
    listed = dict(keys).get(LEGACY_KEY_ID)
    if listed is None:
        return (*keys, (LEGACY_KEY_ID, legacy))
    if listed != legacy:
        raise SettingsError('DATA_KEY and the key "0" of DATA_KEYS differ: key "0" is DATA_KEY')
    return keys


# Production keys. SECRET_KEY: at least 32 characters, at least 10 different characters, no
# character making up more than a quarter of the key, and not a shorter string repeated; what
# `python -c 'import secrets; print(secrets.token_hex())'` prints always passes. DATA_KEY:
# at least 16 different byte values among its 32 (32 random bytes have about 30).
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT = 10
MIN_DATA_KEY_DISTINCT = 16


def check_production_secret_key(key: str) -> None:
    """Raise SettingsError if SECRET_KEY is too short or visibly not random."""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(
            f"SECRET_KEY is too short for production: use at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters"
        )
    commonest = max(key.count(c) for c in set(key))
    if (
        len(set(key)) < MIN_SECRET_KEY_DISTINCT
        or commonest * 4 > len(key)
        or key in (key + key)[1:-1]
    ):  # the last: a shorter string repeated
        raise SettingsError(
            "SECRET_KEY looks not random (too few different characters or a "
            "repeated pattern): use `python -c 'import secrets; "
            "print(secrets.token_hex())'`"
        )


def check_production_data_key(key: bytes, key_id: str = LEGACY_KEY_ID) -> None:
    """Raise SettingsError if a data key has too few different byte values to be random."""
    if len(set(key)) < MIN_DATA_KEY_DISTINCT:
        name = "DATA_KEY" if key_id == LEGACY_KEY_ID else f"DATA_KEYS key {key_id!r}"
        raise SettingsError(
            f"{name} looks not random ({len(set(key))} different byte values "
            f"of 32): use `openssl rand -base64 32`"
        )


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is localhost or a loopback address (127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_database_url(url: str) -> str:
    """Accept the URLs platforms hand out and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("sqlite:", "postgresql+")):
        raise SettingsError("DATABASE_URL must be a postgresql:// or sqlite:/// URL")
    return url


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


class _DevSecrets:
    """Random development secrets kept in instance/ so demo data stays readable across runs."""

    def __init__(self, instance_path: Path) -> None:
        self.path = instance_path / "dev-secrets.json"

    def get(self, name: str, make: Any) -> str:
        data: dict[str, str] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text())
        if name not in data:
            data[name] = make()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(data))
            self.path.chmod(0o600)
        return data[name]
