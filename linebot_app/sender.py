"""The outbox sender: delivers queued replies and pushes with the real LINE SDK.

Rows are claimed with a lease (``next_attempt_at`` moved into the future, attempts counted)
in one short transaction, sent outside any transaction, and settled in another. A worker
that dies mid-send leaves the row to be claimed again when the lease ends; a push carries
the row's ``X-Line-Retry-Key`` every time, so LINE accepts it once and answers 409 after.

A row marked ``sync_rich_menu`` first links the member rich menu to the user (found by its
alias, so a re-deploy changes nothing here) or unlinks it, according to the account's consent
at sending time; linking is idempotent, so a retried row simply links again.

A reply has no retry key, and LINE refuses a reply token once used or once expired (LINE
promises a minute from the event); its refusal ("Invalid reply token") does not say which.
Each reply is marked "in doubt" just before it goes, so a worker that dies while sending
leaves that mark; an answer that timed out or a connection broken after the request went out
leaves it too. When LINE then refuses the token of a reply in doubt:

- while the token is surely still alive (``REPLY_TOKEN_SURE`` after the event, a margin
  inside LINE's minute), the refusal can only mean the earlier attempt used it: the reply
  was delivered, and nothing more is sent;
- after that, the refusal proves nothing (the worker may have died before the reply left,
  and the token expired since): the message is pushed, with the row's retry key, counted in
  /metrics (``authencode_line_push_fallbacks_total``). Should the earlier reply have reached
  LINE after all, the person sees the answer twice: a duplicate answer was chosen over a
  lost one (a code the person never receives). The short lease (``SendPolicy.lease``, 20 s)
  keeps a killed worker's replies inside the first case nearly always.

A refused reply never attempted before falls back to a push the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
)
from sqlalchemy import Table, bindparam, select, update

from authencode.db import Database, utcnow
from authencode.models import LineAccount, OutboxMessage
from authencode.services import consent
from authencode.services.inbox import PUSH_FALLBACKS, bump
from authencode.services.outbox import lease_due
from authencode.settings import Settings
from linebot_app.outbox import REPLY_ISSUED_AT, SYNC_RICH_MENU
from linebot_app.richmenu import ALIASES, MEMBER

log = logging.getLogger(__name__)

_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
IN_DOUBT = "in doubt: "  # last_error prefix: an earlier reply attempt may have reached LINE
# A reply token refused this soon after its event was surely used, not expired (LINE keeps a
# token valid for a minute; the margin covers the clocks' difference).
REPLY_TOKEN_SURE = dt.timedelta(seconds=50)


@dataclass(frozen=True)
class SendPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_attempts: int = 10
    base_delay: float = 2.0  # seconds; doubled after each failed attempt
    max_delay: float = 15 * 60.0
    lease: float = 20.0  # a claimed row is retried after this if its worker vanished
    concurrency: int = 8  # messages of one batch on their way to LINE at once

    def backoff(self, attempts: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    recipient: str
    reply_token: str | None
    messages: list[dict[str, Any]]
    retry_key: str
    attempts: int
    sync_rich_menu: bool = False
    in_doubt: bool = False  # an earlier attempt (a reply) may already have been delivered
    active: bool = True  # the recipient still follows the account (or is unknown to us)
    member: bool = False  # consented: the member rich menu is theirs
    token_at: dt.datetime | None = None  # when LINE issued the reply token (or the row's time)


@dataclass
class Outcome:
    status: str  # "sent", "retry" or "failed"
    error: str | None = None
    retry_after: float | None = None
    fell_back_to_push: bool = False
    in_doubt: bool = False  # the request may have reached LINE although no answer came


class _Retryable(Exception):
    def __init__(
        self, error: str, retry_after: float | None = None, in_doubt: bool = False
    ) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after
        self.in_doubt = in_doubt


class OutboxSender:
    """Claims due outbox rows and sends them; safe to run as several workers at once."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        policy: SendPolicy | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        if not settings.line_channel_access_token:
            raise ValueError("LINE_CHANNEL_ACCESS_TOKEN is required to send LINE messages")
        self.db = db
        self.policy = policy or SendPolicy()
        self.clock = clock
        self.configuration = Configuration(
            host=settings.line_api_base_url, access_token=settings.line_channel_access_token
        )
        # Retries are ours (with the retry key and back-off), not urllib3's.
        self.configuration.retries = False
        self.configuration.connection_pool_maxsize = max(1, self.policy.concurrency)
        self._client: ApiClient | None = None
        self._executor: ThreadPoolExecutor | None = None

    def run_once(self, limit: int = 50) -> int:
        """Send what is due now; returns how many rows were attempted.

        One transaction leases the batch (and reads each recipient's account), the messages
        go out over ``policy.concurrency`` connections at once, and one transaction records
        every outcome: the database sees three round trips per batch, not per message.
        """
        claimed = self.claim(limit)
        if not claimed:
            return 0
        api = self._api()
        if len(claimed) == 1 or self.policy.concurrency <= 1:
            outcomes = [self._deliver(api, row) for row in claimed]
        else:
            outcomes = list(self._pool().map(lambda row: self._deliver(api, row), claimed))
        self._settle(claimed, outcomes)
        return len(claimed)

    def close(self) -> None:
        """Release the HTTP connections and the sending threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._client is not None:
            self._client.rest_client.pool_manager.clear()
            self._client = None

    def _api(self) -> MessagingApi:
        # Kept between batches: connections to LINE stay open (TLS set up once).
        if self._client is None:
            self._client = ApiClient(self.configuration)
        return MessagingApi(self._client)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.policy.concurrency, thread_name_prefix="outbox-send"
            )
        return self._executor

    def claim(self, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due LINE rows (``lease_due``) and read their recipients'
        accounts; the replies are marked "in doubt" before they go: should this worker die
        while one is on its way, the next attempt knows the token may already be used.
        """
        now = self.clock()
        lease = dt.timedelta(seconds=self.policy.lease)
        with self.db.transaction() as session:
            rows = lease_due(session, ("reply", "push"), now, lease, limit)
            if not rows:
                return []
            conn = session.connection()
            accounts = {
                a.line_user_id: a
                for a in conn.execute(
                    _ACCOUNTS_OF, {"users": sorted({row.recipient for row in rows})}
                )
            }
            claimed = []
            for row in rows:
                account = accounts.get(row.recipient)
                active = account is None or account.status == "active"
                claimed.append(
                    Claimed(
                        row.id,
                        row.kind,
                        row.recipient,
                        row.reply_token,
                        list(row.payload["messages"]),
                        row.retry_key,
                        row.attempts,
                        bool(row.payload.get(SYNC_RICH_MENU)),
                        (row.last_error or "").startswith(IN_DOUBT),
                        active=active,
                        member=account is not None and consent.is_current(account.consent_version),
                        token_at=_token_issued(row.payload, row.created_at),
                    )
                )
            replies = [c.id for c in claimed if c.kind == "reply" and c.reply_token and c.active]
            if replies:
                conn.execute(_MARK_IN_DOUBT, {"ids": replies})
            return claimed

    def _deliver(self, api: MessagingApi, row: Claimed) -> Outcome:
        """Send one claimed row; no database work here (it runs on the sending threads)."""
        if not row.active:
            return Outcome("failed", "recipient unfollowed the account")
        replying = row.kind == "reply" and bool(row.reply_token)
        try:
            if row.sync_rich_menu:
                try:
                    self._sync_rich_menu(api, row, row.member)
                except _Retryable as exc:  # the message itself was not sent yet
                    return Outcome("retry", exc.error, exc.retry_after)
            if replying:
                try:
                    self._reply(api, row)
                    return Outcome("sent")
                except ApiException as exc:
                    if exc.status != 400 or "reply token" not in _error_text(exc).lower():
                        raise
                    if row.in_doubt and self._token_surely_alive(row):
                        log.info(
                            "outbox %s: reply token already used by an earlier attempt", row.id
                        )
                        return Outcome("sent")
                    log.info(
                        "outbox %s: reply token rejected%s, falling back to push",
                        row.id,
                        " after an attempt of unknown outcome" if row.in_doubt else "",
                    )
                self._push(api, row)
                return Outcome("sent", fell_back_to_push=True)
            self._push(api, row)
            return Outcome("sent")
        except _Retryable as exc:
            return Outcome("retry", exc.error, exc.retry_after, in_doubt=exc.in_doubt)
        except ApiException as exc:
            return Outcome("failed", f"HTTP {exc.status}: {_error_text(exc)}"[:500])

    def _token_surely_alive(self, row: Claimed) -> bool:
        return row.token_at is not None and self.clock() - row.token_at < REPLY_TOKEN_SURE

    def _sync_rich_menu(self, api: MessagingApi, row: Claimed, member: bool) -> None:
        """Link the member menu (or unlink, back to the default); a 4xx is logged, not fatal."""
        user = row.recipient
        try:
            if member:
                alias = ALIASES[MEMBER]
                found: list[str] = []
                _call(
                    lambda: found.append(
                        api.get_rich_menu_alias(
                            alias, _request_timeout=self._timeout()
                        ).rich_menu_id
                    )
                )
                _call(
                    lambda: api.link_rich_menu_id_to_user(
                        user, found[0], _request_timeout=self._timeout()
                    )
                )
            else:
                _call(
                    lambda: api.unlink_rich_menu_id_from_user(
                        user, _request_timeout=self._timeout()
                    )
                )
        except ApiException as exc:
            # No menus deployed yet (alias 404), or LINE refused the link: the message still
            # goes out; the user keeps the menu they have.
            log.warning("outbox %s: rich menu not switched (HTTP %s)", row.id, exc.status)

    def _timeout(self) -> tuple[float, float]:
        return (self.policy.connect_timeout, self.policy.read_timeout)

    def _reply(self, api: MessagingApi, row: Claimed) -> None:
        self._post(
            api, "/v2/bot/message/reply", {"replyToken": row.reply_token, "messages": row.messages}
        )

    def _push(self, api: MessagingApi, row: Claimed) -> None:
        try:
            self._post(
                api,
                "/v2/bot/message/push",
                {"to": row.recipient, "messages": row.messages},
                {"X-Line-Retry-Key": row.retry_key},
            )
        except ApiException as exc:
            if exc.status == 409:
                return  # LINE already accepted this retry key: delivered once, by an earlier try
            raise

    def _post(
        self,
        api: MessagingApi,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        """POST stored LINE JSON through the SDK's client (host, token, errors as ApiException).

        The messages were built with the SDK's models (or checked against them, for Flex)
        when they were queued, so they are not turned into models and back again here, and
        LINE's answer (message ids) is not parsed: a code's Flex message costs the sender
        about 6 ms of CPU that way, and a fraction of it sent as it is.
        """
        _call(
            lambda: api.api_client.call_api(
                path,
                "POST",
                header_params={**_JSON_HEADERS, **(headers or {})},
                body=body,
                response_types_map={},
                auth_settings=["Bearer"],
                _request_timeout=self._timeout(),
            )
        )

    def _settle(self, claimed: list[Claimed], outcomes: list[Outcome]) -> None:
        """Record every outcome in one statement run for all rows (rows no longer pending,
        settled meanwhile by someone else, are left as they are)."""
        now = self.clock()
        changes = [
            _settled(row, outcome, now, self.policy)
            for row, outcome in zip(claimed, outcomes, strict=True)
        ]
        fallbacks = sum(1 for outcome in outcomes if outcome.fell_back_to_push)
        with self.db.transaction() as session:
            session.connection().execute(_SETTLE, changes)
            if fallbacks:
                bump(session.connection(), PUSH_FALLBACKS, fallbacks)
        for row, change in zip(claimed, changes, strict=True):
            log.info(
                "outbox %s (%s) attempt %d: %s",
                row.id,
                row.kind,
                row.attempts,
                change["status"] if change["status"] != "pending" else "retry later",
            )


_OUTBOX = cast(Table, OutboxMessage.__table__)
_ACCOUNTS = cast(Table, LineAccount.__table__)
_ACCOUNTS_OF = select(
    _ACCOUNTS.c.line_user_id, _ACCOUNTS.c.status, _ACCOUNTS.c.consent_version
).where(_ACCOUNTS.c.line_user_id.in_(bindparam("users", expanding=True)))
_MARK_IN_DOUBT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_error=IN_DOUBT + "sending")
)
_SETTLE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.status == "pending")
    .values(
        {
            name: bindparam(name)
            for name in (
                "kind",
                "reply_token",
                "status",
                "sent_at",
                "last_error",
                "next_attempt_at",
            )
        }
    )
)


def _settled(
    row: Claimed, outcome: Outcome, now: dt.datetime, policy: SendPolicy
) -> dict[str, Any]:
    """The row's new state after this attempt: sent, failed for good, or due again later."""
    kind, reply_token = row.kind, row.reply_token
    if outcome.fell_back_to_push:
        kind, reply_token = "push", None
    change: dict[str, Any] = {
        "row_id": row.id,
        "kind": kind,
        "reply_token": reply_token,
        "sent_at": None,
        "next_attempt_at": now,
    }
    if outcome.status == "sent":
        return {**change, "status": "sent", "sent_at": now, "last_error": None}
    error = outcome.error
    if kind == "reply" and (row.in_doubt or outcome.in_doubt):
        error = IN_DOUBT + (outcome.error or "")  # stays in doubt until settled
    if outcome.status == "failed" or row.attempts >= policy.max_attempts:
        return {**change, "status": "failed", "last_error": error}
    delay = policy.backoff(row.attempts)
    if outcome.retry_after is not None:
        delay = min(policy.max_delay, max(delay, outcome.retry_after))
    return {
        **change,
        "status": "pending",
        "last_error": error,
        "next_attempt_at": now + dt.timedelta(seconds=delay),
    }


def _token_issued(payload: dict[str, Any], created_at: dt.datetime | None) -> dt.datetime | None:
    """When LINE issued a row's reply token: the event's timestamp the row was queued with,
    else (a row queued without it) when the row was written, after the event."""
    issued = payload.get(REPLY_ISSUED_AT)
    if type(issued) is int:
        return dt.datetime.fromtimestamp(issued / 1000, dt.UTC)
    return created_at


def _call(send: Callable[[], Any]) -> None:
    """Run one API call; timeouts, connection errors, 5xx and 429 become _Retryable."""
    try:
        send()
    except ApiException as exc:
        if exc.status == 429 or (exc.status or 0) >= 500:
            raise _Retryable(f"HTTP {exc.status}", _retry_after(exc)) from None
        raise
    except urllib3.exceptions.HTTPError as exc:
        # Only a connection never made surely did not reach LINE; a read timeout or a
        # connection dropped after sending may have delivered the request.
        sent = not isinstance(exc, urllib3.exceptions.ConnectTimeoutError)
        raise _Retryable(f"network: {type(exc).__name__}", in_doubt=sent) from None


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_text(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        message = json.loads(body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or exc.reason or "")
