"""Everything the service holds about a LINE account holder (PDPA access), as plain data.

The holder's own data (their LINE user id, own CID and the phones they gave for themselves)
comes in full, with masked forms for screens; family members only as far as each link's
level allows (a pending link: the masked CID, nothing more) and their CIDs and phones always
masked. Codes are those the account may see (patient_codes.visible_to). Other accounts'
links to the holder are listed only through a verified own link, each account masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.models import (
    AuthenCode,
    ChatConversation,
    ConsentRecord,
    ErasureRequest,
    FamilyLink,
    LineAccount,
    PcuChangeRequest,
    VisitEvidence,
)
from authencode.phone import mask_phone
from authencode.reference import (
    CHANNEL_LABELS,
    CODE_STATUS_LABELS,
    CONSENT_CHANNELS,
    CONSENT_DECISIONS,
    PCU_REQUEST_STATUSES,
    RELATION_LABELS,
    labelled,
)
from authencode.services import (
    consent,
    erasure,
    link_trust,
    patient_codes,
    pcu_change,
    person_say,
    unit_words,
)
from authencode.services.people import person_cid, person_masked_cid
from authencode.services.registration import links_of
from authencode.thaidate import BE_OFFSET, be_datetime, datetime_label

Json = dict[str, Any]
MAX_CODES = 1000
# Each label comes in Thai (``*_th``) and English (``*_en``): the page shows its language's.
LEVELS = {level: (th, link_trust.LEVEL_EN[level]) for level, th in link_trust.LEVEL_TH.items()}
OTHER_ACCOUNT = ("บัญชี LINE อื่น", "Another LINE account")
LINKED_BY_UNAVAILABLE = (
    "รายการบัญชี LINE อื่นที่เชื่อมโยงกับท่านจะแสดงเมื่อบัญชีนี้ยืนยันตัวตนแล้ว (ที่จุดบริการของหน่วยบริการหรือผ่านแอป ThaID)",
    "The other LINE accounts linked to you are listed once this account is verified (at a "
    "facility's counter or with the ThaID app).",
)


def _be(moment: dt.datetime | None) -> str | None:
    return be_datetime(moment) if moment is not None else None


def _en(moment: dt.datetime | None) -> str | None:
    """The English (Common Era) twin of a ``*_be`` field: one calendar per language."""
    return datetime_label(moment, "en") if moment is not None else None


def mask_line_user_id(user_id: str) -> str:
    """U1234…abcd: enough to tell two accounts apart, not enough to find one."""
    return f"{user_id[:5]}…{user_id[-4:]}" if len(user_id) > 12 else "U…"


def _link(protector: DataProtector, link: FamilyLink) -> Json:
    """One of the holder's links; a name only where the level shows one, full values only
    for the holder's own (not pending) link."""
    person = link.person
    own = link.slot == link_trust.SELF_SLOT and link.level != "pending"
    visible = link.level != "pending"
    return {
        "id": link.id,
        "is_self": link.slot == link_trust.SELF_SLOT,
        "relation": link.relation,
        **labelled("relation", RELATION_LABELS, link.relation),
        "level": link.level,
        **labelled("level", LEVELS, link.level),
        "verified_method": link.verified_method,
        "verified_at_be": _be(link.verified_at),
        "verified_at_en": _en(link.verified_at),
        "created_at_be": be_datetime(link.created_at),
        "created_at_en": _en(link.created_at),
        "name": person.full_name_th if visible else None,
        "masked_cid": person_masked_cid(protector, person),
        "cid": person_cid(protector, person) if own else None,
        "phone_masked": mask_phone(link.phone),
        "phone": link.phone if own else None,
    }


def _codes(
    session: Session, protector: DataProtector, account: LineAccount, own_person: int | None
) -> list[Json]:
    codes = patient_codes.codes_for_account(session, account, limit=MAX_CODES)
    with_photo = set(
        session.scalars(
            select(VisitEvidence.code_id).where(
                VisitEvidence.code_id.in_([c.id for c in codes]),
                VisitEvidence.photo_enc.is_not(None),
            )
        )
    )
    return [_code(protector, c, c.person_id == own_person, c.id in with_photo) for c in codes]


def _code(protector: DataProtector, code: AuthenCode, own: bool, has_photo: bool) -> Json:
    return {
        "code": code.code,
        "status": code.status,
        **labelled("status", CODE_STATUS_LABELS, code.status),
        "service_code": code.service_code,
        "service_name_th": code.service.name_th,
        "service_name_en": code.service.name_en,
        "hcode": code.facility.hcode,
        "facility_name": code.facility.name,
        "service_at_be": be_datetime(code.service_at),
        "service_at_en": _en(code.service_at),
        "channel": code.channel,
        **labelled("channel", CHANNEL_LABELS, code.channel),
        "person_name": code.person.full_name_th,
        "person_name_en": code.person.full_name_en or code.person.full_name_th,
        "masked_cid": person_masked_cid(protector, code.person),
        "is_self": own,
        "phones_masked": [mask_phone(p) for p in code.phone_list],
        "phones": code.phone_list if own else None,
        "through_this_account": code.line_account_id is not None,
        "has_photo": has_photo,
        "disputed": code.disputed_at is not None,
    }


def _linked_by(session: Session, account: LineAccount, own: FamilyLink | None) -> Json:
    if own is None or not own.is_verified:
        note_th, note_en = LINKED_BY_UNAVAILABLE
        return {"available": False, "note_th": note_th, "note_en": note_en, "links": []}
    return {
        "available": True,
        "note_th": None,
        "note_en": None,
        "links": [
            {
                "account_th": OTHER_ACCOUNT[0],
                "account_en": OTHER_ACCOUNT[1],
                "account_masked": mask_line_user_id(link.account.line_user_id),
                "relation": link.relation,
                **labelled("relation", RELATION_LABELS, link.relation),
                "level": link.level,
                **labelled("level", LEVELS, link.level),
                "since_be": be_datetime(link.created_at),
                "since_en": _en(link.created_at),
            }
            for link in person_say.linked_by(session, account)
        ],
    }


def _pcu_requests(session: Session, account: LineAccount, own: FamilyLink | None) -> list[Json]:
    """Requests this account made, and (through a verified own link) any about the holder."""
    who = PcuChangeRequest.line_account_id == account.id
    if own is not None and own.is_verified:
        who = who | (PcuChangeRequest.person_id == own.person_id)
    rows = list(
        session.scalars(
            select(PcuChangeRequest)
            .where(who)
            .order_by(PcuChangeRequest.requested_at.desc(), PcuChangeRequest.id.desc())
        )
    )
    names = pcu_change.facility_names(session, rows)
    return [
        {
            "status": row.status,
            **labelled("status", PCU_REQUEST_STATUSES, row.status),
            "person_name": row.person.full_name_th,
            "from_hcode": row.from_hcode,
            "to_hcode": row.to_hcode,
            "change_th": unit_words.change_words(row, names, "th").change,
            "change_en": unit_words.change_words(row, names, "en").change,
            "fiscal_year_be": row.fiscal_year + BE_OFFSET,
            "fiscal_year": row.fiscal_year,
            "requested_at_be": be_datetime(row.requested_at),
            "requested_at_en": _en(row.requested_at),
            "decided_at_be": _be(row.decided_at),
            "decided_at_en": _en(row.decided_at),
            "decision_note": row.decision_note,
        }
        for row in rows
    ]


def erasure_json(row: ErasureRequest) -> Json:
    """An erasure: what was removed and what was kept and why, in Thai and English."""
    return {
        "id": row.id,
        "requested_at_be": be_datetime(row.requested_at),
        "requested_at_en": _en(row.requested_at),
        "removed": [
            {"kind": kind, "count": count, "label_th": th, "label_en": en}
            for kind, (th, en) in erasure.REMOVED_LABELS.items()
            if (count := int(row.removed.get(kind, 0)))
        ],
        "kept": [
            {
                "kind": kind,
                "count": row.kept.get(kind),  # None: kept whole (the audit log)
                "label_th": th,
                "label_en": en,
                "why_th": why_th,
                "why_en": why_en,
            }
            for kind, (th, en, why_th, why_en) in erasure.KEPT_REASONS.items()
        ],
    }


def erasure_terms() -> Json:
    """What an erasure removes and keeps (and why), shown before the holder confirms."""
    return {
        "removes": [
            {
                "kind": kind,
                "label_th": th,
                "label_en": en,
                "verified_only": kind in erasure.VERIFIED_ONLY,
            }
            for kind, (th, en) in erasure.REMOVED_LABELS.items()
        ],
        "verified_only_th": erasure.VERIFIED_ONLY_TH,
        "verified_only_en": erasure.VERIFIED_ONLY_EN,
        "keeps": [
            {"kind": kind, "label_th": th, "label_en": en, "why_th": why_th, "why_en": why_en}
            for kind, (th, en, why_th, why_en) in erasure.KEPT_REASONS.items()
        ],
    }


def collect(session: Session, protector: DataProtector, account: LineAccount) -> Json:
    """Everything held about the account holder, newest first within each list."""
    links = links_of(session, account)
    own = next((link for link in links if link.slot == link_trust.SELF_SLOT), None)
    own_person = own.person_id if own is not None and own.level != "pending" else None
    dialogue = session.scalar(
        select(ChatConversation).where(ChatConversation.line_account_id == account.id)
    )
    records = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.line_account_id == account.id)
        .order_by(ConsentRecord.decided_at.desc(), ConsentRecord.id.desc())
    )
    erasures = session.scalars(
        select(ErasureRequest)
        .where(ErasureRequest.line_account_id == account.id)
        .order_by(ErasureRequest.id.desc())
    )
    now = utcnow()
    return {
        "generated_at_be": be_datetime(now),
        "generated_at_en": _en(now),
        "account": {
            "line_user_id": account.line_user_id,
            "line_user_id_masked": mask_line_user_id(account.line_user_id),
            "created_at_be": be_datetime(account.created_at),
            "created_at_en": _en(account.created_at),
            "language": account.language,
            "consent_given": consent.is_current(account.consent_version),
            "consent_version": account.consent_version,
            "registered": own is not None,
            "self_level": own.level if own is not None else None,
        },
        "links": [_link(protector, link) for link in links],
        "codes": _codes(session, protector, account, own_person),
        "consent_history": [
            {
                "decision": r.decision,
                **labelled("decision", CONSENT_DECISIONS, r.decision),
                "version": r.version,
                "channel": r.channel,
                **labelled("channel", CONSENT_CHANNELS, r.channel),
                "decided_at_be": be_datetime(r.decided_at),
                "decided_at_en": _en(r.decided_at),
            }
            for r in records
        ],
        "linked_by": _linked_by(session, account, own),
        "pcu_requests": _pcu_requests(session, account, own),
        "dialogue": None
        if dialogue is None
        else {
            "flow": dialogue.flow,
            "started_at_be": be_datetime(dialogue.started_at),
            "started_at_en": _en(dialogue.started_at),
        },
        "erasures": [erasure_json(row) for row in erasures],
        "erasure_terms": erasure_terms(),
    }
