"""Erasing a LINE account holder's data on request (PDPA), and the registry office's queue.

What goes: the account's links to persons (self and family, with the phones typed for them
and their verification records), an unfinished chat dialogue, the copies of messages sent to
the account, and consent (the account is back to unregistered). Through a *verified* own link
the person's data goes as well: visit photos clinics took of them, and other accounts' links
to them. A merely claimed own link may be an impostor, so it removes only what the account
itself made.

What stays, and why (``KEPT_REASONS``): codes (claims and their audit), unit-change requests
(decisions of the registry office), the consent history and the audit log (accountability).
Codes and requests are detached from the LINE account. The erasure is recorded
(``ErasureRequest``, counts only) and audited once; the registry office reviews it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from authencode.db import MAX_ROW_ID, utcnow
from authencode.errors import DomainError, register
from authencode.models import (
    AuthenCode,
    ChatConversation,
    ConsentRecord,
    ErasureRequest,
    FamilyLink,
    LineAccount,
    OutboxMessage,
    PcuChangeRequest,
    VisitEvidence,
)
from authencode.services import audit, consent, link_trust
from authencode.services.line_accounts import lock_account
from authencode.services.registration import self_link

NOTHING_TO_ERASE = register(
    "NOTHING_TO_ERASE",
    "conflict",
    "This LINE account holds nothing that can be erased.",
    "บัญชี LINE นี้ไม่มีข้อมูลที่ลบได้",
)
ERASURE_NOT_FOUND = register(
    "ERASURE_NOT_FOUND", "not_found", "No such erasure request.", "ไม่พบคำขอลบข้อมูลนี้"
)
ERASURE_REVIEWED = register(
    "ERASURE_REVIEWED",
    "conflict",
    "This erasure request has already been marked as handled.",
    "คำขอลบข้อมูลนี้ดำเนินการเรียบร้อยแล้ว",
)

# What an erasure removes, by the keys of ErasureRequest.removed: (Thai, English).
REMOVED_LABELS: dict[str, tuple[str, str]] = {
    "links": ("การเชื่อมโยงบัญชี LINE นี้กับบุคคล (ตนเองและครอบครัว)", "Links of this LINE account"),
    "phones": ("เบอร์โทรศัพท์ที่กรอกไว้ใน LINE", "Phone numbers typed in LINE"),
    "photos": ("รูปถ่ายของท่านที่หน่วยบริการถ่ายไว้", "Photos clinics took of you"),
    "other_links": ("การเชื่อมโยงที่บัญชี LINE อื่นทำไว้กับท่าน", "Other accounts' links to you"),
    "dialogues": ("บทสนทนาที่ค้างอยู่ในแชต", "Unfinished chat dialogues"),
    "messages": ("สำเนาข้อความที่ส่งถึงท่านในแชต", "Copies of messages sent to you"),
    "consent": ("ความยินยอม (กลับเป็นผู้ยังไม่ลงทะเบียน)", "Consent (back to unregistered)"),
}
# What an erasure keeps, by the keys of ErasureRequest.kept: (Thai, English, why in Thai,
# why in English).
KEPT_REASONS: dict[str, tuple[str, str, str, str]] = {
    "codes": (
        "รหัสเข้ารับบริการ (Authen Code) และเบอร์โทรศัพท์ที่บันทึกไว้กับรหัส",
        "Visit codes (Authen Code) with the phone recorded on each",
        "หน่วยบริการใช้รหัสเบิกค่าบริการ และ สปสช. ตรวจสอบการเบิกจ่ายตามกฎหมายว่าด้วย"
        "หลักประกันสุขภาพแห่งชาติ จึงต้องเก็บไว้ แต่แยกออกจากบัญชี LINE นี้แล้ว",
        "Clinics claim payment with them and the scheme audits claims under the National "
        "Health Security Act; kept, but no longer tied to this LINE account.",
    ),
    "pcu_requests": (
        "คำขอเปลี่ยนหน่วยบริการปฐมภูมิ",
        "Requests to change the primary care unit",
        "เป็นหลักฐานการเปลี่ยนหน่วยบริการปฐมภูมิที่นายทะเบียนพิจารณา จึงเก็บไว้ แต่แยกออกจากบัญชี LINE นี้แล้ว",
        "The record of registry decisions on the registered unit; kept, no longer tied to "
        "this LINE account.",
    ),
    "consent_records": (
        "ประวัติการให้และถอนความยินยอม",
        "Consent history",
        "ผู้ควบคุมข้อมูลต้องแสดงได้ว่าได้รับหรือถูกถอนความยินยอมเมื่อใด "
        "ตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล (ไม่มีเลขประจำตัวประชาชนหรือเบอร์โทรศัพท์)",
        "The PDPA requires showing when consent was given or withdrawn (no ID or phone in it).",
    ),
    "audit_log": (
        "บันทึกการตรวจสอบ (audit log)",
        "The audit log",
        "บันทึกว่าใครทำอะไรกับข้อมูลเมื่อใด แก้ไขหรือลบไม่ได้ เพื่อความรับผิดชอบต่อการใช้ข้อมูล "
        "(ไม่มีเลขประจำตัวประชาชนหรือเบอร์โทรศัพท์)",
        "Who did what with the data and when, append-only, for accountability (no ID or "
        "phone in it).",
    ),
}
# Removed only through a verified own link: a claimed one may be someone else typing the ID.
VERIFIED_ONLY = ("photos", "other_links")
VERIFIED_ONLY_TH = (
    "รูปถ่ายของท่านที่หน่วยบริการถ่ายไว้ และการเชื่อมโยงที่บัญชี LINE อื่นทำไว้กับท่าน "
    "จะลบได้เมื่อบัญชีนี้ยืนยันตัวตนแล้วเท่านั้น เพื่อไม่ให้ผู้อื่นที่รู้เลขประจำตัวประชาชนของท่านลบข้อมูลของท่านได้"
)
VERIFIED_ONLY_EN = (
    "Photos a facility took of you, and links other LINE accounts made to you, can be "
    "removed only once this account is verified, so that nobody else who knows your citizen "
    "ID can remove your data."
)
MAX_NOTE = 500


@dataclass(frozen=True)
class Erasure:
    """The erasure carried out (``created``), or the one already done when nothing was left."""

    request: ErasureRequest
    created: bool


def _count(session: Session, model: type, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _latest(session: Session, account: LineAccount) -> ErasureRequest | None:
    return session.scalar(
        select(ErasureRequest)
        .where(ErasureRequest.line_account_id == account.id)
        .order_by(ErasureRequest.id.desc())
        .limit(1)
    )


def erase(
    session: Session, account: LineAccount, *, channel: str = "liff", now: dt.datetime | None = None
) -> Erasure:
    """Erase what the account holds that the law does not require to keep; audited once.

    The account row lock queues a second request sent at the same time: it then finds
    nothing left and gets the first one's record (``created`` False). Raises
    NOTHING_TO_ERASE when nothing is held and nothing was ever erased.
    """
    lock_account(session, account)
    own = self_link(session, account)
    if own is not None:
        link_trust.lock_person(session, own.person_id)
    verified = own is not None and own.is_verified
    mine = FamilyLink.line_account_id == account.id
    links = list(session.scalars(select(FamilyLink).where(mine)))
    codes = _count(session, AuthenCode, AuthenCode.line_account_id == account.id)
    pcu = _count(session, PcuChangeRequest, PcuChangeRequest.line_account_id == account.id)
    dialogues = _count(session, ChatConversation, ChatConversation.line_account_id == account.id)
    if not (links or codes or pcu or dialogues or account.consent_version):
        previous = _latest(session, account)
        if previous is None:
            raise DomainError(NOTHING_TO_ERASE)
        return Erasure(previous, False)

    other_links: list[int] = []
    photo_rows: list[int] = []
    if verified and own is not None:
        other_links = list(
            session.scalars(
                select(FamilyLink.id).where(
                    FamilyLink.person_id == own.person_id, FamilyLink.line_account_id != account.id
                )
            )
        )
        photo_rows = list(
            session.scalars(
                select(VisitEvidence.id)
                .join(AuthenCode, AuthenCode.id == VisitEvidence.code_id)
                .where(AuthenCode.person_id == own.person_id, VisitEvidence.photo_enc.is_not(None))
            )
        )
    if other_links:
        session.execute(delete(FamilyLink).where(FamilyLink.id.in_(other_links)))
    if photo_rows:
        session.execute(
            update(VisitEvidence)
            .where(VisitEvidence.id.in_(photo_rows))
            .values(photo_enc=None, photo_type=None, photo_size=None)
        )
    consented = account.consent_version is not None
    if consented:
        consent.withdraw(session, account, channel=channel)  # its links go with it
    else:
        session.execute(delete(FamilyLink).where(mine))
    session.execute(delete(ChatConversation).where(ChatConversation.line_account_id == account.id))
    delivered = (
        OutboxMessage.recipient == account.line_user_id,
        OutboxMessage.status != "pending",  # still to be sent: the worker has it in hand
    )
    messages = _count(session, OutboxMessage, *delivered)
    session.execute(delete(OutboxMessage).where(*delivered))
    session.execute(
        update(AuthenCode)
        .where(AuthenCode.line_account_id == account.id)
        .values(line_account_id=None)
    )
    session.execute(
        update(PcuChangeRequest)
        .where(PcuChangeRequest.line_account_id == account.id)
        .values(line_account_id=None)
    )
    session.expire(account, ["links"])
    removed = {
        "links": len(links),
        "phones": len({link.phone for link in links}),
        "photos": len(photo_rows),
        "other_links": len(other_links),
        "dialogues": dialogues,
        "messages": messages,
        "consent": int(consented),
    }
    kept = {
        "codes": codes,
        "pcu_requests": pcu,
        "consent_records": _count(
            session, ConsentRecord, ConsentRecord.line_account_id == account.id
        ),
    }
    row = ErasureRequest(
        line_account_id=account.id,
        person_id=own.person_id if own is not None else None,
        self_level=own.level if own is not None else None,
        channel=channel,
        requested_at=now or utcnow(),
        removed=removed,
        kept=kept,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        f"line:{account.id}",
        "data.erased",
        f"erasure_request:{row.id}",
        {"person_id": row.person_id, "level": row.self_level, "removed": removed, "kept": kept},
    )
    return Erasure(row, True)


def queue(session: Session, *, reviewed: bool = False, limit: int = 200) -> list[ErasureRequest]:
    """The registry office's list: open requests oldest first, or (``reviewed``) the latest
    handled ones newest first."""
    if reviewed:
        stmt = (
            select(ErasureRequest)
            .where(ErasureRequest.reviewed_at.is_not(None))
            .order_by(ErasureRequest.reviewed_at.desc(), ErasureRequest.id.desc())
        )
    else:
        stmt = (
            select(ErasureRequest)
            .where(ErasureRequest.reviewed_at.is_(None))
            .order_by(ErasureRequest.requested_at, ErasureRequest.id)
        )
    return list(session.scalars(stmt.limit(limit)))


def review(
    session: Session, request_id: object, *, staff_id: int, note: str | None = None
) -> ErasureRequest:
    """The registry office marks an erasure handled (e.g. paper forms destroyed); audited.

    Raises ERASURE_NOT_FOUND or ERASURE_REVIEWED.
    """
    try:
        wanted = int(str(request_id))
    except ValueError:
        raise DomainError(ERASURE_NOT_FOUND) from None
    row = (
        session.get(ErasureRequest, wanted, with_for_update=True)
        if 0 < wanted <= MAX_ROW_ID
        else None
    )
    if row is None:
        raise DomainError(ERASURE_NOT_FOUND)
    if row.reviewed_at is not None:
        raise DomainError(ERASURE_REVIEWED)
    row.reviewed_at = utcnow()
    row.reviewed_by_staff_id = staff_id
    row.review_note = " ".join((note or "").split())[:MAX_NOTE] or None
    session.flush()
    audit.record(session, f"staff:{staff_id}", "erasure.reviewed", f"erasure_request:{row.id}")
    return row
