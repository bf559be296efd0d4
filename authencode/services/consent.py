"""PDPA consent: the versioned consent text, and accepting, declining and withdrawing it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import ConsentRecord, FamilyLink, LineAccount
from authencode.services import audit
from authencode.services.line_accounts import lock_account

CONSENT_VERSION = "2026-11"

CONSENT_TITLE_TH = "ข้อตกลงในการให้ความยินยอมในการเก็บ รวบรวม และใช้ข้อมูลส่วนบุคคล"

# Wording from the NHSO LINE official account's consent screen (seed material).
CONSENT_TEXT_TH = (
    f"{CONSENT_TITLE_TH}\n"
    "\n"
    "- ผู้ใช้งานต้องมีสิทธิหลักประกันสุขภาพแห่งชาติ หรือสิทธิว่าง\n"
    "- อายุ 15 ปี บริบูรณ์ขึ้นไป\n"
    "\n"
    "เพื่อประโยชน์ในการใช้บริการขอรหัสเข้ารับบริการ (Authen Code) ผ่าน LINE "
    "ขอให้ผู้มีสิทธิ์แสดงเจตนายินยอมให้เก็บรวบรวม ใช้ หรือเปิดเผยข้อมูลส่วนบุคคลของผู้มีสิทธิ์ "
    "รวมทั้งยินยอมให้เปิดเผยข้อมูลดังกล่าวให้แก่หน่วยบริการ เครือข่ายหน่วยบริการ "
    "กระทรวงสาธารณสุข หรือหน่วยงานอื่นใดที่เกี่ยวข้อง ทั้งนี้ ภายใต้วัตถุประสงค์ในการดำเนินการ"
    "บริการด้านสาธารณสุข ตามกฎหมายว่าด้วยหลักประกันสุขภาพแห่งชาติ\n"
    "\n"
    "ในการนี้ ข้าพเจ้า ผู้มีสิทธิ์ตามกฎหมายว่าด้วยหลักประกันสุขภาพแห่งชาติ ได้อ่าน "
    "และเข้าใจรายละเอียดการขอความยินยอมข้างต้น และรับทราบว่า หากไม่ยินยอม "
    "ข้าพเจ้าจะไม่สามารถใช้บริการขอรหัสเข้ารับบริการผ่าน LINE ได้\n"
    "\n"
    "(สอบถามรายละเอียดเพิ่มเติมได้ที่ : สายด่วน สปสช. 1330 เปิดบริการ 24 ชั่วโมง)\n"
    f"\nฉบับ {CONSENT_VERSION}"
)

register(
    "CONSENT_VERSION_STALE",
    "conflict",
    "The consent text has changed; please read the new version.",
    "ข้อตกลงการให้ความยินยอมมีการปรับปรุง กรุณาอ่านฉบับใหม่อีกครั้ง",
)
register(
    "CONSENT_ALREADY_GIVEN", "conflict", "Consent has already been given.", "ท่านได้ให้ความยินยอมไว้แล้ว"
)
register("CONSENT_NOT_GIVEN", "conflict", "Consent has not been given.", "ท่านยังไม่ได้ให้ความยินยอม")
register(
    "CONSENT_REQUIRED",
    "forbidden",
    "Please accept the consent terms first.",
    "กรุณาให้ความยินยอมก่อนใช้บริการ",
)


def _record(
    session: Session, account: LineAccount, version: str, decision: str, channel: str
) -> ConsentRecord:
    entry = ConsentRecord(
        line_account_id=account.id,
        version=version,
        decision=decision,
        decided_at=utcnow(),
        channel=channel,
    )
    session.add(entry)
    audit.record(
        session,
        f"line:{account.id}",
        f"consent.{decision}",
        f"line_account:{account.id}",
        {"version": version, "channel": channel},
    )
    session.flush()
    return entry


def accept(
    session: Session, account: LineAccount, version: str, channel: str = "line"
) -> ConsentRecord:
    """Record acceptance of this version; raises CONSENT_VERSION_STALE or CONSENT_ALREADY_GIVEN."""
    if version != CONSENT_VERSION:
        raise DomainError("CONSENT_VERSION_STALE")
    if is_current(account.consent_version):
        raise DomainError("CONSENT_ALREADY_GIVEN")
    entry = _record(session, account, version, "accepted", channel)
    account.consent_version = version
    account.consented_at = entry.decided_at
    session.flush()
    return entry


def decline(
    session: Session, account: LineAccount, version: str, channel: str = "line"
) -> ConsentRecord:
    """Record that the user declined; raises CONSENT_ALREADY_GIVEN (withdraw is separate)."""
    if account.has_consented:
        raise DomainError("CONSENT_ALREADY_GIVEN")
    return _record(session, account, version, "declined", channel)


def withdraw(session: Session, account: LineAccount, channel: str = "line") -> ConsentRecord:
    """Withdraw consent and unlink every person from the account; raises CONSENT_NOT_GIVEN."""
    version = account.consent_version
    if version is None:
        raise DomainError("CONSENT_NOT_GIVEN")
    session.execute(delete(FamilyLink).where(FamilyLink.line_account_id == account.id))
    entry = _record(session, account, version, "withdrawn", channel)
    account.consent_version = None
    account.consented_at = None
    session.expire(account, ["links"])
    session.flush()
    return entry


# What withdrawing consent removes, and what it keeps and why, shown before the holder
# confirms: (key, Thai, English) and (key, Thai, English, why in Thai, why in English).
WITHDRAWAL_REMOVES = (
    (
        "links",
        "รายชื่อบุคคลที่ผูกกับบัญชี LINE นี้ (ตัวท่านและครอบครัว) พร้อมเบอร์โทรศัพท์ที่กรอกไว้",
        "The persons linked to this LINE account (you and your family), with the phone "
        "numbers typed for them",
    ),
    ("dialogues", "บทสนทนาที่ค้างอยู่ในแชต", "An unfinished chat dialogue"),
    (
        "service",
        "การขอรหัสผ่าน LINE (ใช้ได้อีกเมื่อให้ความยินยอมและลงทะเบียนใหม่)",
        "Getting visit codes through LINE (back once you consent and register again)",
    ),
)
WITHDRAWAL_KEEPS = (
    (
        "codes",
        "รหัสเข้ารับบริการ (Authen Code) ที่ออกไปแล้ว",
        "Visit codes (Authen Code) already issued",
        "หน่วยบริการใช้รหัสเหล่านี้เบิกค่าบริการ และ สปสช. ตรวจสอบการเบิกจ่ายย้อนหลัง"
        "ตามกฎหมายว่าด้วยหลักประกันสุขภาพแห่งชาติ",
        "Clinics claim payment with them, and the scheme audits those claims later under "
        "the National Health Security Act.",
    ),
    (
        "consent_records",
        "ประวัติการให้และถอนความยินยอม (รวมการถอนครั้งนี้)",
        "The consent history, this withdrawal included",
        "ผู้ควบคุมข้อมูลต้องแสดงได้ว่าได้รับและถูกถอนความยินยอมเมื่อใด ตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล",
        "The PDPA requires showing when consent was given and when it was withdrawn.",
    ),
    (
        "audit_log",
        "บันทึกการตรวจสอบ (audit log)",
        "The audit log",
        "บันทึกว่าใครทำอะไรกับข้อมูลเมื่อใด ใช้ตรวจสอบการเบิกจ่ายและการใช้ข้อมูล แก้ไขหรือลบไม่ได้",
        "Who did what with the data and when, used to check claims and data use; it "
        "cannot be changed or deleted.",
    ),
)
WITHDRAWAL_NOTE_TH = (
    "รหัสผู้ใช้ LINE ของบัญชีนี้จะถูกลบเมื่อครบ {days} วันหลังการถอนความยินยอม "
    'หากต้องการลบข้อมูลมากกว่านี้ทันที ใช้ "ขอลบข้อมูล" ด้านล่าง'
)
WITHDRAWAL_NOTE_EN = (
    "This account's LINE user id is removed {days} days after the withdrawal. To remove "
    'more at once, use "Erase my data" below.'
)


def withdrawal_terms(purge_after_days: int) -> dict[str, object]:
    """What a withdrawal removes and keeps (and why), in Thai and English."""
    return {
        "removes": [
            {"kind": k, "label_th": th, "label_en": en} for k, th, en in WITHDRAWAL_REMOVES
        ],
        "keeps": [
            {"kind": k, "label_th": th, "label_en": en, "why_th": why_th, "why_en": why_en}
            for k, th, en, why_th, why_en in WITHDRAWAL_KEEPS
        ],
        "note_th": WITHDRAWAL_NOTE_TH.format(days=purge_after_days),
        "note_en": WITHDRAWAL_NOTE_EN.format(days=purge_after_days),
    }


@dataclass(frozen=True)
class Withdrawal:
    """The withdrawal carried out (``created``), or the one already recorded."""

    record: ConsentRecord
    created: bool


def withdraw_once(session: Session, account: LineAccount, channel: str = "liff") -> Withdrawal:
    """Withdraw consent as ``withdraw`` does, once: the account's row lock queues a second
    request sent at the same time (a double tap, two tabs), which then finds consent gone and
    gets the first one's record (``created`` False). Raises CONSENT_NOT_GIVEN when consent was
    never given (the latest decision is not a withdrawal)."""
    lock_account(session, account)
    if account.consent_version is None:
        latest = session.scalar(
            select(ConsentRecord)
            .where(ConsentRecord.line_account_id == account.id)
            .order_by(ConsentRecord.decided_at.desc(), ConsentRecord.id.desc())
            .limit(1)
        )
        if latest is None or latest.decision != "withdrawn":
            raise DomainError("CONSENT_NOT_GIVEN")
        return Withdrawal(latest, False)
    return Withdrawal(withdraw(session, account, channel), True)


def is_current(consent_version: str | None) -> bool:
    """True when an account's accepted version is the one in force (a member of the service);
    an older version counts as no consent until the new text is accepted."""
    return consent_version == CONSENT_VERSION


def require_consent(account: LineAccount) -> None:
    """Raise CONSENT_REQUIRED unless the account accepted the current consent version."""
    if not is_current(account.consent_version):
        raise DomainError("CONSENT_REQUIRED")
