"""Confirming a visit at the counter: by the ID card in the reader agent beside the page, by
CID and a photo of the patient holding the card, or by a CID certified by a guardian or staff
member (e.g. a newborn).

Everything typed is checked before anything is stored, so a refusal leaves no trace.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.cid import parse_cid
from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import AuthenCode, VisitEvidence
from authencode.phone import parse_mobiles
from authencode.reference import CERTIFIER_RELATIONS as RELATIONS
from authencode.services import agent, facilities, issuance, people

METHODS = ("smartcard", "cid_photo", "certified_pid")
MAX_PHOTO_BYTES = 1_500_000  # below the app's 2 MB body limit, so the page can say why
MAX_PHOTO_PIXELS = 40_000_000
_PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
PHOTO_CONTEXT = "visit-photo"
CERTIFIER_CONTEXT = "cid"

VISIT_METHOD_INVALID = register(
    "VISIT_METHOD_INVALID",
    "invalid",
    "Choose how the patient's identity was checked.",
    "กรุณาเลือกวิธีการยืนยันตัวตน",
)
PHOTO_REQUIRED = register(
    "PHOTO_REQUIRED",
    "invalid",
    "Please take or attach a photo of the patient holding the ID card.",
    "กรุณาถ่ายหรือแนบรูปผู้รับบริการถือบัตรประชาชน",
)
PHOTO_TYPE = register(
    "PHOTO_TYPE",
    "invalid",
    "The photo must be a JPEG or PNG image.",
    "รูปถ่ายต้องเป็นไฟล์ภาพ JPEG หรือ PNG เท่านั้น",
)
PHOTO_TOO_LARGE = register(
    "PHOTO_TOO_LARGE",
    "too_large",
    "The photo is too large (at most {limit_mb} MB).",
    "รูปถ่ายมีขนาดใหญ่เกินไป (ไม่เกิน {limit_mb} MB)",
)
CERTIFIER_CID_INVALID = register(
    "CERTIFIER_CID_INVALID",
    "invalid",
    "The certifier's citizen ID is missing or not valid.",
    "เลขประจำตัวประชาชนของผู้รับรองไม่ถูกต้องหรือไม่ได้กรอก",
)
CERTIFIER_IS_PATIENT = register(
    "CERTIFIER_IS_PATIENT",
    "invalid",
    "The certifier must be someone other than the patient.",
    "ผู้รับรองต้องไม่ใช่ผู้รับบริการเอง",
)
RELATION_REQUIRED = register(
    "RELATION_REQUIRED",
    "invalid",
    "Please choose the certifier's relation to the patient.",
    "กรุณาเลือกความเกี่ยวข้องของผู้รับรองกับผู้รับบริการ",
)


@dataclass(frozen=True)
class VisitRequest:
    """What the counter form sends; raw, as typed."""

    method: str
    cid: str
    phones: str
    service_code: str
    photo: bytes | None = None
    certifier_cid: str = ""
    relation: str = ""
    hn: str = ""
    correlation_id: str = ""  # the reader agent's card read (smart-card way)


def check_photo(data: bytes | None) -> str:
    """The photo's content type, judged by its content; raises PHOTO_*."""
    if not data:
        raise DomainError(PHOTO_REQUIRED, detail="photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise DomainError(
            PHOTO_TOO_LARGE, detail="photo", limit_mb=f"{MAX_PHOTO_BYTES / 1_000_000:g}"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            width, height = image.size
            if kind not in _PHOTO_FORMATS or width * height > MAX_PHOTO_PIXELS:
                raise DomainError(PHOTO_TYPE, detail="photo")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DomainError(PHOTO_TYPE, detail="photo") from None
    return _PHOTO_FORMATS[kind]


def confirm_visit(
    session: Session,
    protector: DataProtector,
    staff_id: int,
    hcode: str,
    request: VisitRequest,
    *,
    now: dt.datetime | None = None,
) -> issuance.Issued:
    """Issue today's code for a visit confirmed by staff, with its evidence; or return the
    code already issued today (nothing new is stored then).

    Raises VISIT_METHOD_INVALID, CID_*, PERSON_NOT_FOUND, PHONE_*, PHOTO_*, CERTIFIER_*,
    RELATION_REQUIRED, CORRELATION_* (a card read that is not this facility's recent unused
    read of this person) and the errors of issuance.issue_code.
    """
    if request.method not in METHODS:
        raise DomainError(VISIT_METHOD_INVALID, detail="method")
    cid = parse_cid(request.cid)
    person = people.find_person(session, protector, cid)
    if person is None:
        raise DomainError("PERSON_NOT_FOUND", detail="cid")
    parse_mobiles(request.phones)
    photo_type = None
    certifier = None
    card_read = None
    if request.method == "smartcard":
        facility = facilities.by_hcode(session, hcode)
        card_read = agent.claim_card_read(
            session, protector, request.correlation_id, cid, facility_id=facility.id
        )
    elif request.method == "cid_photo":
        photo_type = check_photo(request.photo)
    else:
        try:
            certifier = parse_cid(request.certifier_cid)
        except DomainError:
            raise DomainError(CERTIFIER_CID_INVALID, detail="certifier_cid") from None
        if certifier == cid:
            raise DomainError(CERTIFIER_IS_PATIENT, detail="certifier_cid")
        if request.relation not in RELATIONS:
            raise DomainError(RELATION_REQUIRED, detail="relation")
        if request.photo:  # optional for a certified visit, checked when given
            photo_type = check_photo(request.photo)

    issued = issuance.issue_code(
        session,
        person,
        hcode=hcode,
        service_code=request.service_code,
        phones=request.phones,
        channel=request.method,
        recorder_staff_id=staff_id,
        hn=request.hn or None,
        now=now,
    )
    if card_read is not None:
        card_read.used_at = now or utcnow()
    if not issued.created:
        return issued
    evidence = VisitEvidence(code_id=issued.code.id, staff_id=staff_id)
    if photo_type is not None and request.photo:
        evidence.photo_type = photo_type
        evidence.photo_size = len(request.photo)
        evidence.photo_enc = protector.encrypt(
            base64.b64encode(request.photo).decode(), PHOTO_CONTEXT
        )
    if certifier is not None:
        evidence.certifier_cid_hash = protector.lookup_hash(certifier)
        evidence.certifier_cid_enc = protector.encrypt(certifier, CERTIFIER_CONTEXT)
        evidence.relation = request.relation
    session.add(evidence)
    session.flush()
    return issued


def evidence_of(session: Session, code: AuthenCode) -> VisitEvidence | None:
    return session.scalar(select(VisitEvidence).where(VisitEvidence.code_id == code.id))


def photo_bytes(protector: DataProtector, evidence: VisitEvidence) -> bytes | None:
    """The decrypted photo, or None when the visit has none."""
    if evidence.photo_enc is None:
        return None
    return base64.b64decode(protector.decrypt(evidence.photo_enc, PHOTO_CONTEXT))


def certifier_cid(protector: DataProtector, evidence: VisitEvidence) -> str | None:
    if evidence.certifier_cid_enc is None:
        return None
    return protector.decrypt(evidence.certifier_cid_enc, CERTIFIER_CONTEXT)
