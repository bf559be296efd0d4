"""Every column the data keys make, and re-keying them to the current key while the service runs.

``REGISTRY`` lists each ciphertext and lookup-hash column with the context or purpose it was
made with; ``UNKEYED`` lists the hash-like columns no data key makes (plain SHA-256 of random
tokens, password hashes, the audit chain). tests/authencode/test_data_keys.py walks the
models and fails for a binary, ``*_enc`` or ``*_hash`` column in neither, so a new column
cannot be forgotten by the rotation.

A column is one of:

- ``Sealed``: a ciphertext, re-encrypted under the current key;
- ``Hashed``: a lookup hash of the plaintext of a ``Sealed`` column of the same row,
  re-computed from it;
- ``OneWay``: a lookup hash whose plaintext is kept nowhere (a counter code, a ThaID state,
  a card read). It cannot be re-computed; it stays valid (lookups match every key's hash)
  until it expires, and ``live`` says which rows can still be looked up. A key is retired
  once no live row needs it.

Re-keying walks each table by id in short transactions. It selects only rows not yet under
the current key (so a resumed run skips finished work), locks them (PostgreSQL), and writes
each row with an UPDATE conditional on the values it read: a row another transaction
changed meanwhile is left as that transaction wrote it (its new values are under the
current key already, or the next run picks it up).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    MetaData,
    Row,
    Select,
    Table,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.crypto import (
    LEGACY_KEY_ID,
    DataProtector,
    DecryptionError,
    ciphertext_prefix,
    hash_prefix,
    key_of_ciphertext,
    key_of_hash,
)
from authencode.db import Base, Database, utcnow
from authencode.models import OutboxMessage
from authencode.services import (
    agent,
    audit,
    conversations,
    counter_verify,
    inbox,
    mail,
    qr_tokens,
    staff_accounts,
    thaid,
    visits,
)

Context = str | Callable[[Row[Any]], str]
Live = Callable[[Table, dt.datetime], ColumnElement[bool]]


@dataclass(frozen=True)
class Sealed:
    column: str
    context: Context


@dataclass(frozen=True)
class Hashed:
    column: str
    purpose: str
    source: str  # the Sealed column of the same row whose plaintext this hashes


@dataclass(frozen=True)
class OneWay:
    column: str
    purpose: str
    live: Live  # rows that can still be looked up (the others are history)


Spec = Sealed | Hashed | OneWay
RowId = int | str  # a table's primary key; None below: from the first row


@dataclass
class Batch:
    """What one transaction of re-keying did."""

    last_id: RowId | None  # None: the table is finished
    rekeyed: int = 0
    skipped: int = 0  # changed by another transaction meanwhile (left as it wrote them)
    # Rows that could not be re-keyed and why: a ciphertext under a key not configured, or a
    # new hash that another row already has (a person added twice under two keys).
    failed: list[str] = field(default_factory=list)


class Rekeyable(Protocol):
    """A REGISTRY entry: one table's columns, or values kept inside another column."""

    @property
    def name(self) -> str: ...

    def columns(self) -> list[tuple[str, str]]: ...

    def census(self, session: Session, key_ids: Sequence[str]) -> list[Census]: ...

    def pending(self, session: Session, current: str) -> int: ...

    def rekey(
        self, session: Session, protector: DataProtector, after_id: RowId | None, limit: int
    ) -> Batch: ...

    def unreadable(self, session: Session, protector: DataProtector) -> list[str]: ...


@dataclass(frozen=True)
class Census:
    """How many values of one column each key made."""

    column: str
    kind: str
    by_key: dict[str, int]
    other: int  # under keys not asked about
    live_by_key: dict[str, int] | None = None  # OneWay: those still looked up

    def needing(self, key_id: str) -> int:
        """Rows that still need ``key_id`` (for a one-way hash: the live ones)."""
        counts = self.live_by_key if self.live_by_key is not None else self.by_key
        return counts.get(key_id, 0)


def _under(table: Table, spec: Spec, key_id: str) -> ColumnElement[bool]:
    column = table.c[spec.column]
    if isinstance(spec, Sealed):
        prefix = ciphertext_prefix(key_id)
        return func.substr(column, 1, len(prefix)) == literal(prefix, LargeBinary())
    if key_id == LEGACY_KEY_ID:
        return ~column.contains(":")
    text_prefix = hash_prefix(key_id)
    return func.substr(column, 1, len(text_prefix)) == text_prefix


def _rewritable(specs: Iterable[Spec]) -> list[Sealed | Hashed]:
    return [s for s in specs if not isinstance(s, OneWay)]


@dataclass(frozen=True)
class TableEntry:
    """The data-key columns of one table, walked in the order of its primary key ``key``."""

    name: str
    specs: tuple[Spec, ...]
    context_columns: tuple[str, ...] = ()  # what a context function reads from the row
    key: str = "id"

    @property
    def table(self) -> Table:
        return Base.metadata.tables[self.name]

    def columns(self) -> list[tuple[str, str]]:
        return [(self.name, s.column) for s in self.specs]

    def _stale(self, current: str) -> ColumnElement[bool]:
        table = self.table
        stale = [
            and_(table.c[s.column].is_not(None), ~_under(table, s, current))
            for s in _rewritable(self.specs)
        ]
        return or_(*stale) if stale else false()

    def census(self, session: Session, key_ids: Sequence[str]) -> list[Census]:
        table, now = self.table, utcnow()
        result = []
        for spec in self.specs:
            column = table.c[spec.column]
            counts = {
                k: session.scalar(select(func.count()).where(_under(table, spec, k))) or 0
                for k in key_ids
            }
            total = session.scalar(select(func.count()).where(column.is_not(None))) or 0
            live = None
            if isinstance(spec, OneWay):
                live = {
                    k: session.scalar(
                        select(func.count()).where(_under(table, spec, k), spec.live(table, now))
                    )
                    or 0
                    for k in key_ids
                }
            kind = type(spec).__name__.lower()
            result.append(Census(spec.column, kind, counts, total - sum(counts.values()), live))
        return result

    def pending(self, session: Session, current: str) -> int:
        return session.scalar(select(func.count()).where(self._stale(current))) or 0

    def rekey(
        self, session: Session, protector: DataProtector, after_id: RowId | None, limit: int
    ) -> Batch:
        table = self.table
        specs = _rewritable(self.specs)
        query = self._select(after_id, limit).where(self._stale(protector.current_key_id))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=table)
        rows = session.execute(query).all()
        batch = Batch(last_id=rows[-1].id if len(rows) == limit else None)
        for row in rows:
            try:
                values = self._new_values(protector, specs, row)
            except DecryptionError as exc:
                batch.failed.append(f"{self.name}#{row.id}: {exc}")
                continue
            unchanged = [
                table.c[s.column].is_(None)
                if row._mapping[s.column] is None
                else table.c[s.column] == row._mapping[s.column]
                for s in specs
            ]
            # Re-keying is no change of the record: columns stamped on update keep their value.
            values.update({c.name: c for c in table.columns if c.onupdate is not None})
            try:
                with session.begin_nested():
                    done = session.execute(
                        update(table).where(table.c[self.key] == row.id, *unchanged).values(values)
                    )
            except IntegrityError:  # the new hash is another row's already: a duplicate
                batch.failed.append(f"{self.name}#{row.id}: its new hash is another row's")
                continue
            if done.rowcount == 1:  # type: ignore[attr-defined]
                batch.rekeyed += 1
            else:
                batch.skipped += 1
        return batch

    def _select(self, after_id: RowId | None, limit: int) -> Select[Any]:
        table = self.table
        key = table.c[self.key]
        query = select(
            key.label("id"),
            *(table.c[s.column] for s in _rewritable(self.specs)),
            *(table.c[c] for c in self.context_columns),
        )
        if after_id is not None:
            query = query.where(key > after_id)
        return query.order_by(key).limit(limit)

    def unreadable(self, session: Session, protector: DataProtector) -> list[str]:
        """Rows a value of which does not decrypt, or whose hash is not of its plaintext."""
        specs = _rewritable(self.specs)
        sealed = {s.column: s for s in specs if isinstance(s, Sealed)}
        found: list[str] = []
        after_id: RowId | None = None
        while rows := session.execute(self._select(after_id, 500)).all():
            for row in rows:
                for spec in specs:
                    stored = row._mapping[spec.column]
                    try:
                        if stored is None:
                            continue
                        if isinstance(spec, Sealed):
                            protector.decrypt(stored, _context(spec.context, row))
                            continue
                        source = sealed[spec.source]
                        plain = protector.decrypt(
                            row._mapping[source.column], _context(source.context, row)
                        )
                        if not protector.matches(stored, plain, spec.purpose):
                            found.append(f"{self.name}#{row.id}.{spec.column}: no hash of it")
                    except DecryptionError as exc:
                        found.append(f"{self.name}#{row.id}.{spec.column}: {exc}")
            after_id = rows[-1].id
        return found

    def _new_values(
        self, protector: DataProtector, specs: list[Sealed | Hashed], row: Row[Any]
    ) -> dict[str, Any]:
        current = protector.current_key_id
        sealed = {s.column: s for s in specs if isinstance(s, Sealed)}
        values: dict[str, Any] = {}
        for spec in specs:
            stored = row._mapping[spec.column]
            if stored is None:
                continue
            if isinstance(spec, Sealed):
                if key_of_ciphertext(stored) == current:
                    continue
                context = _context(spec.context, row)
                values[spec.column] = protector.encrypt(protector.decrypt(stored, context), context)
            elif key_of_hash(stored) != current:
                source = sealed[spec.source]
                plain = protector.decrypt(
                    row._mapping[source.column], _context(source.context, row)
                )
                values[spec.column] = protector.lookup_hash(plain, spec.purpose)
        return values


def _context(context: Context, row: Row[Any]) -> str:
    return context if isinstance(context, str) else context(row)


@dataclass(frozen=True)
class QueuedMail:
    """Email bodies waiting in the outbox (base64 in the JSON payload; dropped once sent)."""

    name: str = "outbox"
    column: str = "payload.body_enc"

    def columns(self) -> list[tuple[str, str]]:
        return [(self.name, self.column)]

    def _queued(self, session: Session, after_id: RowId | None = None) -> list[OutboxMessage]:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.kind == "email",
                    OutboxMessage.status == "pending",
                    OutboxMessage.id > (after_id or 0),
                )
                .order_by(OutboxMessage.id)
            )
        )

    @staticmethod
    def _key(row: OutboxMessage) -> str | None:
        body = row.payload.get("body_enc") if isinstance(row.payload, dict) else None
        return key_of_ciphertext(base64.b64decode(body)) if body else None

    def census(self, session: Session, key_ids: Sequence[str]) -> list[Census]:
        keys = [self._key(row) for row in self._queued(session)]
        counts = {k: keys.count(k) for k in key_ids}
        other = sum(1 for k in keys if k is not None) - sum(counts.values())
        return [Census(self.column, "sealed", counts, other)]

    def pending(self, session: Session, current: str) -> int:
        return sum(1 for row in self._queued(session) if self._key(row) not in (None, current))

    def rekey(
        self, session: Session, protector: DataProtector, after_id: RowId | None, limit: int
    ) -> Batch:
        current = protector.current_key_id
        ids = [r.id for r in self._queued(session, after_id) if self._key(r) not in (None, current)]
        ids = ids[:limit]
        batch = Batch(last_id=ids[-1] if len(ids) == limit else None)
        for row_id in ids:
            # Locked (PostgreSQL) and re-read: the sender may have sent it meanwhile.
            row = session.get(OutboxMessage, row_id, with_for_update=True, populate_existing=True)
            if row is None or row.status != "pending" or self._key(row) in (None, current):
                batch.skipped += 1
                continue
            try:
                body = protector.decrypt(
                    base64.b64decode(row.payload["body_enc"]), mail.EMAIL_CONTEXT
                )
            except DecryptionError as exc:
                batch.failed.append(f"{self.name}#{row.id}: {exc}")
                continue
            sealed = base64.b64encode(protector.encrypt(body, mail.EMAIL_CONTEXT)).decode()
            done = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending")
                .values(payload={**row.payload, "body_enc": sealed})
                .execution_options(synchronize_session=False)
            )
            batch.rekeyed += done.rowcount  # type: ignore[attr-defined]
        return batch

    def unreadable(self, session: Session, protector: DataProtector) -> list[str]:
        found = []
        for row in self._queued(session):
            if self._key(row) is None:
                continue
            try:
                protector.decrypt(base64.b64decode(row.payload["body_enc"]), mail.EMAIL_CONTEXT)
            except DecryptionError as exc:
                found.append(f"{self.name}#{row.id}.{self.column}: {exc}")
        return found


def _card_read_live(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    return and_(table.c.used_at.is_(None), table.c.created_at > now - agent.CARD_READ_VALID)


def _code_live(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    ttl = counter_verify.CODE_TTL
    return or_(
        and_(table.c.used_at.is_(None), table.c.expires_at > now), table.c.used_at > now - ttl
    )


def _thaid_live(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    return and_(table.c.used_at.is_(None), table.c.expires_at > now)


def _chat_context(row: Row[Any]) -> str:
    return conversations.answers_context(row._mapping["line_account_id"])


REGISTRY: tuple[Rekeyable, ...] = (
    TableEntry("persons", (Sealed("cid_enc", "cid"), Hashed("cid_hash", "cid", "cid_enc"))),
    TableEntry("staff_users", (Sealed("cid_enc", "cid"), Hashed("cid_hash", "cid", "cid_enc"))),
    TableEntry(
        "visit_evidence",
        (
            Sealed("photo_enc", visits.PHOTO_CONTEXT),
            Sealed("certifier_cid_enc", visits.CERTIFIER_CONTEXT),
            Hashed("certifier_cid_hash", "cid", "certifier_cid_enc"),
        ),
    ),
    TableEntry("staff_documents", (Sealed("data_enc", staff_accounts.DOCUMENT_CONTEXT),)),
    TableEntry("facility_keys", (Sealed("secret_enc", qr_tokens.KEY_CONTEXT),)),
    TableEntry("chat_conversations", (Sealed("data_enc", _chat_context),), ("line_account_id",)),
    TableEntry(
        "thaid_authorizations",
        (
            Sealed("secrets_enc", thaid.SECRETS_CONTEXT),
            OneWay("state_hash", "thaid-state", _thaid_live),
            OneWay("browser_hash", "thaid-browser", _thaid_live),
        ),
    ),
    TableEntry("card_reads", (OneWay("cid_hash", "cid", _card_read_live),)),
    TableEntry(
        "link_verifications", (OneWay("code_hash", counter_verify.HASH_PURPOSE, _code_live),)
    ),
    TableEntry(
        "webhook_events", (Sealed("payload", inbox.PAYLOAD_CONTEXT),), key="webhook_event_id"
    ),
    QueuedMail(),
)

# Hash-like columns that no data key makes, and why.
UNKEYED: dict[tuple[str, str], str] = {
    ("api_tokens", "token_hash"): "SHA-256 of a random bearer token",
    ("agent_sessions", "token_hash"): "SHA-256 of a random session token",
    ("password_resets", "token_hash"): "SHA-256 of a random reset token",
    ("staff_sessions", "sid_hash"): "SHA-256 of a random session id",
    ("staff_users", "password_hash"): "a password hash (argon2/scrypt), no data key",
    ("staff_users", "pin_hash"): "a password hash of the agent PIN, no data key",
    ("audit_log", "prev_hash"): "the audit chain (SHA-256), no data key",
    ("audit_log", "entry_hash"): "the audit chain (SHA-256), no data key",
    ("kiosks", "browser_token_hash"): "SHA-256 of a kiosk browser's random secret",
    ("kiosks", "pairing_code_hash"): "SHA-256 of a short-lived random pairing code",
}


def registered_columns() -> set[tuple[str, str]]:
    return {c for entry in REGISTRY for c in entry.columns()}


def unregistered_columns(metadata: MetaData) -> list[str]:
    """Binary, ``*_enc`` and ``*_hash`` columns in neither REGISTRY nor UNKEYED: a column
    the rotation would miss (or one to list as unkeyed, with the reason)."""
    known = registered_columns() | set(UNKEYED)
    return [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if (isinstance(column.type, LargeBinary) or column.name.endswith(("_enc", "_hash")))
        and (table.name, column.name) not in known
    ]


def unreadable(session: Session, protector: DataProtector) -> list[str]:
    """Every registered value the ring cannot decrypt or match (``keys verify``)."""
    return [problem for entry in REGISTRY for problem in entry.unreadable(session, protector)]


@dataclass(frozen=True)
class Progress:
    entry: str
    batch: Batch
    rekeyed: int  # in this entry so far (this run)
    pending: int  # left in this entry when the run started


def census(session: Session, key_ids: Sequence[str]) -> list[tuple[str, Census]]:
    """Per registered column: how many values each key made (``keys status``)."""
    return [(entry.name, c) for entry in REGISTRY for c in entry.census(session, key_ids)]


def rows_needing(session: Session, key_id: str) -> dict[str, int]:
    """Rows that still need ``key_id`` to decrypt or to be looked up, by table.column."""
    counts = {}
    for name, entry_census in census(session, [key_id]):
        needed = entry_census.needing(key_id)
        if needed:
            counts[f"{name}.{entry_census.column}"] = needed
    return counts


class KeyStillUsed(Exception):
    """Rows still need the key: ``retire`` refuses."""

    def __init__(self, key_id: str, counts: dict[str, int]) -> None:
        self.key_id = key_id
        self.counts = counts
        super().__init__(f"data key {key_id!r} is still used by {sum(counts.values())} row(s)")


class KeyIsCurrent(Exception):
    """The key to retire is the current one."""


def rotate(
    db: Database,
    protector: DataProtector,
    *,
    batch_size: int = 500,
    on_batch: Callable[[Progress], None] | None = None,
) -> tuple[int, list[str]]:
    """Re-encrypt and re-hash every registered column under the current key, one short
    transaction per batch; returns (rows re-keyed, rows that failed). Safe to run again after
    a crash: rows already under the current key are not selected."""
    total, failed = 0, []
    for entry in REGISTRY:
        with db.read_only() as session:
            pending = entry.pending(session, protector.current_key_id)
        after_id: RowId | None = None
        done = 0
        while pending:
            with db.transaction() as session:
                batch = entry.rekey(session, protector, after_id, batch_size)
            done += batch.rekeyed
            failed.extend(batch.failed)
            if on_batch is not None:
                on_batch(Progress(entry.name, batch, done, pending))
            if batch.last_id is None:
                break
            after_id = batch.last_id
        total += done
    with db.transaction() as session:
        audit.record(
            session,
            "cli",
            "data_key.rotate",
            f"data_key:{protector.current_key_id}",
            {"rekeyed": total, "failed": len(failed)},
        )
    return total, failed


def retire(session: Session, protector: DataProtector, key_id: str) -> None:
    """Record that no row needs ``key_id`` any more (it may be removed from the settings);
    raises KeyIsCurrent or KeyStillUsed."""
    if key_id == protector.current_key_id:
        raise KeyIsCurrent(key_id)
    counts = rows_needing(session, key_id)
    if counts:
        raise KeyStillUsed(key_id, counts)
    audit.record(session, "cli", "data_key.retire", f"data_key:{key_id}", {})


__all__ = [
    "REGISTRY",
    "UNKEYED",
    "Census",
    "Hashed",
    "KeyIsCurrent",
    "KeyStillUsed",
    "OneWay",
    "Sealed",
    "census",
    "registered_columns",
    "retire",
    "rotate",
    "rows_needing",
    "unreadable",
    "unregistered_columns",
]
